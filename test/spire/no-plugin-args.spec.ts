/**
 * The README's configuration, in the real spire-server and spire-agent 1.13.3: no plugin_args
 * at all. The plugin tells server from agent by what SPIRE offers it at Init, and runs aws_iam
 * when its file is named spire-aws-iam (docs/configuration.md, "Plugin side and method").
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeImds, startFakeImds } from "../../src/testkit/fake-imds";
import { SCENARIO_ACCOUNT, SCENARIO_REGION, type Scenario, startScenario } from "../../src/testkit/scenario";
import {
  agentIdOf,
  nodeAttestorBlock,
  type PluginCopy,
  pluginCopy,
  SpireAgent,
  SpireServer,
  settledProcessCount,
  stopAll,
  TRUST_DOMAIN,
} from "./harness";

const IAM_ROLE = `arn:aws:iam::${SCENARIO_ACCOUNT}:role/spire-node`;

let dir: string;
let iid: PluginCopy;
let iam: PluginCopy;
let scenario: Scenario;
let imds: FakeImds;
let server: SpireServer;
const agents: SpireAgent[] = [];

async function startAgent(name: string, nodeAttestor: string, env: Record<string, string | undefined>) {
  const agentDir = join(dir, name);
  mkdirSync(agentDir, { recursive: true });
  const agent = await SpireAgent.start({ dir: agentDir, server, nodeAttestor, env });
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "spire-noargs-"));
  iid = pluginCopy(dir);
  iam = pluginCopy(dir, { name: "spire-aws-iam" });
  scenario = await startScenario();
  imds = await startFakeImds({ identity: scenario.addNode({ tags: { team: "blue" } }).identity });
  server = await SpireServer.start({
    dir: join(dir, "server"),
    nodeAttestor: [
      nodeAttestorBlock("aws_iid", scenario.pluginData(), { copy: iid }),
      nodeAttestorBlock("aws_iam", `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]`, { copy: iam }),
    ].join("\n"),
    env: { ...scenario.env(), AWS_ENDPOINT_URL_STS: scenario.aws.url },
  });
});

afterAll(() => stopAll({ agents, server, fakes: [imds, scenario], dir }));

describe("real SPIRE 1.13.3 with the plugin and no plugin_args", () => {
  it("aws_iid and aws_iam agents attest; SIGTERM leaves no plugin process", async () => {
    const iidAgent = await startAgent(
      "iid",
      nodeAttestorBlock("aws_iid", `      ec2_metadata_endpoint = "${imds.url}"`, { copy: iid }),
      { AWS_EC2_METADATA_DISABLED: undefined },
    );
    const creds = scenario.aws.sts.issueRoleCredentials(IAM_ROLE, "task-1");
    const iamAgent = await startAgent(
      "iam",
      nodeAttestorBlock("aws_iam", `      region = "${SCENARIO_REGION}"`, { copy: iam }),
      {
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
      },
    );
    await Promise.all([iidAgent.attested(), iamAgent.attested()]);

    const ids = (await server.listAgents()).map(agentIdOf);
    expect(ids).toHaveLength(2);
    expect(ids).toContain(
      `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iam/${SCENARIO_ACCOUNT}/spire-node/task-1`,
    );
    const iidPrefix = `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iid/${SCENARIO_ACCOUNT}/${SCENARIO_REGION}/i-`;
    expect(ids.some((id) => id.startsWith(iidPrefix))).toBe(true);
    for (const a of agents) await a.stop();
    expect(await server.stop()).toBe(0);
    expect(await settledProcessCount(iid.path)).toBe(0);
    expect(await settledProcessCount(iam.path)).toBe(0);
  });
});
