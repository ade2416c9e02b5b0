/**
 * Admission before work (issue 17 item 1), against the built bundle (plugin_args
 * ["server-iam"]) on one SpireHost connection, as SPIRE server would drive it. The attacks:
 * silent aws_iam streams (the 46-byte hello, then no answer to the challenge) used to hold an
 * attestation slot each for the challenge's minute, so 256 of them locked everyone out; 1 MB
 * first messages queued behind them held ~2 MB of heap each; and one address could take every
 * slot. The honest agent is the real aws_iam agent plugin, signing for the loopback STS fake.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { createIamAgentPluginWith } from "../../src/iam/agent-plugin";
import { encodeHello } from "../../src/iam/wire";
import type { AgentAttestorPlugin } from "../../src/spire/contracts";
import { SCENARIO_ACCOUNT, type Scenario, startScenario } from "../../src/testkit/scenario";
import type { AttestOutcome, SpireHost } from "../../src/testkit/spire-host";
import { loadIamServer, type PrivateBundle, privateBundle } from "./bundle";

const TD = "example.org";
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const hello = encodeHello({ method: "aws_iam", version: 1, region: "us-east-1" });

let bundle: PrivateBundle;
let scenario: Scenario;
let server: SpireHost;
let agent: AgentAttestorPlugin;

beforeAll(async () => {
  bundle = privateBundle();
  scenario = await startScenario();
  scenario.aws.sts.verifySignatures = true;
  server = await loadIamServer(bundle, scenario, `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]`);
  const creds = scenario.aws.sts.issueRoleCredentials(
    `arn:aws:iam::${SCENARIO_ACCOUNT}:role/spire-node`,
    "honest-task",
  );
  agent = createIamAgentPluginWith(
    { logger: silentLogger, hostServices: { agentStore: undefined, metrics: noopMetrics }, setLogLevel() {} },
    { env: {}, credentials: async () => creds },
  );
  await agent.configure({ trustDomain: TD }, 'region = "us-east-1"');
});

afterAll(async () => {
  await agent?.close();
  const exit = await server?.unload();
  await scenario?.close();
  bundle?.remove();
  expect(exit?.graceful).toBe(true);
});

/** Silent streams: the hello, then never an answer. Resolves once each has its challenge. */
async function holdSilentStreams(
  n: number,
  address: (i: number) => string,
  signal: AbortSignal,
): Promise<{ challenged: () => number; outcomes: Promise<AttestOutcome>[] }> {
  let challenged = 0;
  const outcomes = Array.from({ length: n }, (_, i) =>
    server.attest(hello, {
      metadata: { "x-forwarded-client-ip": address(i) },
      signal,
      respond: () => {
        challenged += 1;
        return new Promise<Uint8Array>(() => {});
      },
    }),
  );
  return { challenged: () => challenged, outcomes };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!condition()) throw new Error(`gave up waiting: ${what}`);
}

async function honestAttestation(address: string): Promise<AttestOutcome> {
  const controller = new AbortController();
  const payload = await agent.payload(controller.signal);
  return server.attest(payload, {
    metadata: { "x-forwarded-client-ip": address },
    respond: (challenge) => agent.respondToChallenge(challenge, controller.signal),
  });
}

describe("admission before work (built bundle, server-iam)", () => {
  it("300 silent aws_iam streams hold no slot: each gets its challenge, and an honest agent attests while they wait", async () => {
    const flood = new AbortController();
    const silent = await holdSilentStreams(300, (i) => `10.1.${i >> 8}.${i & 255}`, flood.signal);
    try {
      // Before the fix only 256 (the slots) got a challenge; the rest queued for the minute.
      await until("300 challenges", () => silent.challenged() === 300);
      const r = await honestAttestation("10.9.0.1");
      expect(r, r.ok ? "" : r.details).toMatchObject({ ok: true });
      expect(silent.challenged()).toBe(300);
    } finally {
      flood.abort();
      await Promise.all(silent.outcomes);
    }
  });

  it("1 MB first messages are refused before they hold anything, also while 300 silent streams wait", async () => {
    const flood = new AbortController();
    const silent = await holdSilentStreams(300, (i) => `10.2.${i >> 8}.${i & 255}`, flood.signal);
    try {
      await until("300 challenges", () => silent.challenged() === 300);
      const big = Buffer.alloc(1_000_000, 0x20);
      const refused = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          server.attest(big, { metadata: { "x-forwarded-client-ip": `10.3.0.${i}` }, signal: flood.signal }),
        ),
      );
      // Before the fix these queued behind the silent streams (no answer for a minute).
      for (const r of refused) {
        expect(r).toMatchObject({ ok: false, code: INVALID_ARGUMENT });
        if (!r.ok) expect(r.details).toContain("over the 1024-byte limit");
      }
      const r = await honestAttestation("10.9.0.2");
      expect(r, r.ok ? "" : r.details).toMatchObject({ ok: true });
    } finally {
      flood.abort();
      await Promise.all(silent.outcomes);
    }
  });

  it("one address cannot take every slot: past max_attestations_per_address (64) it gets ResourceExhausted, others attest", async () => {
    const flood = new AbortController();
    const silent = await holdSilentStreams(64, () => "10.4.0.66", flood.signal);
    try {
      await until("64 challenges", () => silent.challenged() === 64);
      const extra = await server.attest(hello, {
        metadata: { "x-forwarded-client-ip": "10.4.0.66" },
        signal: flood.signal,
        respond: () => new Promise<Uint8Array>(() => {}),
      });
      expect(extra).toMatchObject({ ok: false, code: RESOURCE_EXHAUSTED });
      if (!extra.ok) expect(extra.details).toContain("10.4.0.66");
      const r = await honestAttestation("10.9.0.3");
      expect(r, r.ok ? "" : r.details).toMatchObject({ ok: true });
    } finally {
      flood.abort();
      await Promise.all(silent.outcomes);
    }
  });
});
