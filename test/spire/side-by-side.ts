/**
 * One SPIRE binary, two NodeAttestors: SPIRE's built-in aws_iid (no plugin_cmd) or this plugin
 * (plugin_cmd = a private copy of dist/spire-aws-iid), each attesting the same real EC2 nodes
 * (test/spire/real-nodes.ts) against the same loopback fakes with the same plugin_data. Used by
 * test/spire/builtin-parity.spec.ts (same agent IDs and selectors) and the bench
 * (scripts/bench/spire-builtin.ts: wall time and AWS calls).
 *
 * With several agents they all present the same node at once: the first to reach the server
 * is accepted, the others are refused by TOFU (PermissionDenied; the agent exits). The built-in
 * accepts only documents AWS signed, and the repository holds one instance captured with every
 * form IMDS serves, so this re-attestation storm is the storm both implementations can face.
 *
 * How the built-in reaches the fakes: SPIRE's server builds its AWS clients with the AWS SDK
 * for Go v2's config.LoadDefaultConfig (pkg/server/plugin/nodeattestor/awsiid/session.go), which
 * honours AWS_ENDPOINT_URL; the agent's built-in reads IMDS at `ec2_metadata_endpoint`
 * (pkg/agent/plugin/nodeattestor/awsiid/iid.go). The server's environment also carries
 * AWS_EC2_METADATA_DISABLED=true, so neither SDK ever looks for IMDS credentials; the agent's
 * IMDS client needs it unset, and only ever talks to its explicit loopback endpoint.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallRecord } from "../../src/testkit/aws-fake/call-log";
import { FakeAws } from "../../src/testkit/aws-fake/fake-aws";
import { type FakeImds, startFakeImds } from "../../src/testkit/fake-imds";
import {
  agentIdOf,
  nodeAttestorBlock,
  type PluginCopy,
  pluginCopy,
  SpireAgent,
  SpireServer,
  selectorsOf,
  settledProcessCount,
  stopAll,
} from "./harness";
import type { RealNode } from "./real-nodes";

export type Implementation = "builtin" | "plugin";

/** The server runs in its own account and assumes this role in each node's account. */
const SERVER_ACCOUNT = "123456789012";
const DELEGATE_ROLE = "spire-server-delegate";

export interface AgentOutcome {
  outcome: "attested" | "refused";
  /** From spawning spire-agent to its SVID ("Node attestation was successful") or its exit. */
  ms: number;
}

export interface SideBySideRun {
  implementation: Implementation;
  /** The accepted agent as `spire-server agent list` shows it ("" when none was accepted). */
  agentId: string;
  selectors: string[];
  agents: AgentOutcome[];
  /** AWS calls the server made while the agents attested, by "service:Action". */
  awsCalls: Record<string, number>;
  /** From spawning the first agent to the last outcome. */
  totalMs: number;
  /** Plugin processes still running once server and agents stopped (must be none). */
  leftoverPlugins: number;
}

function countCalls(records: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[`${r.service}:${r.action}`] = (out[`${r.service}:${r.action}`] ?? 0) + 1;
  return out;
}

/** Resolves when the agent has its SVID or has exited (refused); a stuck agent fails the run. */
async function outcomeOf(agent: SpireAgent, started: number): Promise<AgentOutcome> {
  try {
    await agent.attested();
    return { outcome: "attested", ms: performance.now() - started };
  } catch (err) {
    if (agent.exitCode === undefined) throw err;
    return { outcome: "refused", ms: performance.now() - started };
  }
}

/**
 * Starts fakes, a spire-server with `implementation` and `agents` spire-agents on `node` (all at
 * once), waits for every outcome, reads `agent list`, stops everything.
 */
export async function attestSideBySide(
  implementation: Implementation,
  node: RealNode,
  options: { agents?: number; pluginSource?: string } = {},
): Promise<SideBySideRun> {
  const dir = mkdtempSync(join(tmpdir(), `spire-${implementation}-`));
  const aws = await FakeAws.start({ managementAccountId: SERVER_ACCOUNT });
  const agents: SpireAgent[] = [];
  let imds: FakeImds | undefined;
  let server: SpireServer | undefined;
  const copy: PluginCopy | undefined =
    implementation === "plugin" ? pluginCopy(dir, { source: options.pluginSource }) : undefined;
  try {
    const profile = aws.world.addInstanceProfile({
      account: node.accountId,
      name: "web",
      roles: ["web-node"],
    });
    aws.world.addInstance({
      account: node.accountId,
      region: node.region,
      instanceId: node.instanceId,
      availabilityZone: node.availabilityZone,
      imageId: node.imageId,
      instanceType: node.instanceType,
      privateIpAddress: node.privateIp,
      launchTime: node.pendingTime,
      tags: { Name: node.name, team: "blue" },
      securityGroups: [{ id: "sg-0a1b2c3d4e5f60718", name: "web" }],
      profileArn: profile.arn,
    });
    imds = await startFakeImds({ identity: node.identity });
    const creds = aws.baseCredentials(SERVER_ACCOUNT);
    const pluginData = [
      `      access_key_id = "${creds.accessKeyId}"`,
      `      secret_access_key = "${creds.secretAccessKey}"`,
      `      assume_role = "${DELEGATE_ROLE}"`,
    ].join("\n");
    server = await SpireServer.start({
      dir: join(dir, "server"),
      nodeAttestor: nodeAttestorBlock(
        "aws_iid",
        pluginData,
        copy === undefined ? undefined : { copy, args: ["server"] },
      ),
      env: aws.env(undefined, "us-east-1"),
      logLevel: "INFO",
    });
    const agentBlock = nodeAttestorBlock(
      "aws_iid",
      `      ec2_metadata_endpoint = "${imds.url}"`,
      copy === undefined ? undefined : { copy, args: ["agent"] },
    );
    const callsBefore = aws.server.calls.records.length;
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: options.agents ?? 1 }, async (_, i) => {
        const agentDir = join(dir, `agent-${i}`);
        mkdirSync(agentDir, { recursive: true });
        const agentStarted = performance.now();
        const agent = await SpireAgent.start({
          dir: agentDir,
          server: server!,
          nodeAttestor: agentBlock,
          env: { AWS_EC2_METADATA_DISABLED: undefined },
          logLevel: "INFO",
        });
        agents.push(agent);
        return outcomeOf(agent, agentStarted);
      }),
    );
    const totalMs = performance.now() - started;
    const awsCalls = countCalls(aws.server.calls.records.slice(callsBefore));
    const listed = (await server.listAgents()).find((l) =>
      agentIdOf(l).endsWith(`/${node.accountId}/${node.region}/${node.instanceId}`),
    );
    for (const a of agents) await a.stop();
    await server.stop();
    const leftoverPlugins = copy === undefined ? 0 : await settledProcessCount(copy.path);
    return {
      implementation,
      agentId: listed === undefined ? "" : agentIdOf(listed),
      selectors: listed === undefined ? [] : selectorsOf(listed),
      agents: outcomes,
      awsCalls,
      totalMs,
      leftoverPlugins,
    };
  } finally {
    await stopAll({ agents, server, fakes: [imds, aws], dir });
  }
}
