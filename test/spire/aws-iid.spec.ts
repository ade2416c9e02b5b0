/**
 * The plugin loaded by the real spire-server and spire-agent 1.13.3 (test/spire/build.ts), as an
 * operator runs it: `NodeAttestor "aws_iid"` with plugin_cmd, plugin_checksum, plugin_args and
 * plugin_data, the agent's IMDS and the server's AWS SDK on loopback fakes. Everything is
 * asserted through SPIRE itself: its CLI (agent list, entry create, api fetch x509), its exit
 * codes and its JSON log.
 *
 * One server (aws_iid and aws_iam from the same file) serves the tests in order; each agent has
 * its own temp dir. The last test stops everything with SIGTERM and checks that no plugin
 * process is left.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeSts } from "../../src/testkit/aws-fake/sts";
import { type FakeImds, startFakeImds } from "../../src/testkit/fake-imds";
import {
  MANAGEMENT_ACCOUNT,
  SCENARIO_ACCOUNT,
  SCENARIO_REGION,
  type Scenario,
  type ScenarioNode,
  startScenario,
} from "../../src/testkit/scenario";
import {
  agentIdOf,
  freePort,
  nodeAttestorBlock,
  type PluginCopy,
  parseLogLines,
  pluginCopy,
  processesRunning,
  runCommand,
  SpireAgent,
  type SpireLogLine,
  SpireServer,
  selectorsOf,
  settledProcessCount,
  spireServerCommand,
  stopAll,
  TRUST_DOMAIN,
} from "./harness";

const OUTSIDER_ACCOUNT = "777788889999";
const ORG_ROLE = "spire-org-reader";
const IAM_ROLE = `arn:aws:iam::${SCENARIO_ACCOUNT}:role/spire-node`;

let dir: string;
let plugin: PluginCopy;
let scenario: Scenario;
let imds: FakeImds;
let server: SpireServer;
let member: ScenarioNode;
const agents: SpireAgent[] = [];

/** Plugin lines in SPIRE's log: SPIRE tags what it read from a plugin's stderr with external=true. */
const pluginLines = (logs: readonly SpireLogLine[], name: string): SpireLogLine[] =>
  logs.filter((l) => l.external === true && l.plugin_name === name);

async function startAgent(
  name: string,
  nodeAttestor: string,
  env: Record<string, string | undefined>,
): Promise<SpireAgent> {
  const agentDir = join(dir, name);
  mkdirSync(agentDir, { recursive: true });
  const agent = await SpireAgent.start({ dir: agentDir, server, nodeAttestor, env });
  agents.push(agent);
  return agent;
}

/** The agent side reads IMDS at its explicit loopback endpoint; the SDK must not be told IMDS is off. */
const IID_AGENT_ENV = { AWS_EC2_METADATA_DISABLED: undefined };

const iidAgentBlock = (): string =>
  nodeAttestorBlock("aws_iid", `      ec2_metadata_endpoint = "${imds.url}"`, {
    copy: plugin,
    args: ["agent"],
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "spire-e2e-"));
  plugin = pluginCopy(dir);
  scenario = await startScenario();
  scenario.addOrgAccount(SCENARIO_ACCOUNT);
  member = scenario.addNode({ tags: { Name: "web-1", team: "blue" } });
  imds = await startFakeImds({ identity: member.identity });

  const iid = scenario.pluginData(
    `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "${ORG_ROLE}"\n}`,
  );
  const iam = `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]\nallowed_role_arns = ["${IAM_ROLE}"]`;
  server = await SpireServer.start({
    dir: join(dir, "server"),
    nodeAttestor: [
      nodeAttestorBlock("aws_iid", iid, { copy: plugin, args: ["server"] }),
      nodeAttestorBlock("aws_iam", iam, { copy: plugin, args: ["server-iam"] }),
    ].join("\n"),
    // The SDK's own settings lead the plugin (a child of spire-server) to the fakes.
    env: { ...scenario.env(), AWS_ENDPOINT_URL_STS: scenario.aws.url },
  });
});

afterAll(() => stopAll({ agents, server, fakes: [imds, scenario], dir }));

describe("real SPIRE 1.13.3 with the plugin as NodeAttestor aws_iid", () => {
  it("attests an agent: SVID, agent list with the agent ID and selectors, a workload SVID through a plugin selector", async () => {
    // A node alias on one of the plugin's selectors, and a workload under it: this process's uid.
    await server.createEntry([
      "-node",
      "-spiffeID",
      `spiffe://${TRUST_DOMAIN}/node/team-blue`,
      "-selector",
      "aws_iid:tag:team:blue",
    ]);
    await server.createEntry([
      "-parentID",
      `spiffe://${TRUST_DOMAIN}/node/team-blue`,
      "-spiffeID",
      `spiffe://${TRUST_DOMAIN}/workload/blue`,
      "-selector",
      `unix:uid:${process.getuid?.() ?? 0}`,
    ]);

    const agent = await startAgent("member", iidAgentBlock(), IID_AGENT_ENV);
    await agent.attested();

    const agentId = `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iid/${SCENARIO_ACCOUNT}/${SCENARIO_REGION}/${member.instance.instanceId}`;
    const listed = (await server.listAgents()).find((a) => agentIdOf(a) === agentId);
    expect(listed?.attestation_type).toBe("aws_iid");
    expect(listed?.can_reattest ?? false).toBe(false);
    expect(selectorsOf(listed!)).toEqual(
      expect.arrayContaining([
        `aws_iid:az:${member.instance.availabilityZone}`,
        `aws_iid:image:id:${member.instance.imageId}`,
        `aws_iid:instance:id:${member.instance.instanceId}`,
        `aws_iid:region:${SCENARIO_REGION}`,
        "aws_iid:tag:Name:web-1",
        "aws_iid:tag:team:blue",
      ]),
    );

    // The agent syncs its entries after attesting; poll its Workload API until the SVID is there.
    let fetched = await agent.fetchX509();
    for (let i = 0; i < 60 && !fetched.stdout.includes("/workload/blue"); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      fetched = await agent.fetchX509();
    }
    expect(fetched.stderr).toBe("");
    expect(fetched.stdout).toContain(`spiffe://${TRUST_DOMAIN}/workload/blue`);

    // The plugin's decision line, in SPIRE's log at its level with its fields.
    const accepted = pluginLines(server.logs, "aws_iid").find((l) => l.msg === "Attestation accepted");
    expect(accepted).toMatchObject({
      level: "info",
      plugin_type: "NodeAttestor",
      decision: "accepted",
      instance_id: member.instance.instanceId,
    });
  });

  it("refuses the same instance attesting again (TOFU); the agent exits with the plugin's message", async () => {
    const again = await startAgent("member-again", iidAgentBlock(), IID_AGENT_ENV);
    expect(await again.exited()).not.toBe(0);
    const message = "attestation data has already been used to attest an agent";
    expect(again.tail(400)).toContain(message);
    const rejected = pluginLines(server.logs, "aws_iid").filter((l) => l.msg === "Attestation rejected");
    expect(rejected.at(-1)).toMatchObject({ level: "warning", decision: "rejected" });
    expect(String(rejected.at(-1)?.reason)).toContain(message);
  });

  it("refuses a node of an account outside the organization; the agent exits with the plugin's message", async () => {
    const outsider = scenario.addNode({ account: OUTSIDER_ACCOUNT, tags: { team: "blue" } });
    imds.setIdentity(outsider.identity);
    const agent = await startAgent("outsider", iidAgentBlock(), IID_AGENT_ENV);
    expect(await agent.exited()).not.toBe(0);
    const rejected = pluginLines(server.logs, "aws_iid")
      .filter((l) => l.msg === "Attestation rejected")
      .at(-1);
    expect(rejected?.account_id ?? rejected?.reason).toBeDefined();
    expect(String(rejected?.reason)).toContain(OUTSIDER_ACCOUNT);
    expect(agent.logs.some((l) => JSON.stringify(l).includes(String(rejected?.reason)))).toBe(true);
    expect((await server.listAgents()).map(agentIdOf).some((id) => id.includes(OUTSIDER_ACCOUNT))).toBe(
      false,
    );
    imds.setIdentity(member.identity);
  });

  it("aws_iam: an agent with static role credentials attests through STS on a loopback fake", async () => {
    const sts: FakeSts = scenario.aws.sts;
    const creds = sts.issueRoleCredentials(IAM_ROLE, "i-0fedcba9876543210");
    const agent = await startAgent(
      "iam",
      nodeAttestorBlock("aws_iam", `      region = "${SCENARIO_REGION}"`, {
        copy: plugin,
        args: ["agent-iam"],
      }),
      {
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
      },
    );
    await agent.attested();
    const agentId = `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iam/${SCENARIO_ACCOUNT}/spire-node/i-0fedcba9876543210`;
    const listed = (await server.listAgents()).find((a) => agentIdOf(a) === agentId);
    expect(listed?.attestation_type).toBe("aws_iam");
    expect(selectorsOf(listed!)).toEqual(
      expect.arrayContaining([
        `aws_iam:account_id:${SCENARIO_ACCOUNT}`,
        "aws_iam:role:spire-node",
        `aws_iam:role_arn:${IAM_ROLE}`,
        "aws_iam:session_name:i-0fedcba9876543210",
      ]),
    );
    expect(scenario.aws.server.calls.count({ service: "sts", action: "GetCallerIdentity" })).toBeGreaterThan(
      0,
    );
  });

  it("invalid plugin_data: spire-server run fails with the plugin's message; check-config finds it before", async () => {
    const badDir = join(dir, "bad-server");
    const config = SpireServer.writeConfig(
      {
        dir: badDir,
        nodeAttestor: nodeAttestorBlock("aws_iid", `${scenario.pluginData()}\nverify_organisation {}`, {
          copy: plugin,
          args: ["server"],
        }),
      },
      await freePort(),
    );
    const message = 'unknown key "verify_organisation", did you mean verify_organization?';
    const run = await spireServerCommand(["run", "-config", config]);
    expect(run.status).not.toBe(0);
    const failed = parseLogLines(run.stdout + run.stderr).find((l) => l.msg === "Failed to configure plugin");
    expect(failed).toMatchObject({ level: "error", plugin_name: "aws_iid", plugin_type: "NodeAttestor" });
    expect(String(failed?.error)).toContain(
      `code = InvalidArgument desc = invalid configuration:\nAt 41:1: ${message}`,
    );
    // SPIRE 1.13.3's `validate` only parses the file and loads no plugin
    // (cmd/spire-server/cli/validate/validate.go), so it cannot see plugin_data problems; the
    // plugin's own check-config reads the same server.conf and can.
    const validate = await spireServerCommand(["validate", "-config", config]);
    expect(validate.stdout).toContain("SPIRE server configuration file is valid.");
    const check = await runCommand(plugin.path, ["check-config", "server", config]);
    expect(check.status).toBe(1);
    expect(check.stdout + check.stderr).toContain(message);
  });

  it("SIGTERM to the agents and the server ends every plugin process", async () => {
    expect(processesRunning(plugin.path).length).toBeGreaterThanOrEqual(3);
    for (const a of agents) await a.stop();
    expect(await server.stop()).toBe(0);
    expect(await settledProcessCount(plugin.path)).toBe(0);
    expect(
      pluginLines(server.logs, "aws_iid").some((l) => l.msg === "plugin failed to exit gracefully"),
    ).toBe(false);
  });
});
