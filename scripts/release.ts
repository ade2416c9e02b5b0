/**
 * npm run release: dist/release/spire-aws-iid-<version>-linux-<arch>.tar.gz and its .sha256.
 * The archive holds one folder of the same name with
 *
 *   spire-aws-iid (+ .sha256)       the bundle, for hosts with Node.js >= 22.12
 *   spire-aws-iid-sea (+ .sha256)   the single executable, on the Node LTS package-lock.json pins
 *   spire-aws-iid.cdx.json          CycloneDX SBOM: the bundled npm packages and that Node
 *   THIRD_PARTY_LICENSES.txt        their licenses
 *   LICENSE, NOTICE, README.md, CHANGELOG.md
 *
 * <arch> is SPIRE's name for it (amd64, arm64), as in SPIRE's own release archives.
 *
 * Reproducible: two builds of one commit give the same bytes. Each step is (test/release.spec.ts
 * checks each; .ci/run builds the whole archive twice and compares): the bundle carries only
 * version and commit, the single executable has no V8 code cache, the SBOM no timestamp, and the
 * archive is written by GNU tar with sorted names, owner 0, and every time set to the commit's
 * (or SOURCE_DATE_EPOCH), then gzip -n.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { buildSea, pinnedNode, SEA_PATH } from "./build-sea";
import { BUNDLE_PATH, buildIdentity } from "./bundle";
import { LICENSES_FILE_NAME } from "./licenses";
import { sbomJson } from "./sbom";

const root = resolve(__dirname, "..");
const dist = join(root, "dist");
export const RELEASE_DIR = join(dist, "release");
export const SBOM_PATH = join(dist, "spire-aws-iid.cdx.json");

/** SPIRE's architecture names. */
const SPIRE_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

export interface ArchiveEntry {
  /** Name inside the archive's folder. */
  name: string;
  /** File to copy. */
  from: string;
  mode: 0o755 | 0o644;
}

export async function release(): Promise<{ archive: string; sha256: string }> {
  if (process.env.SEA_NODE !== undefined) {
    throw new Error("a release embeds the Node package-lock.json pins; unset SEA_NODE");
  }
  const arch = SPIRE_ARCH[process.arch];
  if (process.platform !== "linux" || arch === undefined)
    throw new Error("releases are built on Linux x64/arm64");
  const node = pinnedNode();
  if (node.lts === undefined || node.npmPackage === undefined) {
    throw new Error(`the single executable must embed a Node LTS release, and ${node.version} is not one`);
  }
  const { packages } = await buildSea(node);
  const { version, commit } = buildIdentity();
  writeFileSync(
    SBOM_PATH,
    sbomJson({
      version,
      commit,
      packages,
      node: {
        version: node.version,
        npmPackage: node.npmPackage.name,
        npmVersion: node.npmPackage.version,
        license: "MIT",
      },
    }),
  );

  const name = `spire-aws-iid-${version}-linux-${arch}`;
  const fromDist = (file: string, mode: 0o755 | 0o644 = 0o644): ArchiveEntry => ({
    name: file,
    from: join(dist, file),
    mode,
  });
  const fromRoot = (file: string): ArchiveEntry => ({ name: file, from: join(root, file), mode: 0o644 });
  const entries: ArchiveEntry[] = [
    fromDist(basename(BUNDLE_PATH), 0o755),
    fromDist(`${basename(BUNDLE_PATH)}.sha256`),
    fromDist(basename(SEA_PATH), 0o755),
    fromDist(`${basename(SEA_PATH)}.sha256`),
    fromDist(basename(SBOM_PATH)),
    fromDist(LICENSES_FILE_NAME),
    fromRoot("LICENSE"),
    fromRoot("NOTICE"),
    fromRoot("README.md"),
    fromRoot("CHANGELOG.md"),
  ];
  mkdirSync(RELEASE_DIR, { recursive: true });
  const archive = join(RELEASE_DIR, `${name}.tar.gz`);
  packArchive(name, entries, archive, sourceDateEpoch());
  const sha256 = createHash("sha256").update(readFileSync(archive)).digest("hex");
  writeFileSync(`${archive}.sha256`, `${sha256}  ${basename(archive)}\n`);
  return { archive, sha256 };
}

/** SOURCE_DATE_EPOCH (reproducible-builds.org), else the commit's time. */
export function sourceDateEpoch(): number {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  const out = execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" });
  return Number(out.trim());
}

/**
 * A .tar.gz of `entries` under `folder/`, the same bytes for the same file contents whatever
 * the files' times, owners, umask or directory order.
 */
export function packArchive(
  folder: string,
  entries: readonly ArchiveEntry[],
  out: string,
  epoch: number,
): void {
  const stage = mkdtempSync(join(tmpdir(), "spire-aws-iid-release-"));
  try {
    const dir = join(stage, folder);
    mkdirSync(dir);
    for (const e of entries) {
      copyFileSync(e.from, join(dir, e.name));
      chmodSync(join(dir, e.name), e.mode);
    }
    chmodSync(dir, 0o755);
    execFileSync(
      "tar",
      [
        "--create",
        "--file",
        out,
        "--directory",
        stage,
        "--sort=name",
        "--format=gnu",
        `--mtime=@${epoch}`,
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--use-compress-program=gzip -9 -n",
        folder,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  release().then(
    ({ archive, sha256 }) => process.stdout.write(`${archive}\nsha256 ${sha256}\n`),
    (err: unknown) => {
      process.stderr.write(`release failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
