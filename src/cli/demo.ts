/**
 * `spire-aws-iid demo` (and `npm run demo`): the whole aws_iid story on one machine, with no
 * AWS account. It starts loopback fakes (AWS APIs and IMDS, identity documents signed by a
 * test CA the server trusts through `aws_certificate`), launches this very file twice the way
 * SPIRE does (plugin_args ["agent"] and ["server"], through the project's SPIRE-like host),
 * and runs:
 *
 *   1. an agent in an account of the organization → accepted (agent ID, selectors, AWS calls);
 *   2. an agent in an account outside the organization → PermissionDenied, which SPIRE agent
 *      treats as final (it stops instead of retrying).
 *
 * Exit 0 only when both happen as expected. Writing to stdout is fine here: this is an operator
 * command, not the plugin. The testkit it uses is bundled but only loaded through main.ts's
 * lazy command table, never on a plugin start.
 */
import { accessSync, constants } from "node:fs";
import { basename } from "node:path";
import { COMMIT, VERSION } from "../common/build-info";
import { describeError } from "../common/errors";
import type { CallRecord } from "../testkit/aws-fake/call-log";
import { type FakeImds, startFakeImds } from "../testkit/fake-imds";
import { MANAGEMENT_ACCOUNT, SCENARIO_ACCOUNT, type Scenario, startScenario } from "../testkit/scenario";
import { loadPlugin, type PluginLogLine, type SpireHost } from "../testkit/spire-host";
import type { CliIo } from "./verify";

const TRUST_DOMAIN = "example.org";
/** An account that is not in the fake organization (the rejected case). */
export const OUTSIDER_ACCOUNT = "777788889999";
const ORG_ROLE = "spire-org-reader";
const PERMISSION_DENIED = 7;
/** Generous bounds so a stuck plugin fails the demo instead of hanging it. */
const STEP_TIMEOUT_MS = 30_000;

const USAGE = `usage: spire-aws-iid demo [--verbose] [--plugin PATH]

Runs aws_iid node attestation end to end on loopback fakes (no AWS account needed):
the agent and server sides of this plugin, launched as SPIRE launches them, attest one
node of the organization (accepted) and one from an account outside it (rejected).
  --verbose      also print every log line the two plugins wrote
  --plugin PATH  plugin executable to launch (default: this file)
Exit status 0 when the node was accepted and the outsider refused with PermissionDenied.
`;

export interface DemoOptions {
  verbose: boolean;
  plugin: string;
}

export async function runDemo(argv: string[], io: CliIo): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    io.err(`demo: ${describeError(err)}\n${USAGE}`);
    return 2;
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  const problem = launchProblem(options.plugin);
  if (problem !== undefined) {
    io.err(`demo: ${problem}\n`);
    return 1;
  }
  return new Demo(options, io).run();
}

function parseArgs(argv: readonly string[]): DemoOptions {
  const options: DemoOptions = { verbose: false, plugin: process.argv[1] ?? "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--verbose" || a === "-v") options.verbose = true;
    else if (a === "--help" || a === "-h") continue;
    else if (a === "--plugin") {
      const next = argv[i + 1];
      if (next === undefined) throw new Error("--plugin needs a path");
      options.plugin = next;
      i++;
    } else throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
  return options;
}

/** SPIRE runs plugin_cmd directly (no interpreter), so the demo insists on an executable file. */
function launchProblem(plugin: string): string | undefined {
  if (plugin === "") return "cannot tell which file to launch; pass --plugin dist/spire-aws-iid";
  if (/\.[cm]?ts$/.test(plugin)) {
    return `the demo launches the built bundle as SPIRE would, not ${basename(plugin)}: run "npm run demo" (or build, then dist/spire-aws-iid demo)`;
  }
  try {
    accessSync(plugin, constants.X_OK);
  } catch {
    return `${plugin} is not an executable file; build it with "npm run build" or pass --plugin`;
  }
  return undefined;
}

class Demo {
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly failures: string[] = [];

  constructor(
    private readonly options: DemoOptions,
    private readonly io: CliIo,
  ) {}

  async run(): Promise<number> {
    const started = performance.now();
    try {
      await this.play();
    } catch (err) {
      this.failures.push(`the demo could not run: ${describeError(err)}`);
    } finally {
      await this.cleanup();
    }
    const total = ms(performance.now() - started);
    if (this.failures.length === 0) {
      this.out(
        `\nResult: as expected — the member node was accepted and the outsider refused with PermissionDenied (${total} in all).\n`,
      );
      return 0;
    }
    this.out(`\nResult: FAILED (${total})\n`);
    for (const f of this.failures) this.out(`  - ${f}\n`);
    return 1;
  }

  private out(s: string): void {
    this.io.out(s);
  }

  private async play(): Promise<void> {
    this.out(
      `spire-aws-iid ${VERSION} (commit ${COMMIT}, node ${process.version}) demo: aws_iid node attestation on loopback fakes (no AWS account used)\n\n`,
    );

    const scenario = await startScenario();
    this.cleanups.push(() => scenario.close());
    scenario.addOrgAccount(SCENARIO_ACCOUNT);
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "web-profile",
      roles: ["web-node"],
    });
    const member = scenario.addNode({
      tags: { Name: "web-1", team: "payments" },
      securityGroups: [{ id: "sg-0a1b2c3d4e5f60718", name: "web" }],
      profileArn: profile.arn,
    });
    const outsider = scenario.addNode({ account: OUTSIDER_ACCOUNT, tags: { Name: "stray" } });

    const imds = await startFakeImds({ identity: member.identity });
    this.cleanups.push(() => imds.close());

    this.out(`Loopback fakes\n`);
    this.out(
      `  AWS APIs  ${scenario.aws.url}  (STS, EC2, IAM, Organizations; the real AWS SDK talks to them)\n`,
    );
    this.out(`  IMDS      ${imds.url}  (IMDSv2; documents signed by a test CA)\n`);
    this.out(
      `  organization: management account ${MANAGEMENT_ACCOUNT}, members ${MANAGEMENT_ACCOUNT} and ${SCENARIO_ACCOUNT}\n\n`,
    );

    const serverConfig = scenario.pluginData(
      `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "${ORG_ROLE}"\n}`,
    );
    this.out(`Plugins (${this.options.plugin}, launched as SPIRE launches them)\n`);
    const server = await this.load("server", {
      // The SDK's own settings (AWS_ENDPOINT_URL, AWS_REGION) lead the server to the fakes.
      env: scenario.env(),
      config: serverConfig,
    });
    this.out(
      `  server  plugin_args ["server"]  verify_organization via role ${ORG_ROLE} in ${MANAGEMENT_ACCOUNT}\n`,
    );
    const agent = await this.load("agent", {
      // A real agent's SDK would otherwise be told to skip IMDS by the demo's environment.
      env: { AWS_EC2_METADATA_DISABLED: undefined, AWS_EC2_METADATA_SERVICE_ENDPOINT: undefined },
      config: `ec2_metadata_endpoint = "${imds.url}/latest"`,
    });
    this.out(`  agent   plugin_args ["agent"]   ec2_metadata_endpoint = "${imds.url}/latest"\n`);

    // Configure starts loading the organization's account list in the background; let it
    // finish so the calls below are the attestation's own.
    const configureCalls = await settleOrgWarmup(scenario);
    this.out(`  AWS calls at Configure: ${formatCalls(configureCalls)}\n`);

    // 1. A node of the organization.
    this.out(
      `\n1. Node ${member.instance.instanceId} in account ${SCENARIO_ACCOUNT} (${member.instance.region}), a member of the organization\n`,
    );
    const first = await this.attestOnce(scenario, imds, agent, server);
    if (first.outcome.ok) {
      const a = first.outcome.attributes;
      this.out(`   ACCEPTED in ${ms(first.ms)}\n`);
      this.out(`   agent SPIFFE ID  ${a.spiffeId}\n`);
      this.out(
        `   selectors        ${a.selectorValues.map((s) => `aws_iid:${s}`).join("\n                    ")}\n`,
      );
      this.out(`   can_reattest     ${a.canReattest}\n`);
      const expected = `spiffe://${TRUST_DOMAIN}/spire/agent/aws_iid/${SCENARIO_ACCOUNT}/${member.instance.region}/${member.instance.instanceId}`;
      if (a.spiffeId !== expected) this.failures.push(`agent ID ${a.spiffeId}, expected ${expected}`);
      const wanted = [
        `account_id:${SCENARIO_ACCOUNT}`,
        `iamrole:${profile.roles[0]?.arn ?? ""}`,
        `instance:id:${member.instance.instanceId}`,
        "tag:team:payments",
      ];
      const missing = wanted.filter((s) => !a.selectorValues.includes(s));
      if (missing.length > 0) this.failures.push(`selectors lack ${missing.join(", ")}`);
    } else {
      this.out(`   REJECTED in ${ms(first.ms)}: ${codeName(first.outcome.code)}: ${first.outcome.details}\n`);
      this.failures.push(
        `the member node was refused (${codeName(first.outcome.code)}: ${first.outcome.details})`,
      );
    }
    this.out(`   IMDS requests by the agent: ${formatImds(first.imds)}\n`);
    this.out(`   AWS calls by the server:    ${formatCalls(first.calls)}\n`);
    this.printDecision(first.logs);

    // 2. A node of an account outside the organization: same agent, another instance.
    imds.setIdentity(outsider.identity);
    this.out(
      `\n2. Node ${outsider.instance.instanceId} in account ${OUTSIDER_ACCOUNT}, outside the organization\n`,
    );
    const second = await this.attestOnce(scenario, imds, agent, server);
    if (second.outcome.ok) {
      this.out(`   ACCEPTED in ${ms(second.ms)} as ${second.outcome.attributes.spiffeId}\n`);
      this.failures.push("the node outside the organization was accepted");
    } else {
      this.out(`   REJECTED in ${ms(second.ms)}\n`);
      this.out(`   gRPC code  ${codeName(second.outcome.code)} (${second.outcome.code})\n`);
      this.out(`   error      ${second.outcome.details}\n`);
      if (second.outcome.code !== PERMISSION_DENIED) {
        this.failures.push(
          `the outsider was refused with ${codeName(second.outcome.code)}, expected PermissionDenied`,
        );
      }
    }
    this.out(`   AWS calls by the server:    ${formatCalls(second.calls)}\n`);
    this.printDecision(second.logs);

    if (this.options.verbose) {
      for (const [name, host] of [
        ["server", server],
        ["agent", agent],
      ] as const) {
        this.out(`\n${name} plugin log (${host.logs.length} lines)\n`);
        for (const l of host.logs) this.out(`  ${formatLog(l)}\n`);
      }
    }
    const stray = [...server.stdoutAfterHandshake, ...agent.stdoutAfterHandshake];
    if (stray.length > 0) this.failures.push(`a plugin wrote to stdout after the handshake: ${stray[0]}`);
  }

  private async load(
    side: "server" | "agent",
    opts: { env: Record<string, string | undefined>; config: string },
  ): Promise<SpireHost> {
    const host = await loadPlugin({
      command: this.options.plugin,
      args: [side],
      side,
      env: opts.env,
      config: opts.config,
      trustDomain: TRUST_DOMAIN,
      startTimeoutMs: STEP_TIMEOUT_MS,
    });
    this.cleanups.push(async () => {
      const exit = await host.unload();
      if (!exit.graceful) this.failures.push(`the ${side} plugin did not exit gracefully when unloaded`);
    });
    return host;
  }

  /**
   * One attestation as SPIRE agent and server perform it: the agent plugin's unprompted payload
   * goes to the server plugin's Attest; any challenge would be relayed back (aws_iid sends none).
   */
  private async attestOnce(
    scenario: Scenario,
    imds: FakeImds,
    agent: SpireHost,
    server: SpireHost,
  ): Promise<{
    outcome: Awaited<ReturnType<SpireHost["attest"]>>;
    ms: number;
    calls: CallRecord[];
    imds: FakeImds["requests"];
    logs: PluginLogLine[];
  }> {
    const callsBefore = scenario.aws.server.calls.records.length;
    const logsBefore = server.logs.length;
    imds.resetLog();
    const t0 = performance.now();
    const signal = AbortSignal.timeout(STEP_TIMEOUT_MS);
    const session = await agent.aidAttestation();
    let outcome: Awaited<ReturnType<SpireHost["attest"]>>;
    try {
      outcome = await server.attest(session.payload, { respond: (c) => session.respond(c), signal });
    } finally {
      session.close();
    }
    const elapsed = performance.now() - t0;
    // The decision line is written just before the response; give stderr a moment to arrive.
    await waitFor(() => server.logs.slice(logsBefore).some(isDecision), 2000);
    return {
      outcome,
      ms: elapsed,
      calls: scenario.aws.server.calls.records.slice(callsBefore),
      imds: [...imds.requests],
      logs: server.logs.slice(logsBefore),
    };
  }

  private printDecision(logs: readonly PluginLogLine[]): void {
    const line = logs.find(isDecision);
    if (line === undefined) {
      this.failures.push("the server logged no decision line for the attestation");
      return;
    }
    this.out(`   server log       ${formatLog(line)}\n`);
  }

  private async cleanup(): Promise<void> {
    for (const c of this.cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        this.failures.push(`cleanup: ${describeError(err)}`);
      }
    }
  }
}

function isDecision(l: PluginLogLine): boolean {
  return l.message.startsWith("Attestation ");
}

async function settleOrgWarmup(scenario: Scenario): Promise<CallRecord[]> {
  const calls = scenario.aws.server.calls;
  await waitFor(() => calls.count({ service: "organizations", action: "ListAccounts" }) > 0, 5000);
  return [...calls.records];
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** "ec2:DescribeInstances ×1, iam:GetInstanceProfile ×1", throttled/failed calls marked. */
export function formatCalls(records: readonly CallRecord[]): string {
  if (records.length === 0) return "none";
  const counts = new Map<string, { n: number; notOk: Map<string, number> }>();
  for (const r of records) {
    const key = `${r.service}:${r.action}`;
    const entry = counts.get(key) ?? { n: 0, notOk: new Map<string, number>() };
    entry.n += 1;
    if (r.outcome !== "ok") entry.notOk.set(r.outcome, (entry.notOk.get(r.outcome) ?? 0) + 1);
    counts.set(key, entry);
  }
  return [...counts]
    .map(([key, e]) => {
      const notes = [...e.notOk]
        .map(([o, n]) => (o === "error" ? `${n} answered with an AWS error` : `${n} ${o}`))
        .join(", ");
      return `${key} ×${e.n}${notes === "" ? "" : ` (${notes})`}`;
    })
    .join(", ");
}

function formatImds(requests: FakeImds["requests"]): string {
  if (requests.length === 0) return "none";
  return requests.map((r) => `${r.method} ${r.path} → ${r.status}`).join(", ");
}

function formatLog(l: PluginLogLine): string {
  const fields = Object.entries(l.fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return `${l.level.toUpperCase()} ${l.message}${fields === "" ? "" : ` ${fields}`}`;
}

const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

function codeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`;
}
