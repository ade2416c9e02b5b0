/**
 * Legal: dist/THIRD_PARTY_LICENSES.txt (written beside the bundle by scripts/bundle.ts, which
 * test/global-setup.ts runs) lists exactly the npm packages in the bundle, each with its
 * license text. The package set is worked out here on its own, from a plain esbuild metafile of
 * src/main.ts, so a package the bundle's two-part build forgets to report is caught.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import spdxLicenses from "spdx-license-list/full";
import { beforeAll, describe, expect, it } from "vitest";

const root = resolve(__dirname, "..");
const RULE = "=".repeat(80);

interface Pkg {
  name: string;
  version: string;
  license: string;
  dir: string;
}

/** name@version -> package, for every node_modules package a bundled file belongs to. */
async function packagesInBundle(): Promise<Map<string, Pkg>> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["src/main.ts"],
    bundle: true,
    platform: "node",
    format: "cjs",
    write: false,
    metafile: true,
    outfile: "out.js",
    external: ["@grpc/proto-loader"],
    logLevel: "error",
  });
  const out = new Map<string, Pkg>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
    if (dir === undefined) continue;
    const pj = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Pkg;
    out.set(`${pj.name}@${pj.version}`, { name: pj.name, version: pj.version, license: pj.license, dir });
  }
  return out;
}

/** "name version" -> the text of its section. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(`${RULE}\n`).slice(1)) {
    out.set(part.slice(0, part.indexOf("\n")), part);
  }
  return out;
}

let packages: Map<string, Pkg>;
let listed: Map<string, string>;

beforeAll(async () => {
  packages = await packagesInBundle();
  listed = sections(readFileSync(join(root, "dist", "THIRD_PARTY_LICENSES.txt"), "utf8"));
});

describe("THIRD_PARTY_LICENSES.txt beside the bundle", () => {
  it("lists exactly the npm packages the bundle contains", () => {
    expect(packages.size).toBeGreaterThan(20);
    expect([...listed.keys()].sort()).toEqual(
      [...packages.values()].map((p) => `${p.name} ${p.version}`).sort(),
    );
  });

  it("carries every bundled package's license text: its license files verbatim, else the standard text", () => {
    for (const p of packages.values()) {
      const section = listed.get(`${p.name} ${p.version}`) ?? "";
      expect(section, p.name).toContain(`License: ${p.license}`);
      const files = readdirSync(join(root, p.dir)).filter((f) => /^(licen[cs]e|copying)([.-].*)?$/i.test(f));
      if (files.length > 0) {
        for (const f of files) {
          expect(section, `${p.name}: ${f}`).toContain(readFileSync(join(root, p.dir, f), "utf8").trimEnd());
        }
      } else {
        const ids = p.license
          .match(/[A-Za-z0-9][A-Za-z0-9.+-]*/g)
          ?.filter((id) => !["AND", "OR", "WITH"].includes(id));
        expect(ids?.length, p.name).toBeGreaterThan(0);
        for (const id of ids ?? []) {
          const text = (spdxLicenses as Record<string, { licenseText: string } | undefined>)[id]?.licenseText;
          expect(text, `${p.name}: ${id}`).toBeDefined();
          expect(section, `${p.name}: ${id}`).toContain((text ?? "").trimEnd());
        }
      }
    }
  });

  it("the BSD-3-Clause code (pkijs, asn1js, bytestreamjs) is among them with its copyright notice", () => {
    for (const name of ["pkijs", "asn1js", "bytestreamjs"]) {
      const section = [...listed.entries()].find(([k]) => k.startsWith(`${name} `))?.[1] ?? "";
      expect(section, name).toContain("License: BSD-3-Clause");
      expect(section, name).toMatch(/Copyright \(c\) \d{4}/);
    }
  });

  it("protobufjs is not in the bundle: grpc-js loads @grpc/proto-loader (its only user) only for channelz/ORCA", () => {
    const names = [...packages.values()].map((p) => p.name);
    expect(names).not.toContain("protobufjs");
    expect(names).not.toContain("@grpc/proto-loader");
  });
});

describe("the project's own license", () => {
  it("LICENSE is the Apache License 2.0 and NOTICE names the third-party file", () => {
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    expect(license).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(license).toContain("END OF TERMS AND CONDITIONS");
    expect(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).license).toBe("Apache-2.0");
    expect(readFileSync(join(root, "NOTICE"), "utf8")).toContain("THIRD_PARTY_LICENSES.txt");
  });
});
