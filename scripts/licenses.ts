/**
 * The third-party licenses of exactly what the bundle contains. scripts/bundle.ts hands over
 * the files esbuild put into it (its metafiles' inputs); every npm package one of them belongs
 * to is listed in THIRD_PARTY_LICENSES.txt beside the bundle with its license files and NOTICE
 * files verbatim. A package that ships no license file gets the standard text of each license
 * its package.json names (from the SPDX license list) and the copyright lines of its bundled
 * files. The single executable (scripts/build-sea.ts) adds the Node.js it embeds.
 *
 * The text depends only on the packages (sorted), so two builds of one commit write the same
 * bytes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import spdxLicenses from "spdx-license-list/full";

const root = resolve(__dirname, "..");
export const LICENSES_FILE_NAME = "THIRD_PARTY_LICENSES.txt";

export interface LicenseFile {
  /** The file's name in its package, or "SPDX <id>" for a standard text. */
  source: string;
  text: string;
}

export interface BundledPackage {
  name: string;
  version: string;
  /** SPDX expression from package.json ("(Apache-2.0 AND BSD-3-Clause)"). */
  license: string;
  /** The package's folder, relative to the repository ("node_modules/@smithy/core"). */
  dir: string;
  homepage?: string;
  licenses: LicenseFile[];
  notices: LicenseFile[];
}

export interface EmbeddedNode {
  version: string;
  /** Node's LICENSE: its own MIT license and those of the code it includes. */
  licenseText: string;
}

const LICENSE_FILE = /^(licen[cs]e|copying)([.-].*)?$/i;
const NOTICE_FILE = /^notice([.-].*)?$/i;
const RULE = "=".repeat(80);

/** The npm packages the bundle's input files (paths relative to the repository) belong to. */
export function bundledPackages(inputs: Iterable<string>): BundledPackage[] {
  const files = new Map<string, string[]>();
  for (const input of inputs) {
    const dir = packageDirOf(input);
    if (dir === undefined) continue;
    const list = files.get(dir) ?? [];
    list.push(input);
    files.set(dir, list);
  }
  const packages = new Map<string, BundledPackage>();
  for (const [dir, inputsOfPackage] of files) {
    const pkg = describePackage(dir, inputsOfPackage);
    packages.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...packages.values()].sort((a, b) => compare(`${a.name}@${a.version}`, `${b.name}@${b.version}`));
}

/** "node_modules/@scope/name" (the innermost node_modules) of a bundled file, if it is in one. */
function packageDirOf(input: string): string | undefined {
  const path = input.split(sep).join("/");
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path);
  return m?.[1];
}

function describePackage(dir: string, inputs: readonly string[]): BundledPackage {
  const abs = join(root, dir);
  const pkg = JSON.parse(readFileSync(join(abs, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license?: string;
    homepage?: string;
    repository?: string | { url?: string };
  };
  const license = pkg.license ?? "UNKNOWN";
  const names = readdirSync(abs).sort(compare);
  const read = (name: string): LicenseFile => ({ source: name, text: readFileSync(join(abs, name), "utf8") });
  let licenses = names.filter((n) => LICENSE_FILE.test(n)).map(read);
  if (licenses.length === 0) licenses = standardTexts(pkg.name, license, inputs);
  return {
    name: pkg.name,
    version: pkg.version,
    license,
    dir,
    homepage: pkg.homepage ?? (typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url),
    licenses,
    notices: names.filter((n) => NOTICE_FILE.test(n)).map(read),
  };
}

/** For a package without a license file: its copyright lines, then each named license's text. */
function standardTexts(name: string, expression: string, inputs: readonly string[]): LicenseFile[] {
  const ids = [...expression.matchAll(/[A-Za-z0-9][A-Za-z0-9.+-]*/g)]
    .map((m) => m[0])
    .filter((id) => !["AND", "OR", "WITH"].includes(id));
  if (ids.length === 0) throw new Error(`${name}: no license file and no SPDX license in package.json`);
  const copyrights = new Set<string>();
  for (const input of inputs) {
    const text = readFileSync(join(root, input), "utf8");
    for (const m of text.matchAll(/Copyright\s+(?:\(c\)\s*|©\s*)?\d{4}[^\n*]*/gi))
      copyrights.add(m[0].trim());
  }
  const files: LicenseFile[] = [];
  if (copyrights.size > 0) {
    files.push({
      source: "copyright lines of its bundled files",
      text: [...copyrights].sort(compare).join("\n"),
    });
  }
  for (const id of ids) {
    const entry = (spdxLicenses as Record<string, { licenseText: string } | undefined>)[id];
    if (entry === undefined) throw new Error(`${name}: no license file, and ${id} is not an SPDX license`);
    files.push({ source: `SPDX ${id}`, text: entry.licenseText });
  }
  return files;
}

/** THIRD_PARTY_LICENSES.txt. */
export function thirdPartyLicensesText(packages: readonly BundledPackage[], node?: EmbeddedNode): string {
  const out: string[] = [
    "Third-party software in spire-aws-iid",
    "",
    "The bundle (spire-aws-iid) contains the npm packages below; the single executable",
    "(spire-aws-iid-sea) contains the same bundle and Node.js. spire-aws-iid itself is licensed",
    "under the Apache License 2.0 (LICENSE, NOTICE).",
    "",
    ...packages.map((p) => `  ${p.name} ${p.version} (${p.license})`),
    ...(node === undefined ? [] : [`  Node.js ${node.version} (MIT and the licenses in its LICENSE)`]),
    "",
  ];
  for (const p of packages) {
    out.push(RULE, `${p.name} ${p.version}`, `License: ${p.license}`);
    if (p.homepage !== undefined) out.push(`Source: ${p.homepage}`);
    for (const f of [...p.licenses, ...p.notices]) out.push("", `--- ${f.source} ---`, "", f.text.trimEnd());
    out.push("");
  }
  if (node !== undefined) {
    out.push(RULE, `Node.js ${node.version}`, "License: MIT and the licenses in its LICENSE", "");
    out.push("--- LICENSE ---", "", node.licenseText.trimEnd(), "");
  }
  return `${out.join("\n")}\n`;
}

/** Node's LICENSE from the npm package the single executable's Node comes from. */
export function embeddedNodeOf(nodePackageDir: string, version: string): EmbeddedNode {
  const file = join(nodePackageDir, "LICENSE");
  if (!existsSync(file)) throw new Error(`no LICENSE in ${relative(root, nodePackageDir)}`);
  return { version, licenseText: readFileSync(file, "utf8") };
}

/** Code-point order: the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
