/**
 * `npm run release` is reproducible: two builds of one commit give the same archive. Building
 * the whole archive twice costs two single executables (~130 MB each), so `npm test` checks each
 * step on its own, where a difference would come from; .ci/run builds the whole archive twice
 * and compares (check_release_reproducible).
 *
 *   bundle      -> two builds of this tree are byte-identical (not compared with dist/: a commit
 *                  made while the suite runs would change the commit the bundle carries)
 *   SEA blob    -> Node's preparation blob, twice (postject only copies it into a Node binary)
 *   SBOM        -> the same JSON twice; valid CycloneDX 1.6; lists the bundle's packages and Node
 *   archive     -> the same .tar.gz twice, whatever the files' times and the order given
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Validation } from "@cyclonedx/cyclonedx-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pinnedNode, preparationBlob } from "../scripts/build-sea";
import { type BundleResult, buildIdentity, bundle } from "../scripts/bundle";
import { type ArchiveEntry, packArchive } from "../scripts/release";
import { SBOM_SPEC, sbomJson } from "../scripts/sbom";

const root = resolve(__dirname, "..");
let work: string;
let first: BundleResult;
let second: BundleResult;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "release-spec-"));
  [first, second] = await Promise.all([
    bundle({ outfile: join(work, "one", "spire-aws-iid") }),
    bundle({ outfile: join(work, "two", "spire-aws-iid") }),
  ]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("release reproducibility, step by step", () => {
  it("bundle: a second build is byte-identical, licenses included", () => {
    expect(readFileSync(second.path).equals(readFileSync(first.path))).toBe(true);
    expect(readFileSync(join(work, "two", "THIRD_PARTY_LICENSES.txt"), "utf8")).toBe(
      readFileSync(join(work, "one", "THIRD_PARTY_LICENSES.txt"), "utf8"),
    );
    const text = readFileSync(second.path, "utf8");
    expect(text).not.toContain(root); // no build path
  });

  it("single executable: the pinned Node is an LTS, and its preparation blob is the same twice", () => {
    const node = pinnedNode();
    expect(node.lts, `${node.version} is not an LTS release`).toBeTruthy();
    expect(node.npmPackage?.name).toBe(`node-linux-${process.arch}`);
    preparationBlob(node, second.path, join(work, "a.blob"));
    preparationBlob(node, second.path, join(work, "b.blob"));
    expect(readFileSync(join(work, "a.blob")).equals(readFileSync(join(work, "b.blob")))).toBe(true);
  });

  it("SBOM: the same JSON twice, valid CycloneDX 1.6, with every bundled package and the embedded Node", async () => {
    const node = pinnedNode();
    const input = {
      ...buildIdentity(),
      packages: second.packages,
      node: {
        version: node.version,
        npmPackage: node.npmPackage?.name ?? "",
        npmVersion: node.npmPackage?.version ?? "",
        license: "MIT",
      },
    };
    const json = sbomJson(input);
    expect(sbomJson(input)).toBe(json);
    const problems = await new Validation.JsonStrictValidator(SBOM_SPEC.version).validate(json);
    expect(problems).toBeNull();
    const bom = JSON.parse(json) as {
      metadata: { component: { name: string; version: string } };
      components: { name: string; group?: string; version: string; purl: string; type: string }[];
    };
    expect(bom.metadata.component).toMatchObject({ name: "spire-aws-iid", version: input.version });
    const purls = bom.components.map((c) => c.purl);
    for (const p of second.packages) {
      expect(purls).toContain(`pkg:npm/${p.name.replace("@", "%40")}@${p.version}`);
    }
    expect(bom.components.find((c) => c.type === "platform")).toMatchObject({
      name: "node",
      version: node.version.slice(1),
    });
    expect(bom.components).toHaveLength(second.packages.length + 1);
  });

  it("archive: the same bytes whatever the files' times and the order they are given in", () => {
    const files: ArchiveEntry[] = ["b.txt", "a.sh"].map((name) => {
      const from = join(work, name);
      writeFileSync(from, `content of ${name}\n`);
      return { name, from, mode: name.endsWith(".sh") ? 0o755 : 0o644 };
    });
    packArchive("pkg-1.0.0", files, join(work, "one.tar.gz"), 1_700_000_000);
    for (const f of files) utimesSync(f.from, new Date(), new Date(2001, 1, 1));
    packArchive("pkg-1.0.0", [...files].reverse(), join(work, "two.tar.gz"), 1_700_000_000);
    expect(readFileSync(join(work, "one.tar.gz")).equals(readFileSync(join(work, "two.tar.gz")))).toBe(true);
    const listing = execFileSync("tar", ["--list", "--verbose", "--file", join(work, "one.tar.gz")], {
      encoding: "utf8",
    });
    expect(listing).toMatch(
      /^drwxr-xr-x 0\/0 .* pkg-1\.0\.0\/\n-rwxr-xr-x 0\/0 .* pkg-1\.0\.0\/a\.sh\n-rw-r--r-- 0\/0 .* pkg-1\.0\.0\/b\.txt\n$/,
    );
    expect(listing).toContain("2023-11-14");
  });
});
