/**
 * Which build this is. scripts/bundle.ts writes the package version and the git commit into
 * the bundle (esbuild `define`), so a file copied to a SPIRE host still says what it is.
 * Code run from source (vitest, tsx) has no build, and says so.
 */
import { isSea } from "node:sea";

declare const __SPIRE_AWS_IID_VERSION__: string | undefined;
declare const __SPIRE_AWS_IID_COMMIT__: string | undefined;

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The git commit the bundle was built from, with "-dirty" if tracked files differed from it. */
  commit: string;
  /** The Node.js running this process (in the single executable: the one embedded in it). */
  node: string;
  /** True inside the single executable (scripts/build-sea.ts). */
  singleExecutable: boolean;
}

export const VERSION: string =
  typeof __SPIRE_AWS_IID_VERSION__ === "string" ? __SPIRE_AWS_IID_VERSION__ : "0.0.0-source";
export const COMMIT: string =
  typeof __SPIRE_AWS_IID_COMMIT__ === "string" ? __SPIRE_AWS_IID_COMMIT__ : "unknown";

export function buildInfo(): BuildInfo {
  return { version: VERSION, commit: COMMIT, node: process.version, singleExecutable: isSea() };
}

/** What `spire-aws-iid --version` prints. */
export function versionText(): string {
  const b = buildInfo();
  const node = b.singleExecutable
    ? `${b.node} (embedded in this single executable)`
    : `${b.node} (${process.execPath})`;
  return `spire-aws-iid ${b.version}\ncommit ${b.commit}\nnode ${node}\n`;
}
