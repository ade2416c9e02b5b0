/**
 * vitest globalSetup for runs that need no built artifact (`npm run fuzz`, `npm run mutate`):
 * arms the loopback guard (test/loopback-guard.cjs) for the whole run. Loaded here, it puts
 * itself into NODE_OPTIONS before vitest forks its workers, so workers and every Node process
 * they spawn refuse non-loopback connects; each refusal is logged to one file, and the teardown
 * fails the run if that file is not empty. test/global-setup.ts does the same, then builds.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function armLoopbackGuard(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "loopback-guard-"));
  const log = join(dir, "refusals.jsonl");
  writeFileSync(log, "");
  process.env.LOOPBACK_GUARD_LOG = log;
  createRequire(__filename)("./loopback-guard.cjs");
  return () => {
    const refusals = readFileSync(log, "utf8").trim();
    rmSync(dir, { recursive: true, force: true });
    if (refusals !== "") {
      throw new Error(
        `the loopback guard refused traffic outside 127.0.0.0/8 during the run (test/loopback-guard.cjs):\n${refusals}`,
      );
    }
  };
}

export default function setup(): () => void {
  return armLoopbackGuard();
}
