/**
 * One SPIRE binary, two NodeAttestors: SPIRE's built-in aws_iid (no plugin_cmd) or this plugin
 * (plugin_cmd = a private copy of dist/spire-aws-iid), each attesting the same real EC2 nodes
 * (test/spire/real-nodes.ts) against the same loopback fakes with the same plugin_data. Used by
 * test/spire/builtin-parity.spec.ts (same agent IDs and selectors) and the bench
 * (scripts/bench/spire-builtin.ts: wall time and AWS calls).
 *
 * How the built-in reaches the fakes: SPIRE's server builds its AWS clients with the AWS SDK
 * for Go v2's config.LoadDefaultConfig (pkg/server/plugin/nodeattestor/awsiid/session.go), which
 * honours AWS_ENDPOINT_URL; the agent's built-in reads IMDS at `ec2_metadata_endpoint`
 * (pkg/agent/plugin/nodeattestor/awsiid/iid.go). The server's environment also carries
 * AWS_EC2_METADATA_DISABLED=true, so neither SDK ever looks for IMDS credentials; the agent's
 * IMDS client needs it unset, and only ever talks to its explicit loopback endpoint.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
} from "./harness";
import type { RealNode } from "./real-nodes";

export type Implementation = "builtin" | "plugin";

/** The server runs in its own account and assumes this role in each node's account. */
const SERVER_ACCOUNT = "123456789012";
const DELEGATE_ROLE = "spire-server-delegate";

export interface AttestedNode {
  node: string;
  agentId: string;
  selectors: string[];
  /** From spawning spire-agent to SPIRE logging "Node attestation was successful". */
  ms: number;
}

export interface SideBySideRun {
  implementation: Implementation;
  nodes: AttestedNode[];
  /** AWS calls the server made while the agents attested, by "service:Action". */
  awsCalls: Record<string, number>;
  /** From spawning the first agent to the last one attested. */
  totalMs: number;
  /** Plugin processes still running once server and agents stopped (must be none). */
  leftoverPlugins: number;
}

function countCalls(records: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[`${r.service}:${r.action}`] = (out[`${r.service}:${r.action}`] ?? 0) + 1;
  return out;
}

/**
 * Starts fakes, a spire-server with `implementation` and one spire-agent per node (all at once),
 * waits until every agent has its SVID, reads `agent list`, stops everything.
 */
export async function attestSideBySide(
  implementation: Implementation,
  nodes: readonly RealNode[],
  options: { pluginSource?: string } = {},
): Promise<SideBySideRun> {
  const dir = mkdtempSync(join(tmpdir(), `spire-${implementation}-`));
  const aws = await FakeAws.start({ managementAccountId: SERVER_ACCOUNT });
  const imdses: FakeImds[] = [];
  const agents: SpireAgent[] = [];
  let server: SpireServer | undefined;
  const copy: PluginCopy | undefined =
    implementation === "plugin" ? pluginCopy(dir, options.pluginSource) : undefined;
  try {
    for (const n of nodes) {
      const profile = aws.world.addInstanceProfile({
        account: n.accountId,
        name: "web",
        roles: ["web-node"],
      });
      aws.world.addInstance({
        account: n.accountId,
        region: n.region,
        instanceId: n.instanceId,
        availabilityZone: n.availabilityZone,
        imageId: n.imageId,
        instanceType: n.instanceType,
        privateIpAddress: n.privateIp,
        launchTime: n.pendingTime,
        tags: { Name: n.name, team: "blue" },
        securityGroups: [{ id: "sg-0a1b2c3d4e5f60718", name: "web" }],
        profileArn: profile.arn,
      });
      imdses.push(await startFakeImds({ identity: n.identity }));
    }
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
    const callsBefore = aws.server.calls.records.length;
    const started = performance.now();
    const attested = await Promise.all(
      nodes.map(async (n, i) => {
        const agentDir = join(dir, `agent-${i}`);
        mkdirSync(agentDir, { recursive: true });
        const agentStarted = performance.now();
        const agent = await SpireAgent.start({
          dir: agentDir,
          server: server!,
          nodeAttestor: nodeAttestorBlock(
            "aws_iid",
            `      ec2_metadata_endpoint = "${imdses[i]!.url}"`,
            copy === undefined ? undefined : { copy, args: ["agent"] },
          ),
          env: { AWS_EC2_METADATA_DISABLED: undefined },
          logLevel: "INFO",
        });
        agents.push(agent);
        await agent.attested();
        return { node: n.name, ms: performance.now() - agentStarted };
      }),
    );
    const totalMs = performance.now() - started;
    const awsCalls = countCalls(aws.server.calls.records.slice(callsBefore));
    const listed = await server.listAgents();
    const result: AttestedNode[] = attested.map((a, i) => {
      const n = nodes[i]!;
      const agent = listed.find((l) => agentIdOf(l).endsWith(`/${n.accountId}/${n.region}/${n.instanceId}`));
      return {
        ...a,
        agentId: agent === undefined ? "" : agentIdOf(agent),
        selectors: agent ? selectorsOf(agent) : [],
      };
    });
    for (const a of agents) await a.stop();
    await server.stop();
    const leftoverPlugins = copy === undefined ? 0 : await settledProcessCount(copy.path);
    return { implementation, nodes: result, awsCalls, totalMs, leftoverPlugins };
  } finally {
    for (const a of agents) await a.stop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    for (const i of imdses) await i.close();
    await aws.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
