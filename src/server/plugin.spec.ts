import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import type { AgentAttributes, ServerAttestorPlugin } from "../spire/contracts";
import { attestContext, inProcessServerPlugin } from "../testkit/in-process-server";
import { type LogLine, recordingLogger, rejection } from "../testkit/recording";
import { MANAGEMENT_ACCOUNT, SCENARIO_ACCOUNT, type Scenario, startScenario } from "../testkit/scenario";

const TD = "example.org";

let scenario: Scenario;
let attested: Set<string>;
let logs: LogLine[];
let plugin: ServerAttestorPlugin;

function newPlugin(): ServerAttestorPlugin {
  return inProcessServerPlugin(scenario, {
    agentStore: { agentExists: async (id) => attested.has(id) },
    logger: recordingLogger(logs),
  });
}

const attestCtx = attestContext;

async function configure(extra = ""): Promise<void> {
  await plugin.configure({ trustDomain: TD }, scenario.pluginData(extra));
}

beforeAll(async () => {
  scenario = await startScenario();
});
afterAll(async () => {
  await scenario.close();
});
beforeEach(() => {
  attested = new Set();
  logs = [];
  plugin = newPlugin();
});

describe("server attestor: accepted nodes", () => {
  it("gives SPIRE's default agent ID and exactly SPIRE's selectors", async () => {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "web-profile",
      roles: ["web-role"],
    });
    const node = scenario.addNode({
      tags: { Name: "blog", "aws:autoscaling:groupName": "web-asg" },
      securityGroups: [{ id: "sg-01234567", name: "blog" }],
      profileArn: profile.arn,
    });
    await configure();
    const attributes: AgentAttributes = await plugin.attest(attestCtx(node.payload));
    const i = node.instance;
    expect(attributes.spiffeId).toBe(
      `spiffe://${TD}/spire/agent/aws_iid/${i.account}/${i.region}/${i.instanceId}`,
    );
    expect(attributes.canReattest).toBe(false);
    expect(attributes.selectorValues).toEqual([
      `account_id:${i.account}`,
      `az:${i.availabilityZone}`,
      `iamrole:arn:aws:iam::${SCENARIO_ACCOUNT}:role/web-role`,
      `image:id:${i.imageId}`,
      `instance:id:${i.instanceId}`,
      `region:${i.region}`,
      "sg:id:sg-01234567",
      "sg:name:blog",
      "tag:Name:blog",
      "tag:aws:autoscaling:groupName:web-asg",
    ]);
    const decision = logs.find((l) => l.message === "Attestation accepted");
    expect(decision?.level).toBe("info");
    expect(decision?.fields).toMatchObject({ instance_id: i.instanceId, agent_id: attributes.spiffeId });
  });

  it("takes a short instance profile ARN as SPIRE does, and refuses an unusable one with SPIRE's Internal", async () => {
    scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "test-profile",
      roles: ["short-role"],
    });
    await configure();
    const short = scenario.addNode({ profileArn: "arn:aws::::instance-profile/test-profile" });
    const attributes = await plugin.attest(attestCtx(short.payload));
    expect(attributes.selectorValues).toContain(`iamrole:arn:aws:iam::${SCENARIO_ACCOUNT}:role/short-role`);
    const bad = scenario.addNode({
      profileArn: "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/x",
    });
    const r = await rejection(plugin.attest(attestCtx(bad.payload)));
    expect(r.code).toBe(Code.Internal);
    expect(r.message).toMatch(/^arn is not for an instance profile: /);
  });

  it("renders agent_path_template with tags", async () => {
    const node = scenario.addNode({ tags: { Hostname: "web-1" } });
    await configure('agent_path_template = "/{{ .PluginName }}/{{ .Tags.Hostname }}"');
    const attributes = await plugin.attest(attestCtx(node.payload));
    expect(attributes.spiffeId).toBe(`spiffe://${TD}/spire/agent/aws_iid/web-1`);
  });

  it("accepts the agent's address with verify_client_ip", async () => {
    const node = scenario.addNode({ publicIpAddress: "203.0.113.7" });
    await configure("verify_client_ip = true");
    await expect(plugin.attest(attestCtx(node.payload, "203.0.113.7"))).resolves.toBeDefined();
  });

  it("accepts a member of the organization (API mode through the management role)", async () => {
    scenario.addOrgAccount(SCENARIO_ACCOUNT);
    const node = scenario.addNode();
    await configure(
      `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`,
    );
    await expect(plugin.attest(attestCtx(node.payload))).resolves.toBeDefined();
  });
});

describe("server attestor: Configure log", () => {
  it("names SPIRE's permissive defaults as hints on its one INFO line, with no WARN", async () => {
    await configure();
    expect(logs.filter((l) => l.level === "warn")).toEqual([]);
    const line = logs.find((l) => l.message === "Configured aws_iid server attestor");
    expect(line?.level).toBe("info");
    expect(String(line?.fields.hints)).toMatch(
      /^require_rsa2048_signature is off: .*; max_launch_age is not set: /,
    );
  });

  it("has no hints once the operator closed those doors", async () => {
    await configure('require_rsa2048_signature = true\nmax_launch_age = "10m"');
    const line = logs.find((l) => l.message === "Configured aws_iid server attestor");
    expect(line?.fields).not.toHaveProperty("hints");
  });
});

describe("server attestor: rejections carry the code the agent acts on", () => {
  it("answers FailedPrecondition before Configure", async () => {
    const node = scenario.addNode();
    expect(await rejection(plugin.attest(attestCtx(node.payload)))).toMatchObject({
      code: Code.FailedPrecondition,
      message: "not configured",
    });
  });

  it("refuses a malformed payload with InvalidArgument", async () => {
    await configure();
    const r = await rejection(plugin.attest(attestCtx(Buffer.from("{not json"))));
    expect(r.code).toBe(Code.InvalidArgument);
    expect(r.message).toMatch(/failed to unmarshal the attestation data/);
  });

  it("takes a payload of exactly 64 KiB and refuses 64 KiB + 1 byte before parsing it", async () => {
    // Literal sizes, not MAX_PAYLOAD_BYTES: a cap grown by mistake must fail this test.
    const node = scenario.addNode();
    await configure();
    const padded = (size: number): Buffer => {
      const json = Buffer.from(node.payload).toString("utf8");
      return Buffer.from(json.replace(/}\s*$/, `${" ".repeat(size - Buffer.byteLength(json))}}`), "utf8");
    };
    expect(padded(64 * 1024).length).toBe(65_536);
    await expect(plugin.attest(attestCtx(padded(64 * 1024)))).resolves.toBeDefined();
    const r = await rejection(plugin.attest(attestCtx(padded(64 * 1024 + 1))));
    expect(r.code).toBe(Code.InvalidArgument);
    expect(r.message).toMatch(/attestation payload too large: 65537 bytes/);
  });

  it("refuses a document changed after signing", async () => {
    const node = scenario.addNode();
    await configure();
    const forged = Buffer.from(
      Buffer.from(node.payload).toString("utf8").replace(SCENARIO_ACCOUNT, "000000000000"),
      "utf8",
    );
    expect((await rejection(plugin.attest(attestCtx(forged)))).code).toBe(Code.PermissionDenied);
  });

  it("refuses reuse of attestation data (TOFU) and names the agent ID", async () => {
    const node = scenario.addNode();
    await configure();
    const first = await plugin.attest(attestCtx(node.payload));
    attested.add(first.spiffeId);
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toContain("attestation data has already been used to attest an agent");
    expect(r.message).toContain(first.spiffeId);
  });

  it("refuses a stopped instance, which SPIRE accepts with the block-device check off", async () => {
    const node = scenario.addNode({ state: "stopped" });
    await configure("skip_block_device = true");
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toMatch(/stopped/);
  });

  it("refuses an instance EC2 does not know", async () => {
    const node = scenario.addNode();
    scenario.aws.world.setInstanceState(node.instance.instanceId, "terminated");
    await configure();
    expect((await rejection(plugin.attest(attestCtx(node.payload)))).code).toBe(Code.PermissionDenied);
  });

  it("answers Unavailable while EC2 throttles, so the agent retries", async () => {
    const node = scenario.addNode();
    await configure('aws_call_timeout = "3s"');
    const remove = scenario.aws.server.faults.add(
      { service: "ec2", action: "DescribeInstances" },
      { kind: "throttle" },
    );
    try {
      expect((await rejection(plugin.attest(attestCtx(node.payload)))).code).toBe(Code.Unavailable);
    } finally {
      remove();
    }
    // The process and the plugin are fine: the next attestation succeeds.
    await expect(plugin.attest(attestCtx(node.payload))).resolves.toBeDefined();
  });

  it("refuses the legacy signature when require_rsa2048_signature is on", async () => {
    const node = scenario.addNode({ forms: ["signature"] });
    await configure("require_rsa2048_signature = true");
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toMatch(/rsa2048/);
  });

  it("refuses a region outside allowed_regions and an account outside allowed_account_ids", async () => {
    const node = scenario.addNode();
    await configure('allowed_regions = ["eu-west-1"]');
    expect((await rejection(plugin.attest(attestCtx(node.payload)))).message).toMatch(/allowed_regions/);
    await configure('allowed_account_ids = ["000011112222"]');
    expect((await rejection(plugin.attest(attestCtx(node.payload)))).message).toMatch(/allowed_account_ids/);
  });

  it("refuses a document launched longer ago than max_launch_age", async () => {
    const node = scenario.addNode({ pendingTime: new Date(Date.now() - 3_600_000) });
    await configure('max_launch_age = "5m"');
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
  });

  it("names the missing tag an agent_path_template needs", async () => {
    const node = scenario.addNode();
    await configure('agent_path_template = "/{{ .Tags.Hostname }}"');
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toContain('map has no entry for key "Hostname"');
  });

  it("refuses an agent address that is not the instance's with verify_client_ip", async () => {
    const node = scenario.addNode({ publicIpAddress: "203.0.113.8" });
    await configure("verify_client_ip = true");
    const r = await rejection(plugin.attest(attestCtx(node.payload, "198.51.100.1")));
    expect(r.code).toBe(Code.PermissionDenied);
  });

  it("refuses a root volume attached long after the primary network interface", async () => {
    const launch = new Date(Date.now() - 600_000);
    const node = scenario.addNode({
      launchTime: launch,
      rootVolumeAttachTime: new Date(launch.getTime() + 120_000),
    });
    await configure();
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toMatch(/attach times differ/);
  });

  it("refuses an account outside the organization and says why", async () => {
    const node = scenario.addNode({ account: "777788889999" });
    await configure(
      `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`,
    );
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toMatch(/not in organization|not part of/);
  });

  it("refuses a node whose account's assume_role cannot be assumed", async () => {
    const node = scenario.addNode();
    scenario.aws.sts.deniedRoles.add(`arn:aws:iam::${SCENARIO_ACCOUNT}:role/denied-role`);
    await configure('assume_role = "denied-role"');
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toContain("denied-role");
  });

  it("refuses a node outside the configured EKS clusters", async () => {
    const node = scenario.addNode();
    await configure('validate_eks_cluster_membership {\n  eks_cluster_names = ["prod"]\n}');
    const r = await rejection(plugin.attest(attestCtx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toMatch(/EKS cluster/);
  });
});

describe("server attestor: configuration", () => {
  it("keeps the previous configuration when a reconfigure fails", async () => {
    const node = scenario.addNode();
    await configure();
    await expect(configure("verify_organisation {}")).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(plugin.attest(attestCtx(node.payload))).resolves.toBeDefined();
  });

  describe("refuses unreadable files quickly and keeps the previous configuration", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "bounded-files-"));
      execFileSync("mkfifo", [join(dir, "fifo")]);
      writeFileSync(join(dir, "huge"), "");
      truncateSync(join(dir, "huge"), 64 * 1024 * 1024 * 1024); // sparse: no disk used
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const cases: [string, () => string, RegExp][] = [
      ["/dev/zero", () => "/dev/zero", /is not a regular file \(it is a character device\)/],
      ["a FIFO with no writer", () => join(dir, "fifo"), /is not a regular file \(it is a FIFO\)/],
      ["a directory", () => dir, /is not a regular file \(it is a directory\)/],
      ["a sparse 64 GiB file", () => join(dir, "huge"), /is larger than \d+ bytes/],
    ];
    const blocks: [string, (path: string) => string][] = [
      [
        "aws_certificate pem_path",
        (p) => `aws_certificate {\n region = "us-east-1"\n kind = "rsa"\n pem_path = "${p}"\n}`,
      ],
      ["account_list_file", (p) => `verify_organization {\n account_list_file = "${p}"\n}`],
    ];
    for (const [block, hcl] of blocks) {
      it.each(cases)(`${block} naming %s`, async (_, path, message) => {
        const node = scenario.addNode();
        await configure();
        const r = await rejection(configure(hcl(path())));
        expect(r.code).toBe(Code.InvalidArgument);
        expect(r.message).toMatch(message);
        await expect(plugin.attest(attestCtx(node.payload))).resolves.toBeDefined();
      });
    }
  });

  it("suggests the nearest key for a typo that would silently disable a check in SPIRE", async () => {
    const r = await rejection(configure("verify_organisation {}"));
    expect(r.message).toContain("verify_organization");
  });

  it("validates without a prior configure, with positioned notes", async () => {
    const ok = await plugin.validate({ trustDomain: TD }, scenario.pluginData());
    expect(ok.valid).toBe(true);
    const bad = await plugin.validate({ trustDomain: TD }, 'partition = "aws-moon"');
    expect(bad.valid).toBe(false);
    expect(bad.notes.join("\n")).toMatch(/At 1:\d+/);
  });

  it("requires a trust domain", async () => {
    const r = await rejection(plugin.configure({ trustDomain: "" }, ""));
    expect(r).toMatchObject({
      code: Code.InvalidArgument,
      message: "invalid configuration:\nserver core configuration must contain trust_domain",
    });
  });

  it("never echoes the secret access key", async () => {
    const secret = scenario.credentials.secretAccessKey;
    const r = await rejection(
      plugin.configure({ trustDomain: TD }, `secret_access_key = "${secret}"\nbogus = 1`),
    );
    expect(r.message).not.toContain(secret);
    await configure();
    const node = scenario.addNode({ state: "stopped" });
    await rejection(plugin.attest(attestCtx(node.payload)));
    expect(JSON.stringify(logs)).not.toContain(secret);
  });
});
