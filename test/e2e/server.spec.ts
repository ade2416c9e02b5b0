/**
 * End to end, server side: the built bundle (plugin_args ["server"]) driven through SpireHost
 * the way SPIRE server drives it, against the loopback scenario fakes. AWS is reached only
 * through the SDK's own environment settings (AWS_ENDPOINT_URL, AWS_REGION); TOFU goes
 * through the real AgentStore host service on broker id 1. One plugin process serves every
 * case, as one SPIRE server process serves every agent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  MANAGEMENT_ACCOUNT,
  SCENARIO_ACCOUNT,
  type Scenario,
  startScenario,
} from "../../src/testkit/scenario";
import type { PluginLogLine } from "../../src/testkit/spire-host";
import { loadPlugin, type SpireHost } from "../../src/testkit/spire-host";
import { type PrivateBundle, privateBundle } from "./bundle";

const TD = "example.org";
const OUTSIDER = "777788889999";
const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;

let bundle: PrivateBundle;
let scenario: Scenario;
let server: SpireHost;

beforeAll(async () => {
  bundle = privateBundle();
  scenario = await startScenario();
  scenario.addOrgAccount(SCENARIO_ACCOUNT);
  server = await loadPlugin({
    command: bundle.path,
    args: ["server"],
    side: "server",
    env: scenario.env(),
    trustDomain: TD,
    config: scenario.pluginData(
      `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`,
    ),
  });
});

afterAll(async () => {
  const exit = await server?.unload();
  await scenario?.close();
  bundle?.remove();
  expect(exit?.graceful).toBe(true);
  expect(exit?.deinitError).toBeUndefined();
});

beforeEach(() => {
  server.agentStore.agents.clear();
  scenario.aws.server.faults.clear();
});

function agentIdOf(i: { account: string; region: string; instanceId: string }): string {
  return `spiffe://${TD}/spire/agent/aws_iid/${i.account}/${i.region}/${i.instanceId}`;
}

/** The server's decision lines written since `from` (one per attestation). */
async function decisionsSince(from: number, expected: number): Promise<PluginLogLine[]> {
  // stderr arrives on its own pipe; the decision is written before the response but may be
  // read after it.
  const deadline = Date.now() + 5000;
  const pick = (): PluginLogLine[] =>
    server.logs.slice(from).filter((l) => l.message.startsWith("Attestation "));
  while (pick().length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return pick();
}

describe("server side of the built bundle under a SPIRE-like host", () => {
  it("accepts a member node with the exact agent ID and selectors, and logs one INFO decision", async () => {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "web-profile",
      roles: ["web-role"],
    });
    const node = scenario.addNode({
      tags: { Name: "blog", env: "prod" },
      securityGroups: [{ id: "sg-01234567", name: "blog" }],
      profileArn: profile.arn,
    });
    const from = server.logs.length;
    const r = await server.attest(node.payload);
    const i = node.instance;
    expect(r).toMatchObject({ ok: true, challenges: [] });
    if (!r.ok) return;
    expect(r.attributes).toEqual({
      spiffeId: agentIdOf(i),
      canReattest: false,
      selectorValues: [
        `account_id:${i.account}`,
        `az:${i.availabilityZone}`,
        `iamrole:arn:aws:iam::${SCENARIO_ACCOUNT}:role/web-role`,
        `image:id:${i.imageId}`,
        `instance:id:${i.instanceId}`,
        `region:${i.region}`,
        "sg:id:sg-01234567",
        "sg:name:blog",
        "tag:Name:blog",
        "tag:env:prod",
      ],
    });
    // TOFU asked the host whether the agent ID was already attested.
    expect(server.agentStore.calls.at(-1)).toBe(agentIdOf(i));

    const decisions = await decisionsSince(from, 1);
    expect(decisions).toHaveLength(1);
    const d = decisions[0]!;
    expect(d.problem).toBeUndefined();
    expect(d.level).toBe("info");
    expect(d.message).toBe("Attestation accepted");
    expect(d.fields).toMatchObject({
      account_id: i.account,
      region: i.region,
      instance_id: i.instanceId,
      agent_id: agentIdOf(i),
      decision: "accepted",
    });
    expect(d.fields.duration_ms).toMatch(/^\d+$/);
  });

  it("refuses a second attestation of an attested agent ID through the AgentStore host service (TOFU)", async () => {
    const node = scenario.addNode();
    server.agentStore.agents.add(agentIdOf(node.instance));
    const from = server.logs.length;
    const r = await server.attest(node.payload);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(PERMISSION_DENIED);
    expect(r.details).toContain("attestation data has already been used to attest an agent");
    expect(r.details).toContain(agentIdOf(node.instance));
    expect(server.agentStore.calls).toContain(agentIdOf(node.instance));
    const [d] = await decisionsSince(from, 1);
    expect(d).toMatchObject({ level: "warn", message: "Attestation rejected" });
    expect(d?.fields).toMatchObject({
      decision: "rejected",
      code: "7",
      instance_id: node.instance.instanceId,
    });
  });

  it("refuses an account outside the organization with PermissionDenied", async () => {
    const node = scenario.addNode({ account: OUTSIDER });
    const before = scenario.aws.server.calls.records.length;
    const from = server.logs.length;
    const r = await server.attest(node.payload);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(PERMISSION_DENIED);
    expect(r.details).toContain(`aws account ${OUTSIDER} is not in organization`);
    // Refused before any EC2 lookup in the outsider's account.
    const calls = scenario.aws.server.calls.records.slice(before);
    expect(calls.filter((c) => c.service === "ec2")).toEqual([]);
    const [d] = await decisionsSince(from, 1);
    expect(d).toMatchObject({ level: "warn", message: "Attestation rejected" });
    expect(d?.fields).toMatchObject({ account_id: OUTSIDER, decision: "rejected", code: "7" });
  });

  it("answers Unavailable while EC2 throttles past the retries, and accepts the next attestation", async () => {
    const node = scenario.addNode();
    const removeFault = scenario.aws.server.faults.add(
      { service: "ec2", action: "DescribeInstances" },
      { kind: "throttle" },
    );
    const before = scenario.aws.server.calls.count({ service: "ec2", outcome: "throttled" });
    const from = server.logs.length;
    const r = await server.attest(node.payload);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(UNAVAILABLE);
    expect(r.details).toMatch(/AWS throttled .*DescribeInstances.* the agent will retry/);
    // The SDK retried before giving up.
    expect(
      scenario.aws.server.calls.count({ service: "ec2", outcome: "throttled" }) - before,
    ).toBeGreaterThan(1);
    const [d] = await decisionsSince(from, 1);
    expect(d).toMatchObject({ level: "warn", message: "Attestation rejected" });
    expect(d?.fields).toMatchObject({ decision: "rejected", code: "14" });

    removeFault();
    const again = await server.attest(node.payload);
    expect(again).toMatchObject({ ok: true, attributes: { spiffeId: agentIdOf(node.instance) } });
  });

  it("writes only hclog records SPIRE parses at their level, never a secret, never stdout", async () => {
    // Make the organization role's temporary credentials exist for certain.
    expect(scenario.aws.sts.issuedCredentials().length).toBeGreaterThan(0);
    const secrets = [
      scenario.credentials.secretAccessKey,
      ...scenario.aws.sts.issuedCredentials().flatMap((c) => [c.secretAccessKey, c.sessionToken]),
    ];
    expect(server.logs.length).toBeGreaterThan(0);
    for (const line of server.logs) {
      expect(line.problem, line.raw).toBeUndefined();
      for (const secret of secrets) expect(line.raw).not.toContain(secret);
    }
    expect(server.stdoutAfterHandshake).toEqual([]);
  });
});
