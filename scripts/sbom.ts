/**
 * The release's CycloneDX SBOM (JSON, spec 1.6), made with the OWASP CycloneDX library
 * (@cyclonedx/cyclonedx-library): spire-aws-iid itself, every npm package inside the bundle
 * (the list scripts/licenses.ts derives from esbuild's metafiles), each with its package URL,
 * declared license and the SHA-512 of its npm tarball from package-lock.json, and the Node.js
 * the single executable embeds.
 *
 * Nothing in it depends on when or where it is made (no timestamp, no serial number, sorted
 * lists), so two builds of one commit write the same bytes.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { Builders, Factories } from "@cyclonedx/cyclonedx-library/Contrib/FromNodePackageJson";
import { Factories as LicenseFactories } from "@cyclonedx/cyclonedx-library/Contrib/License";
import { PackageURL } from "packageurl-js";
import parseSpdxExpression from "spdx-expression-parse";
import type { BundledPackage } from "./licenses";

const root = resolve(__dirname, "..");
export const SBOM_SPEC = Spec.Spec1dot6;

export interface SbomInput {
  version: string;
  commit: string;
  packages: readonly BundledPackage[];
  /** The Node.js inside the single executable, and the npm package it came from. */
  node: { version: string; npmPackage: string; npmVersion: string; license: string };
}

export function sbomJson(input: SbomInput): string {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
    packages: Record<string, { integrity?: string }>;
  };
  const licenseFactory = new LicenseFactories.LicenseFactory((expression) => {
    parseSpdxExpression(expression);
  });
  const builder = new Builders.ComponentBuilder(new Factories.ExternalReferenceFactory(), licenseFactory);

  const bom = new Models.Bom();
  const self = new Models.Component(Enums.ComponentType.Application, "spire-aws-iid", {
    version: input.version,
    bomRef: "spire-aws-iid",
    purl: new PackageURL("npm", undefined, "spire-aws-iid", input.version, undefined, undefined).toString(),
    licenses: new Models.LicenseRepository([new Models.SpdxLicense("Apache-2.0")]),
    properties: new Models.PropertyRepository([
      new Models.Property("spire-aws-iid:git-commit", input.commit),
    ]),
  });
  bom.metadata.component = self;
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Library, "cyclonedx-library", {
      group: "@cyclonedx",
      version: libraryVersion(),
    }),
  );

  for (const p of input.packages) {
    const pkgJson = JSON.parse(readFileSync(join(root, p.dir, "package.json"), "utf8")) as object;
    const component = builder.makeComponent(pkgJson);
    if (component === undefined) throw new Error(`${p.dir}: not an npm package`);
    const [namespace, name] = p.name.startsWith("@") ? p.name.split("/") : [undefined, p.name];
    component.purl = new PackageURL(
      "npm",
      namespace,
      name ?? p.name,
      p.version,
      undefined,
      undefined,
    ).toString();
    component.bomRef.value = component.purl;
    const integrity = lock.packages[p.dir]?.integrity;
    if (integrity?.startsWith("sha512-")) {
      component.hashes.set(
        Enums.HashAlgorithm["SHA-512"],
        Buffer.from(integrity.slice("sha512-".length), "base64").toString("hex"),
      );
    }
    bom.components.add(component);
    self.dependencies.add(component.bomRef);
  }

  const node = new Models.Component(Enums.ComponentType.Platform, "node", {
    version: input.node.version.replace(/^v/, ""),
    bomRef: "nodejs",
    description: `Node.js, embedded in spire-aws-iid-sea (from the npm package ${input.node.npmPackage}@${input.node.npmVersion})`,
    purl: new PackageURL(
      "npm",
      undefined,
      input.node.npmPackage,
      input.node.npmVersion,
      undefined,
      undefined,
    ).toString(),
    licenses: new Models.LicenseRepository([licenseFactory.makeFromString(input.node.license)]),
  });
  const integrity = lock.packages[`node_modules/${input.node.npmPackage}`]?.integrity;
  if (integrity?.startsWith("sha512-")) {
    node.hashes.set(
      Enums.HashAlgorithm["SHA-512"],
      Buffer.from(integrity.slice(7), "base64").toString("hex"),
    );
  }
  bom.components.add(node);
  self.dependencies.add(node.bomRef);

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(SBOM_SPEC));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

function libraryVersion(): string {
  const file = join(root, "node_modules", "@cyclonedx", "cyclonedx-library", "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}
