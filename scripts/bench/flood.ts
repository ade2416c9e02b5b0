/**
 * Flood (issue 17): honest attestation latency and plugin memory while an attacker with no
 * credentials holds streams open. Two plugin processes, as a SPIRE server with both methods
 * runs them: dist/spire-aws-iid ["server"] (aws_iid) and ["server-iam"] (aws_iam), each on one
 * SpireHost connection like SPIRE's. The flood, against both processes at once:
 *
 * - 300 silent aws_iam streams: the 46-byte hello, then no answer to the challenge (each would
 *   be held for the challenge's minute), from 300 different addresses so the per-address
 *   bound does not come into play;
 * - 200 streams whose first message is 1,000,000 bytes (under gRPC's 1 MiB cap), 100 to each
 *   process, from 200 more addresses.
 *
 * Honest agents: 20 aws_iid attestations (fresh nodes; time to the agent ID) and 20 aws_iam
 * attestations by the real agent plugin (time to the challenge and to the agent ID), one after
 * another: before the flood (baseline), while the flood's 200 MB are still arriving on the
 * same connections (delivery), and once every flood stream is held (under flood). RSS is sampled every 100 ms from the flood's start; the peak is
 * reported. Goals (issue 17): honest aws_iid answered and aws_iam challenged within 1 s, RSS
 * under 300 MiB, nothing crashes.
 */

import { setMaxListeners } from "node:events";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { createIamAgentPluginWith } from "../../src/iam/agent-plugin";
import { encodeHello } from "../../src/iam/wire";
import type { AgentAttestorPlugin } from "../../src/spire/contracts";
import { SCENARIO_ACCOUNT, type Scenario, startScenario } from "../../src/testkit/scenario";
import { type AttestOutcome, SpireHost } from "../../src/testkit/spire-host";
import type { BenchResult } from "../bench";
import { pluginCommand, quantile, round, rssMb } from "./lib/common";

const SILENT_IAM_STREAMS = 300;
const BIG_STREAMS = 200;
const BIG_BYTES = 1_000_000;
const HONEST = 20;
const TD = "example.org";

interface Latencies {
  iidMs: number[];
  iamChallengeMs: number[];
  iamMs: number[];
  failures: string[];
}

async function startPlugin(scenario: Scenario, side: "server" | "server-iam"): Promise<SpireHost> {
  const host = await SpireHost.start({
    ...pluginCommand(side),
    side: "server",
    env:
      side === "server"
        ? scenario.env()
        : { AWS_ENDPOINT_URL_STS: scenario.aws.url, AWS_ENDPOINT_URL: undefined },
  });
  await host.init();
  await host.configure(
    side === "server" ? scenario.pluginData() : `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]`,
    TD,
  );
  return host;
}

async function honestRound(
  scenario: Scenario,
  iid: SpireHost,
  iam: SpireHost,
  agent: AgentAttestorPlugin,
): Promise<Latencies> {
  const out: Latencies = { iidMs: [], iamChallengeMs: [], iamMs: [], failures: [] };
  const fail = (what: string, r: AttestOutcome): void => {
    if (!r.ok) out.failures.push(`${what}: code ${r.code} ${r.details}`);
  };
  for (let i = 0; i < HONEST; i++) {
    const node = scenario.addNode();
    let t0 = performance.now();
    const r = await iid.attest(node.payload, { metadata: { "x-forwarded-client-ip": "10.200.0.1" } });
    out.iidMs.push(performance.now() - t0);
    fail("aws_iid", r);

    const signal = new AbortController().signal;
    const payload = await agent.payload(signal);
    t0 = performance.now();
    const r2 = await iam.attest(payload, {
      metadata: { "x-forwarded-client-ip": "10.200.0.2" },
      respond: (challenge) => {
        out.iamChallengeMs.push(performance.now() - t0);
        return agent.respondToChallenge(challenge, signal);
      },
    });
    out.iamMs.push(performance.now() - t0);
    fail("aws_iam", r2);
  }
  return out;
}

function summary(l: Latencies): Record<string, number> {
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const iid = s(l.iidMs);
  const ch = s(l.iamChallengeMs);
  const iam = s(l.iamMs);
  return {
    iid_p50_ms: round(quantile(iid, 0.5)),
    iid_max_ms: round(iid[iid.length - 1] ?? Number.NaN),
    iam_challenge_p50_ms: round(quantile(ch, 0.5)),
    iam_challenge_max_ms: round(ch[ch.length - 1] ?? Number.NaN),
    iam_p50_ms: round(quantile(iam, 0.5)),
    iam_max_ms: round(iam[iam.length - 1] ?? Number.NaN),
    failures: l.failures.length,
  };
}

export async function run(): Promise<BenchResult> {
  const scenario = await startScenario({ ec2RateLimits: [] });
  scenario.aws.sts.verifySignatures = true;
  const iid = await startPlugin(scenario, "server");
  const iam = await startPlugin(scenario, "server-iam");
  const pids = { iid: iid.child.pid ?? 0, iam: iam.child.pid ?? 0 };
  const creds = scenario.aws.sts.issueRoleCredentials(
    `arn:aws:iam::${SCENARIO_ACCOUNT}:role/spire-node`,
    "honest-task",
  );
  const agent = createIamAgentPluginWith(
    { logger: silentLogger, hostServices: { agentStore: undefined, metrics: noopMetrics }, setLogLevel() {} },
    { env: {}, credentials: async () => creds },
  );
  await agent.configure({ trustDomain: TD }, 'region = "us-east-1"');
  const flood = new AbortController();
  let sampler: NodeJS.Timeout | undefined;
  let unloaded = false;
  try {
    // Warm-up (loads the AWS SDK in both plugins), then the baseline.
    await honestRound(scenario, iid, iam, agent);
    const rssBefore = { iid: rssMb(pids.iid), iam: rssMb(pids.iam) };
    const baseline = await honestRound(scenario, iid, iam, agent);

    const peak = { iid: 0, iam: 0 };
    const sample = (): void => {
      peak.iid = Math.max(peak.iid, rssMb(pids.iid));
      peak.iam = Math.max(peak.iam, rssMb(pids.iam));
    };
    sampler = setInterval(sample, 100);
    setMaxListeners(0, flood.signal);
    const floodStarted = performance.now();
    let challenged = 0;
    const hello = encodeHello({ method: "aws_iam", version: 1, region: "us-east-1" });
    const silent = Array.from({ length: SILENT_IAM_STREAMS }, (_, i) =>
      iam.attest(hello, {
        metadata: { "x-forwarded-client-ip": `10.66.${i >> 8}.${i & 255}` },
        signal: flood.signal,
        respond: () => {
          challenged += 1;
          return new Promise<Uint8Array>(() => {});
        },
      }),
    );
    const big = Buffer.alloc(BIG_BYTES, 0x20);
    const bigOutcomes = Array.from({ length: BIG_STREAMS }, (_, i) =>
      (i % 2 === 0 ? iid : iam).attest(big, {
        metadata: { "x-forwarded-client-ip": `10.67.${i >> 8}.${i & 255}` },
        signal: flood.signal,
      }),
    );
    const bigCodes: Record<string, number> = {};
    const bigSettled = Promise.all(bigOutcomes).then((rs) => {
      for (const r of rs) {
        const k = r.ok ? "OK" : String(r.code);
        bigCodes[k] = (bigCodes[k] ?? 0) + 1;
      }
      return performance.now() - floodStarted;
    });
    // Honest agents while the flood is still arriving (200 MB on the same connections)...
    const duringDelivery = await honestRound(scenario, iid, iam, agent);
    for (let i = 0; i < 2400 && challenged < SILENT_IAM_STREAMS; i++)
      await new Promise((r) => setTimeout(r, 25));
    const silentChallengedMs = performance.now() - floodStarted;
    const bigAnsweredMs = await bigSettled;
    // ...and once all of it is held.
    const underFlood = await honestRound(scenario, iid, iam, agent);
    sample();
    const rssUnderFlood = { iid: rssMb(pids.iid), iam: rssMb(pids.iam) };
    const stillHeld = challenged;
    flood.abort();
    const silentOutcomes = await Promise.all(silent);
    clearInterval(sampler);
    const silentEndedEarly = silentOutcomes.filter((r) => !r.ok && r.code !== 1).length;
    // Nothing crashed: both plugins still answer Deinit and exit gracefully.
    const exits = await Promise.all([iid.unload(), iam.unload()]);
    unloaded = true;

    const b = summary(baseline);
    const d = summary(duringDelivery);
    const f = summary(underFlood);
    return {
      name: "flood",
      description: `${SILENT_IAM_STREAMS} silent aws_iam streams and ${BIG_STREAMS} streams with ${BIG_BYTES}-byte first messages (half to each plugin process) held, then ${HONEST} honest aws_iid and ${HONEST} honest aws_iam attestations one after another; VmRSS sampled every 100 ms`,
      metrics: {
        iid_p50_ms: f.iid_p50_ms ?? Number.NaN,
        iid_max_ms: f.iid_max_ms ?? Number.NaN,
        iam_challenge_max_ms: f.iam_challenge_max_ms ?? Number.NaN,
        iam_max_ms: f.iam_max_ms ?? Number.NaN,
        rss_peak_iid_mb: peak.iid,
        rss_peak_iam_mb: peak.iam,
        delivery_iid_max_ms: d.iid_max_ms ?? Number.NaN,
        delivery_iam_challenge_max_ms: d.iam_challenge_max_ms ?? Number.NaN,
        failures: (f.failures ?? 0) + (b.failures ?? 0) + (d.failures ?? 0),
        graceful_unloads: exits.filter((e) => e.graceful).length,
      },
      baseline: b,
      duringDelivery: d,
      underFlood: f,
      flood: {
        silentChallenged: stillHeld,
        silentChallengedMs: round(silentChallengedMs),
        silentEndedBeforeAbort: silentEndedEarly,
        bigStreamCodes: bigCodes,
        bigAllAnsweredMs: round(bigAnsweredMs),
      },
      rssMb: { before: rssBefore, underFlood: rssUnderFlood, peak },
      failureSamples: [...baseline.failures, ...duringDelivery.failures, ...underFlood.failures].slice(0, 5),
      goal: "under the flood: honest aws_iid answered and aws_iam challenged within 1 s; RSS < 300 MiB; no crash",
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    flood.abort();
    await agent.close();
    if (!unloaded) await Promise.all([iid.kill(), iam.kill()]);
    await scenario.close();
  }
}
