import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeImds, startFakeImds } from "../../src/testkit/fake-imds";
import { SCENARIO_ACCOUNT, type Scenario, startScenario } from "../../src/testkit/scenario";
import { loadPlugin, type SpireHost } from "../../src/testkit/spire-host";
import { GO_BUILD_TIMEOUT_MS } from "../go-toolchain";
import { buildGoHost, type HostEvent, type HostRun, runGoHostAsync } from "../interop/go-host";
import { loadIamServer, type PrivateBundle, pluginEnv, privateBundle } from "./bundle";

const TD = "example.org";

let bundle: PrivateBundle;
let work: string;

beforeAll(() => {
  bundle = privateBundle();
  work = mkdtempSync(join(tmpdir(), "e2e-roundtrip-"));
});

afterAll(() => {
  bundle?.remove();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** The Go host with this process's environment plus `env`. */
function runGoHost(host: string, args: string[], env: Record<string, string | undefined>): Promise<HostRun> {
  return runGoHostAsync(host, args, { ...process.env, ...env });
}

describe("aws_iid: agent -> server round trip under the Go go-plugin host", () => {
  let goHost: string;
  let scenario: Scenario;
  let imds: FakeImds;

  beforeAll(async () => {
    goHost = buildGoHost();
    scenario = await startScenario();
  }, GO_BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await imds?.close();
    await scenario?.close();
  });

  it.each([
    ["with plugin_args", []],
    ["without plugin_args (sides chosen at Init)", ["-no-args"]],
  ])(
    "%s: the agent's payload is byte-compatible with SPIRE's agent and the server accepts it",
    async (_, flags) => {
      const node = scenario.addNode({ tags: { role: "db" } });
      await imds?.close();
      imds = await startFakeImds({ identity: node.identity });
      const agentConfig = join(work, "agent.hcl");
      const serverConfig = join(work, "server.hcl");
      writeFileSync(agentConfig, `ec2_metadata_endpoint = "${imds.url}"\n`);
      writeFileSync(serverConfig, scenario.pluginData());

      const run = await runGoHost(
        goHost,
        [
          "roundtrip",
          ...flags,
          "-trust-domain",
          TD,
          "-agent-config-file",
          agentConfig,
          "-server-config-file",
          serverConfig,
          "--",
          bundle.path,
        ],
        pluginEnv(scenario.env()),
      );
      const of = (name: string): HostEvent[] => run.events.filter((e) => e.event === name);
      expect(of("error"), run.stderr).toEqual([]);

      // Byte for byte what SPIRE's Go agent sends: encoding/json of its struct, in field order.
      // Spelled out here with JSON.stringify (the document has no HTML-escaped characters).
      const spirePayload = JSON.stringify({
        document: node.identity.document,
        signature: node.identity.signature,
        rsa2048: node.identity.rsa2048,
      });
      const payload = of("payload")[0];
      expect(payload?.code).toBe("OK");
      expect(Buffer.from(String(payload?.payload), "base64").toString("utf8")).toBe(spirePayload);
      expect(Buffer.from(String(payload?.payload), "base64").equals(Buffer.from(node.payload))).toBe(true);
      expect(imds.count("token")).toBe(1);

      const i = node.instance;
      expect(of("challenge")).toEqual([]);
      expect(of("attest")[0]).toMatchObject({
        code: "OK",
        spiffe_id: `spiffe://${TD}/spire/agent/aws_iid/${SCENARIO_ACCOUNT}/${i.region}/${i.instanceId}`,
        can_reattest: false,
      });
      expect(of("attest")[0]?.selector_values).toEqual(
        expect.arrayContaining([
          `instance:id:${i.instanceId}`,
          "tag:role:db",
          `account_id:${SCENARIO_ACCOUNT}`,
        ]),
      );
      expect(of("unloaded").map((e) => e.graceful)).toEqual([true, true]);
      expect(run.status).toBe(0);
    },
  );
});

describe("aws_iam: agent-iam -> server-iam round trip, SigV4 verified by the STS fake", () => {
  const ROLE_ARN = `arn:aws:iam::${SCENARIO_ACCOUNT}:role/spire-node`;
  const SESSION = "task-0123456789";
  let scenario: Scenario;
  let server: SpireHost;
  const agents: SpireHost[] = [];

  function agentHost(creds: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
  }): Promise<SpireHost> {
    return loadPlugin({
      command: bundle.path,
      args: ["agent-iam"],
      side: "agent",
      trustDomain: TD,
      config: 'region = "us-east-1"\nserver_id_header_value = "spire.example.org"',
      // Ambient credentials, as ECS/EKS/Lambda would provide them; no endpoint: the agent
      // never calls AWS itself.
      env: {
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ENDPOINT_URL: undefined,
        AWS_ENDPOINT_URL_STS: undefined,
      },
    }).then((h) => {
      agents.push(h);
      return h;
    });
  }

  beforeAll(async () => {
    scenario = await startScenario();
    scenario.aws.sts.verifySignatures = true;
    server = await loadIamServer(
      bundle,
      scenario,
      `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]\nserver_id_header_value = "spire.example.org"`,
    );
  });

  afterAll(async () => {
    for (const a of agents) expect((await a.unload()).graceful).toBe(true);
    if (server !== undefined) expect((await server.unload()).graceful).toBe(true);
    await scenario?.close();
  });

  it("accepts the agent's challenge-bound GetCallerIdentity and refuses a replay of it", async () => {
    const creds = scenario.aws.sts.issueRoleCredentials(ROLE_ARN, SESSION);
    const agent = await agentHost(creds);

    const session = await agent.aidAttestation();
    let answer: Uint8Array | undefined;
    const r = await server.attest(session.payload, {
      respond: async (challenge) => {
        answer = await session.respond(challenge);
        return answer;
      },
    });
    session.close();
    expect(r.challenges).toHaveLength(1);
    expect(r.challenges[0]).toHaveLength(32);
    expect(r).toMatchObject({
      ok: true,
      attributes: {
        spiffeId: `spiffe://${TD}/spire/agent/aws_iam/${SCENARIO_ACCOUNT}/spire-node/${SESSION}`,
        canReattest: true,
        selectorValues: [
          `account_id:${SCENARIO_ACCOUNT}`,
          `principal_arn:arn:aws:sts::${SCENARIO_ACCOUNT}:assumed-role/spire-node/${SESSION}`,
          "role:spire-node",
          `role_arn:${ROLE_ARN}`,
          `session_name:${SESSION}`,
        ],
      },
    });
    const verified = scenario.aws.server.calls.records.filter(
      (c) => c.service === "sts" && c.action === "GetCallerIdentity",
    );
    expect(verified.map((c) => [c.accessKeyId, c.outcome])).toEqual([[creds.accessKeyId, "ok"]]);

    // The same signed answer against a new attestation: its challenge is not the one signed.
    const replayed = answer;
    expect(replayed).toBeDefined();
    const replay = await server.attest(session.payload, { respond: () => replayed! });
    expect(replay).toMatchObject({ ok: false, code: 7 });
    if (!replay.ok) expect(replay.details).toMatch(/challenge/);
  });

  it("without plugin_args under the Go host: a copy named spire-aws-iam, sides chosen at Init", async () => {
    const goHost = buildGoHost();
    const iam = join(work, "spire-aws-iam");
    copyFileSync(bundle.path, iam);
    chmodSync(iam, 0o755);
    const agentConfig = join(work, "iam-agent.hcl");
    const serverConfig = join(work, "iam-server.hcl");
    writeFileSync(agentConfig, 'region = "us-east-1"\nserver_id_header_value = "spire.example.org"\n');
    writeFileSync(
      serverConfig,
      `allowed_account_ids = ["${SCENARIO_ACCOUNT}"]\nserver_id_header_value = "spire.example.org"\n`,
    );
    const session = "by-name";
    const creds = scenario.aws.sts.issueRoleCredentials(ROLE_ARN, session);
    // One environment for both plugins (the Go host's): the agent signs with the credentials,
    // the server sends the signed request to the STS fake.
    const run = await runGoHost(
      goHost,
      [
        "roundtrip",
        "-no-args",
        "-trust-domain",
        TD,
        "-agent-config-file",
        agentConfig,
        "-server-config-file",
        serverConfig,
        "--",
        iam,
      ],
      {
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_SESSION_TOKEN: creds.sessionToken,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ENDPOINT_URL: undefined,
        AWS_ENDPOINT_URL_STS: scenario.aws.url,
      },
    );
    const of = (name: string): HostEvent[] => run.events.filter((e) => e.event === name);
    expect(of("error"), run.stderr).toEqual([]);
    expect(of("init").map((e) => e.unsupported)).toEqual([[], []]);
    expect(of("challenge")).toHaveLength(1);
    expect(of("attest")[0]).toMatchObject({
      code: "OK",
      spiffe_id: `spiffe://${TD}/spire/agent/aws_iam/${SCENARIO_ACCOUNT}/spire-node/${session}`,
      can_reattest: true,
    });
    expect(of("unloaded").map((e) => e.graceful)).toEqual([true, true]);
    expect(run.status).toBe(0);
  });

  it("refuses a request STS cannot verify (agent signing with a wrong secret)", async () => {
    const creds = scenario.aws.sts.issueRoleCredentials(ROLE_ARN, "forger");
    const agent = await agentHost({ ...creds, secretAccessKey: randomBytes(20).toString("base64") });
    const session = await agent.aidAttestation();
    const r = await server.attest(session.payload, { respond: (c) => session.respond(c) });
    session.close();
    expect(r).toMatchObject({ ok: false, code: 7 });
    if (!r.ok) expect(r.details).toMatch(/SignatureDoesNotMatch/);
    expect(server.stdoutAfterHandshake).toEqual([]);
    for (const line of [...server.logs, ...agents.flatMap((a) => a.logs)]) {
      expect(line.problem, line.raw).toBeUndefined();
      expect(line.raw).not.toContain(creds.secretAccessKey);
      expect(line.raw).not.toContain(creds.sessionToken);
    }
  });
});
