/**
 * Soak: many attestations, mixed accepted and refused, through ONE plugin process — the
 * bundle (dist/spire-aws-iid server) loaded by the SPIRE-like host against the loopback AWS
 * fakes with rate limits off. SPIRE never restarts a plugin, so what matters over a long run
 * is: no crash, no wrong decision (every outcome is checked against the expected one), memory
 * that levels off, and no file-descriptor growth (sockets to AWS, to the host services).
 *
 *   npm run soak                      # 100,000 attestations (SOAK_TOTAL, SOAK_CONCURRENCY,
 *                                     # SOAK_BUNDLE: another build than dist/spire-aws-iid)
 *
 * test/soak.spec.ts runs a reduced version in `npm test`.
 */

import { setMaxListeners } from "node:events";
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Code, codeName } from "../src/common/errors";
import {
  MANAGEMENT_ACCOUNT,
  SCENARIO_ACCOUNT,
  type Scenario,
  type ScenarioNode,
  startScenario,
} from "../src/testkit/scenario";
import { type AttestOutcome, loadPlugin, type SpireHost } from "../src/testkit/spire-host";

// Nothing here reaches beyond loopback: the guard refuses it in this process and, through
// NODE_OPTIONS, in every process this one spawns (test/loopback-guard.cjs).
createRequire(__filename)("../test/loopback-guard.cjs");

const TD = "example.org";
const FOREIGN_ACCOUNT = "777788889999";

export type SoakKind = "valid" | "tofu-reuse" | "forged" | "foreign-org-account" | "stopped" | "malformed";
export const SOAK_KINDS: readonly SoakKind[] = [
  "valid",
  "tofu-reuse",
  "forged",
  "foreign-org-account",
  "stopped",
  "malformed",
];

export interface SoakOptions {
  total: number;
  concurrency?: number;
  /** Samples of RSS and fd count taken over the run (plus one before and one after). */
  samples?: number;
  bundle?: string;
  /** Called with progress lines (stderr in the script). */
  progress?: (line: string) => void;
}

export interface ProcessSample {
  done: number;
  rssKiB: number;
  fds: number;
}

export interface SoakResult {
  total: number;
  byKind: Record<SoakKind, number>;
  wrong: { kind: SoakKind; got: string }[];
  /** Calls that failed in the transport (HTTP/2 session reset), not by a plugin decision. */
  transportErrors: number;
  crashed: boolean;
  /** The plugin's last log lines when it exited early (why it died). */
  lastLogs: string[];
  exitedEarly: string | undefined;
  samples: ProcessSample[];
  /** After warm-up (the first 5 % of the run). */
  baseline: ProcessSample;
  final: ProcessSample;
  durationMs: number;
  unloadGraceful: boolean;
}

/** RSS and open descriptors of the plugin process; zeros once it has exited. */
function sample(pid: number, done: number): ProcessSample {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return { done, rssKiB: Number(rss ?? "0"), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { done, rssKiB: 0, fds: 0 };
  }
}

function forge(payload: Uint8Array): Uint8Array {
  // A document changed after signing: another account claimed with the same signatures.
  return Buffer.from(Buffer.from(payload).toString("utf8").replace(SCENARIO_ACCOUNT, "000000000000"), "utf8");
}

/** grpc-js client texts for a connection that broke under the call (never a plugin answer). */
const TRANSPORT_FAILURE = /^(Received RST_STREAM|Session closed|Connection dropped|Channel closed)/;

const MALFORMED: readonly Uint8Array[] = [
  Buffer.from("{not json"),
  Buffer.from('{"document":"","signature":""}'),
  Buffer.from("\u0000\u0001\u0002"),
  Buffer.from('{"document":"e30=","signature":"AAAA","rsa2048":"!!!"}'),
  Buffer.alloc(70 * 1024, 0x7b),
];

interface Fixture {
  valid: ScenarioNode[];
  reused: ScenarioNode[];
  foreign: ScenarioNode[];
  stopped: ScenarioNode[];
}

function agentIdOf(n: ScenarioNode): string {
  const i = n.instance;
  return `spiffe://${TD}/spire/agent/aws_iid/${i.account}/${i.region}/${i.instanceId}`;
}

function fixture(scenario: Scenario): Fixture {
  const many = (count: number, make: () => ScenarioNode): ScenarioNode[] =>
    Array.from({ length: count }, make);
  return {
    valid: many(64, () => scenario.addNode({ tags: { app: "soak" } })),
    reused: many(16, () => scenario.addNode()),
    foreign: many(16, () => scenario.addNode({ account: FOREIGN_ACCOUNT })),
    stopped: many(16, () => scenario.addNode({ state: "stopped" })),
  };
}

function expectation(
  kind: SoakKind,
  outcome: AttestOutcome,
  expectedId: string | undefined,
): string | undefined {
  const got = outcome.ok
    ? `OK ${outcome.attributes.spiffeId}`
    : `${codeName[outcome.code as Code]} ${outcome.details}`;
  const want = (ok: boolean): string | undefined => (ok ? undefined : got);
  switch (kind) {
    case "valid":
      return want(outcome.ok && outcome.attributes.spiffeId === expectedId);
    case "tofu-reuse":
      return want(
        !outcome.ok && outcome.code === Code.PermissionDenied && /already been used/.test(outcome.details),
      );
    case "forged":
      return want(!outcome.ok && outcome.code === Code.PermissionDenied);
    case "foreign-org-account":
      return want(
        !outcome.ok && outcome.code === Code.PermissionDenied && /organization/.test(outcome.details),
      );
    case "stopped":
      return want(!outcome.ok && outcome.code === Code.PermissionDenied && /stopped/.test(outcome.details));
    case "malformed":
      return want(!outcome.ok && outcome.code === Code.InvalidArgument);
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const total = options.total;
  const concurrency = options.concurrency ?? 32;
  const sampleEvery = Math.max(1, Math.floor(total / (options.samples ?? 20)));
  const progress = options.progress ?? ((): void => {});
  // A private copy: a concurrent build must not swap the file under the running process.
  const dir = mkdtempSync(join(tmpdir(), "soak-"));
  const bundle = join(dir, "spire-aws-iid");
  copyFileSync(options.bundle ?? join(resolve(__dirname, ".."), "dist", "spire-aws-iid"), bundle);
  chmodSync(bundle, 0o755);

  const scenario = await startScenario({ ec2RateLimits: [], iamRateLimits: [] });
  let host: SpireHost | undefined;
  try {
    scenario.addOrgAccount(SCENARIO_ACCOUNT);
    const nodes = fixture(scenario);
    host = await loadPlugin({
      command: bundle,
      args: ["server"],
      side: "server",
      env: scenario.env(),
      agents: nodes.reused.map(agentIdOf),
      config: scenario.pluginData(
        [
          'assume_role = "spire-reader"',
          "verify_organization {",
          `  management_account_id = "${MANAGEMENT_ACCOUNT}"`,
          '  assume_org_role = "spire-org-reader"',
          "}",
          'agent_path_template = "/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}"',
        ].join("\n"),
      ),
      trustDomain: TD,
    });
    const pid = host.child.pid ?? 0;
    const h = host;
    let exitedEarly: string | undefined;
    // A dead plugin never answers: abort what is in flight instead of waiting forever.
    const dead = new AbortController();
    // Every in-flight attestation listens on it (concurrency > Node's default warning of 10).
    setMaxListeners(0, dead.signal);
    let unloading = false;
    void h.waitForExit().then((e) => {
      if (unloading) return;
      exitedEarly = `plugin exited: code ${e.code} signal ${e.signal}`;
      progress(
        `${exitedEarly}; last logs:\n${h.logs
          .slice(-20)
          .map((l) => JSON.stringify(l))
          .join("\n")}`,
      );
      dead.abort();
    });

    const byKind = Object.fromEntries(SOAK_KINDS.map((k) => [k, 0])) as Record<SoakKind, number>;
    const wrong: SoakResult["wrong"] = [];
    const samples: ProcessSample[] = [sample(pid, 0)];
    let baseline: ProcessSample | undefined;
    let next = 0;
    let done = 0;
    let transportErrors = 0;
    const t0 = performance.now();

    const one = async (i: number): Promise<void> => {
      const kind = SOAK_KINDS[i % SOAK_KINDS.length]!;
      const pick = <T>(list: readonly T[]): T => list[Math.floor(i / SOAK_KINDS.length) % list.length]!;
      let payload: Uint8Array;
      let expectedId: string | undefined;
      switch (kind) {
        case "valid": {
          const n = pick(nodes.valid);
          payload = n.payload;
          expectedId = agentIdOf(n);
          break;
        }
        case "tofu-reuse":
          payload = pick(nodes.reused).payload;
          break;
        case "forged":
          payload = forge(pick(nodes.valid).payload);
          break;
        case "foreign-org-account":
          payload = pick(nodes.foreign).payload;
          break;
        case "stopped":
          payload = pick(nodes.stopped).payload;
          break;
        case "malformed":
          payload = pick(MALFORMED);
          break;
      }
      const outcome = await h.attest(payload, { signal: dead.signal });
      byKind[kind] += 1;
      // The connection to the plugin failing under a call (see docs/security.md, HTTP/2 resets)
      // is not a decision: SPIRE's agent retries it. Counted, reported, kept apart.
      if (!outcome.ok && TRANSPORT_FAILURE.test(outcome.details)) {
        transportErrors += 1;
        done += 1;
        return;
      }
      const bad = expectation(kind, outcome, expectedId);
      if (bad !== undefined) {
        wrong.push({ kind, got: wrong.length < 50 ? bad : "(more)" });
        if (wrong.length <= 5) progress(`wrong decision #${wrong.length} (${kind}): ${bad}`);
      }
      done += 1;
      if (baseline === undefined && done >= Math.max(1, Math.floor(total / 20))) baseline = sample(pid, done);
      if (done % sampleEvery === 0) {
        samples.push(sample(pid, done));
        const last = samples[samples.length - 1]!;
        progress(
          `${done}/${total} attestations, ${wrong.length} wrong, RSS ${(last.rssKiB / 1024).toFixed(1)} MiB, ${last.fds} fds`,
        );
      }
    };

    const worker = async (): Promise<void> => {
      while (next < total && exitedEarly === undefined) {
        const i = next++;
        await one(i);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const durationMs = performance.now() - t0;
    const final = sample(pid, done);
    samples.push(final);
    const crashed = exitedEarly !== undefined;
    unloading = true;
    const unload = crashed ? { graceful: false } : await h.unload();
    host = undefined;
    return {
      total: done,
      byKind,
      wrong,
      transportErrors,
      crashed,
      exitedEarly,
      lastLogs: crashed ? h.logs.slice(-20).map((l) => JSON.stringify(l)) : [],
      samples,
      baseline: baseline ?? samples[0]!,
      final,
      durationMs,
      unloadGraceful: unload.graceful,
    };
  } finally {
    await host?.kill();
    await scenario.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const total = Number.parseInt(process.env.SOAK_TOTAL ?? "", 10) || 100_000;
  const concurrency = Number.parseInt(process.env.SOAK_CONCURRENCY ?? "", 10) || 32;
  const r = await runSoak({
    total,
    concurrency,
    bundle: process.env.SOAK_BUNDLE || undefined,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const mib = (k: number): string => (k / 1024).toFixed(1);
  const summary = {
    attestations: r.total,
    byKind: r.byKind,
    wrongDecisions: r.wrong.length,
    transportErrors: r.transportErrors,
    crashed: r.crashed,
    unloadGraceful: r.unloadGraceful,
    durationSeconds: Math.round(r.durationMs / 100) / 10,
    perSecond: Math.round(r.total / (r.durationMs / 1000)),
    rssMiB: {
      start: mib(r.samples[0]!.rssKiB),
      afterWarmup: mib(r.baseline.rssKiB),
      end: mib(r.final.rssKiB),
    },
    fds: { start: r.samples[0]!.fds, afterWarmup: r.baseline.fds, end: r.final.fds },
    samples: r.samples,
    wrong: r.wrong.slice(0, 10),
    exitedEarly: r.exitedEarly,
    lastLogs: r.lastLogs,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = r.crashed || r.wrong.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
