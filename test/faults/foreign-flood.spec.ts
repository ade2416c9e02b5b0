/**
 * Issue 17, item 3: validly signed documents from foreign accounts must not drain the EC2
 * quota of the server's credentials. Without assume_role every DescribeInstances is signed by
 * the server's own credentials, whatever account the document names, so EC2 throttles all of
 * them in one bucket. Before the fix lookups were paced per document account (32 accounts:
 * 32 budgets) and each "not found" was looked up three more times.
 *
 * Here 32 foreign accounts flood the server (through the real SDK to the loopback fakes, with
 * the production not-found retries) while honest nodes attest. The server's credentials must
 * make at most 10 DescribeInstances in any second, and every honest attestation succeeds.
 * The bound is the budget's arithmetic (describe-instances-batcher.ts), not a timing.
 *
 * FLOOD_REPORT=<file> appends the figures as one JSON line (for docs/security.md).
 */
import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/common/errors";
import { attestContext, warmServerPlugin } from "../../src/testkit/in-process-server";
import { rejection } from "../../src/testkit/recording";
import {
  SCENARIO_ACCOUNT,
  SCENARIO_REGION,
  type Scenario,
  type ScenarioNode,
  startScenario,
} from "../../src/testkit/scenario";

const TD = "example.org";
const FOREIGN_ACCOUNTS = 32;
const NODES_PER_ACCOUNT = 16;
const FLOOD_MS = 3_000;
const FLOOD_CONCURRENCY = 48;
const MAX_CALLS_PER_SECOND = 10;

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startScenario();
});
afterAll(async () => {
  await scenario?.close();
});

describe("a flood of foreign-account documents", () => {
  it("keeps the server's DescribeInstances within 10/s and lets every honest node attest", async () => {
    const foreign: ScenarioNode[] = [];
    for (let a = 0; a < FOREIGN_ACCOUNTS; a++) {
      const account = String(500_000_000_000 + a);
      for (let n = 0; n < NODES_PER_ACCOUNT; n++) foreign.push(scenario.addNode({ account }));
    }
    const plugin = await warmServerPlugin(scenario, {
      trustDomain: TD,
      aws: { instanceNotFoundRetries: 3, instanceNotFoundRetryDelayMs: 250 },
    });
    scenario.aws.server.calls.reset();

    const started = Date.now();
    const foreignCodes = new Map<number, number>();
    let next = 0;
    const flood = Array.from({ length: FLOOD_CONCURRENCY }, async () => {
      while (Date.now() - started < FLOOD_MS) {
        const node = foreign[next++ % foreign.length]!;
        const { code } = await rejection(plugin.attest(attestContext(node.payload)));
        foreignCodes.set(code, (foreignCodes.get(code) ?? 0) + 1);
      }
    });
    const honest = (async () => {
      const outcomes: string[] = [];
      while (Date.now() - started < FLOOD_MS) {
        const node = scenario.addNode({ account: SCENARIO_ACCOUNT, region: SCENARIO_REGION });
        try {
          const result = await plugin.attest(attestContext(node.payload));
          outcomes.push(result.spiffeId.startsWith(`spiffe://${TD}/`) ? "ok" : result.spiffeId);
        } catch (err) {
          outcomes.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return outcomes;
    })();
    const [outcomes] = await Promise.all([honest, ...flood]);
    await plugin.close();

    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o !== "ok")).toEqual([]);
    // Every foreign document is refused as not found, none accepted, none Unavailable.
    expect([...foreignCodes.keys()]).toEqual([Code.PermissionDenied]);

    const server = scenario.credentials.accessKeyId;
    const at = scenario.aws.server.calls.records
      .filter((r) => r.action === "DescribeInstances" && r.accessKeyId === server)
      .map((r) => r.at);
    const busiest = Math.max(0, ...at.map((t) => at.filter((u) => u >= t && u < t + 1_000).length));
    const report = process.env.FLOOD_REPORT;
    if (report !== undefined && report !== "") {
      const foreignTotal = [...foreignCodes.values()].reduce((a, b) => a + b, 0);
      appendFileSync(
        report,
        `${JSON.stringify({ floodMs: FLOOD_MS, foreignAttestations: foreignTotal, honest: outcomes.length, describeInstances: at.length, busiestSecond: busiest, sts: scenario.aws.server.calls.count({ service: "sts" }) })}\n`,
      );
    }
    expect(busiest).toBeLessThanOrEqual(MAX_CALLS_PER_SECOND);
    expect(scenario.aws.server.calls.count({ action: "DescribeInstances", outcome: "throttled" })).toBe(0);
  });
});
