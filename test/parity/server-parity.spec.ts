/**
 * SPIRE aws_iid behaviours that no other spec pins down, each named in docs/parity.md.
 * In-process: the real server plugin against the loopback AWS fakes (startScenario).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Code, PluginError } from "../../src/common/errors";
import { encodeAttestationPayload } from "../../src/iid/payload";
import type { AgentStore, ServerAttestorPlugin } from "../../src/spire/contracts";
import { attestContext, inProcessServerPlugin } from "../../src/testkit/in-process-server";
import { rejection } from "../../src/testkit/recording";
import {
  MANAGEMENT_ACCOUNT,
  OTHER_ACCOUNT,
  SCENARIO_ACCOUNT,
  type Scenario,
  startScenario,
} from "../../src/testkit/scenario";

const TD = "example.org";

let scenario: Scenario;
let attested: Set<string>;

/** `null`: a host that does not serve AgentStore. */
function newPlugin(store?: AgentStore | null): ServerAttestorPlugin {
  return inProcessServerPlugin(scenario, {
    agentStore: store === null ? null : (store ?? { agentExists: async (id) => attested.has(id) }),
  });
}

const ctx = attestContext;

async function configured(
  extra = "",
  plugin: ServerAttestorPlugin = newPlugin(),
): Promise<ServerAttestorPlugin> {
  await plugin.configure({ trustDomain: TD }, scenario.pluginData(extra));
  return plugin;
}

/** A node whose root volume was attached 120 s after ENI 0: SPIRE's anti-tampering check fails. */
function tamperedNode(account?: string): ReturnType<Scenario["addNode"]> {
  const launch = new Date(Date.now() - 600_000);
  return scenario.addNode({
    ...(account === undefined ? {} : { account }),
    launchTime: launch,
    rootVolumeAttachTime: new Date(launch.getTime() + 120_000),
  });
}

beforeAll(async () => {
  scenario = await startScenario();
});
afterAll(async () => {
  await scenario.close();
});
beforeEach(() => {
  attested = new Set();
});

describe("parity: configuration keys", () => {
  it("skip_block_device turns the root-volume/ENI attach-time check off", async () => {
    const node = tamperedNode();
    expect((await rejection((await configured()).attest(ctx(node.payload)))).message).toMatch(
      /attach times differ by 120 seconds/,
    );
    await expect(
      (await configured("skip_block_device = true")).attest(ctx(node.payload)),
    ).resolves.toMatchObject({ canReattest: false });
  });

  it("account_ids_for_local_validation skips the block-device check for listed accounts and is no allow list", async () => {
    const plugin = await configured(`account_ids_for_local_validation = ["${SCENARIO_ACCOUNT}"]`);
    await expect(plugin.attest(ctx(tamperedNode().payload))).resolves.toBeDefined();
    // An account that is not listed still attests (SPIRE #4770: users read it as an allow list).
    const other = await configured('account_ids_for_local_validation = ["000011112222"]');
    await expect(other.attest(ctx(scenario.addNode().payload))).resolves.toBeDefined();
    // ...and keeps the block-device check.
    expect((await rejection(other.attest(ctx(tamperedNode().payload)))).code).toBe(Code.PermissionDenied);
  });

  it("disable_instance_profile_selectors: no iam:GetInstanceProfile call and no iamrole: selectors", async () => {
    const profile = scenario.aws.world.addInstanceProfile({
      account: SCENARIO_ACCOUNT,
      name: "parity-profile",
      roles: ["parity-role"],
    });
    const calls = (): number =>
      scenario.aws.server.calls.count({ service: "iam", action: "GetInstanceProfile" });
    const on = await configured();
    const with1 = await on.attest(ctx(scenario.addNode({ profileArn: profile.arn }).payload));
    expect(with1.selectorValues).toContain(`iamrole:arn:aws:iam::${SCENARIO_ACCOUNT}:role/parity-role`);
    const before = calls();
    const off = await configured("disable_instance_profile_selectors = true");
    const without = await off.attest(ctx(scenario.addNode({ profileArn: profile.arn }).payload));
    expect(without.selectorValues.filter((s) => s.startsWith("iamrole:"))).toEqual([]);
    expect(calls()).toBe(before);
  });

  it("assume_role reaches a node in another account; without it that node is not found", async () => {
    const node = scenario.addNode({ account: OTHER_ACCOUNT });
    const r = await rejection((await configured()).attest(ctx(node.payload)));
    expect(r.code).toBe(Code.PermissionDenied);
    expect(r.message).toContain("assume_role");
    const assumed = scenario.aws.server.calls.count({ service: "sts", action: "AssumeRole" });
    const attrs = await (await configured('assume_role = "spire-reader"')).attest(ctx(node.payload));
    expect(attrs.spiffeId).toBe(
      `spiffe://${TD}/spire/agent/aws_iid/${OTHER_ACCOUNT}/us-west-2/${node.instance.instanceId}`,
    );
    expect(scenario.aws.server.calls.count({ service: "sts", action: "AssumeRole" })).toBeGreaterThan(
      assumed,
    );
  });

  it("verify_organization assumes its role with the base credentials, not through assume_role", async () => {
    scenario.addOrgAccount(SCENARIO_ACCOUNT);
    const from = scenario.aws.server.calls.records.length;
    const plugin = await configured(
      `assume_role = "spire-reader"\nverify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`,
    );
    await plugin.attest(ctx(scenario.addNode().payload));
    const assumeCalls = scenario.aws.server.calls.records
      .slice(from)
      .filter((r) => r.service === "sts" && r.action === "AssumeRole");
    // One for the node's account (assume_role), one for the management account (assume_org_role).
    expect(assumeCalls.length).toBeGreaterThanOrEqual(2);
    // Every AssumeRole was signed with the static keys, none with assumed-role (ASIA…) keys.
    expect(new Set(assumeCalls.map((r) => r.accessKeyId))).toEqual(
      new Set([scenario.credentials.accessKeyId]),
    );
  });

  it("a Configure call resets the organization cache (the next attestation lists accounts again)", async () => {
    scenario.addOrgAccount(SCENARIO_ACCOUNT);
    const org = `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`;
    const plugin = await configured(org);
    await plugin.attest(ctx(scenario.addNode().payload));
    const listed = scenario.aws.server.calls.count({ service: "organizations", action: "ListAccounts" });
    await configured(org, plugin);
    await plugin.attest(ctx(scenario.addNode().payload));
    expect(
      scenario.aws.server.calls.count({ service: "organizations", action: "ListAccounts" }),
    ).toBeGreaterThan(listed);
  });
});

describe("parity: payload steps (SPIRE flow steps 0-5)", () => {
  it("an empty payload is InvalidArgument 'payload cannot be empty'", async () => {
    expect(await rejection((await configured()).attest(ctx(new Uint8Array())))).toEqual({
      code: Code.InvalidArgument,
      message: "payload cannot be empty",
    });
  });

  it("a payload with neither signature is InvalidArgument with SPIRE's message", async () => {
    const node = scenario.addNode();
    const bare = encodeAttestationPayload({ document: node.identity.document, signature: "", rsa2048: "" });
    expect(await rejection((await configured()).attest(ctx(bare)))).toEqual({
      code: Code.InvalidArgument,
      message: "instance identity cryptographic signature is required",
    });
  });
});

describe("parity: TOFU through the AgentStore host service (step 14)", () => {
  it("passes the host's code through with SPIRE's 'unable to get agent info' prefix", async () => {
    const store: AgentStore = {
      agentExists: async () => {
        throw new PluginError(Code.FailedPrecondition, "datastore not ready");
      },
    };
    const r = await rejection(
      (await configured("", newPlugin(store))).attest(ctx(scenario.addNode().payload)),
    );
    expect(r).toEqual({
      code: Code.FailedPrecondition,
      message: "unable to get agent info: datastore not ready",
    });
  });

  it("without the AgentStore host service: Internal 'required AgentStore host service not available'", async () => {
    const plugin = await configured("", newPlugin(null));
    expect(await rejection(plugin.attest(ctx(scenario.addNode().payload)))).toEqual({
      code: Code.Internal,
      message: "required AgentStore host service not available",
    });
  });
});
