/**
 * Fault injection through the server attestor: every AWS API the aws_iid server side calls,
 * against every way the loopback fakes can misbehave. SPIRE agents act on the gRPC code
 * (PermissionDenied ends the agent, anything else is retried with backoff), so for each case:
 * the attestation ends with the code that keeps an honest agent retrying (Unavailable) and
 * never with an acceptance; it ends within the configured aws_call_timeout budget (a hang
 * would time the test out); and once the fault is gone the *same* plugin instance attests the
 * same node successfully (no poisoned cache, no stuck single-flight, no leaked slot).
 *
 * FAULT_REPORT=<file> writes one JSON line per case (elapsed ms, code) for docs/security.md.
 */
import { appendFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, isPluginError } from "../../src/common/errors";
import type { ServerAttestorPlugin } from "../../src/spire/contracts";
import type { Fault } from "../../src/testkit/aws-fake/faults";
import { attestContext, inProcessServerPlugin, warmServerPlugin } from "../../src/testkit/in-process-server";
import {
  MANAGEMENT_ACCOUNT,
  OTHER_ACCOUNT,
  SCENARIO_ACCOUNT,
  SCENARIO_REGION,
  type Scenario,
  type ScenarioNode,
  startScenario,
} from "../../src/testkit/scenario";

const TD = "example.org";
/** Short, so hangs and drips resolve quickly; the SDK's retries each get this budget. */
const CALL_TIMEOUT = "400ms";
/** A refused AssumeRole is remembered this long (30 s in production); the matrix waits it out. */
const REFUSAL_TTL_MS = 300;

let scenario: Scenario;
let caseNo = 0;

beforeAll(async () => {
  // Rate limits off: the faults below are the only trouble.
  scenario = await startScenario({ ec2RateLimits: [] });
  scenario.addOrgAccount(SCENARIO_ACCOUNT);
  // Else the first case could time out loading the SDK before its faulted call was sent.
  await (await warmServerPlugin(scenario, { trustDomain: TD })).close();
});
afterAll(async () => {
  await scenario?.close();
});

function newPlugin(): ServerAttestorPlugin {
  return inProcessServerPlugin(scenario, { assumeRoleFailureTtlMs: REFUSAL_TTL_MS });
}

const ctx = attestContext;

async function outcome(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: Code.OK, message: "" };
  } catch (err) {
    if (isPluginError(err)) return { code: err.code, message: err.message };
    throw err;
  }
}

interface Target {
  api: string;
  service: string;
  action: string;
  /** Builds the node and the HCL that make the attestation reach this API. */
  setup(n: number): { node: ScenarioNode; hcl: string; prime?: ScenarioNode };
}

const orgBlock = `verify_organization {\n  management_account_id = "${MANAGEMENT_ACCOUNT}"\n  assume_org_role = "spire-org-reader"\n}`;

const TARGETS: Target[] = [
  {
    api: "EC2 DescribeInstances",
    service: "ec2",
    action: "DescribeInstances",
    setup: () => ({ node: scenario.addNode(), hcl: "" }),
  },
  {
    api: "IAM GetInstanceProfile",
    service: "iam",
    action: "GetInstanceProfile",
    setup: (n) => {
      const profile = scenario.aws.world.addInstanceProfile({
        account: SCENARIO_ACCOUNT,
        name: `profile-${n}`,
        roles: [`role-${n}`],
      });
      return {
        node: scenario.addNode({ profileArn: profile.arn }),
        hcl: 'instance_profile_cache_ttl = "0s"',
      };
    },
  },
  {
    api: "STS AssumeRole (node account)",
    service: "sts",
    action: "AssumeRole",
    setup: () => ({ node: scenario.addNode(), hcl: 'assume_role = "spire-reader"' }),
  },
  {
    api: "Organizations ListAccounts",
    service: "organizations",
    action: "ListAccounts",
    setup: () => ({ node: scenario.addNode(), hcl: orgBlock }),
  },
  {
    api: "Organizations DescribeAccount (list miss)",
    service: "organizations",
    action: "DescribeAccount",
    setup: (n) => {
      // The list is loaded by a first attestation; the node's account joins afterwards, so
      // its attestation is a miss that asks DescribeAccount.
      const account = `5${String(n).padStart(11, "0")}`;
      const prime = scenario.addNode();
      const node = scenario.addNode({ account });
      return { node, hcl: `assume_role = "spire-reader"\n${orgBlock}`, prime };
    },
  },
  {
    api: "EKS ListNodegroups",
    service: "eks",
    action: "ListNodegroups",
    setup: (n) => eksSetup(n),
  },
  {
    api: "EKS DescribeNodegroup",
    service: "eks",
    action: "DescribeNodegroup",
    setup: (n) => eksSetup(n),
  },
  {
    api: "Auto Scaling DescribeAutoScalingGroups",
    service: "autoscaling",
    action: "DescribeAutoScalingGroups",
    setup: (n) => eksSetup(n),
  },
];

function eksSetup(n: number): { node: ScenarioNode; hcl: string } {
  const node = scenario.addNode();
  const asg = `asg-${n}`;
  scenario.aws.world.addAutoScalingGroup({
    account: SCENARIO_ACCOUNT,
    region: SCENARIO_REGION,
    name: asg,
    instanceIds: [node.instance.instanceId],
  });
  scenario.aws.world.addEksCluster({
    account: SCENARIO_ACCOUNT,
    region: SCENARIO_REGION,
    name: `cluster-${n}`,
    nodegroups: [{ name: `ng-${n}`, autoScalingGroups: [asg] }],
  });
  return { node, hcl: `validate_eks_cluster_membership {\n  eks_cluster_names = ["cluster-${n}"]\n}` };
}

const FAULTS: { name: string; fault: Fault }[] = [
  { name: "throttling", fault: { kind: "throttle" } },
  { name: "500 InternalError", fault: { kind: "error", status: 500, code: "InternalError" } },
  { name: "403 AccessDenied", fault: { kind: "error", status: 403, code: "AccessDenied" } },
  { name: "bare 503", fault: { kind: "status", status: 503 } },
  { name: "hang", fault: { kind: "hang" } },
  { name: "slow drip", fault: { kind: "drip", bytesPerChunk: 1, intervalMs: 300 } },
  { name: "truncated body", fault: { kind: "truncate" } },
  { name: "malformed body", fault: { kind: "malformed" } },
  { name: "connection reset", fault: { kind: "reset" } },
];

const CASES = TARGETS.flatMap((target) => FAULTS.map((f) => ({ target, ...f })));

function report(line: Record<string, unknown>): void {
  const file = process.env.FAULT_REPORT;
  if (file !== undefined && file !== "") appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/**
 * What an agent sees for each fault. Unavailable keeps it retrying. Deliberate exceptions:
 * - the node's own account refusing our assume_role (AccessDenied on AssumeRole) refuses the
 *   node, as SPIRE does (see src/aws/errors.ts);
 * - attestations never wait for the organization listing: while ListAccounts fails, a member
 *   is confirmed by one DescribeAccount (src/org/org-membership-cache.ts), a correct acceptance.
 */
function expectedCode(target: Target, fault: Fault): number {
  const denied = fault.kind === "error" && fault.code === "AccessDenied";
  if (denied && target.action === "AssumeRole") return Code.PermissionDenied;
  if (target.action === "ListAccounts") return Code.OK;
  return Code.Unavailable;
}

/** SPIRE's agent retries an Unavailable with backoff; do the same (bounded) and count attempts. */
async function attestLikeAnAgent(
  plugin: ServerAttestorPlugin,
  payload: Uint8Array,
): Promise<{ code: number; message: string; attempts: number }> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const r = await outcome(plugin.attest(ctx(payload)));
    if (r.code !== Code.Unavailable || attempts >= 30) return { ...r, attempts };
    await new Promise((res) => setTimeout(res, 250));
  }
}

describe("server attestor under AWS faults", () => {
  it.each(CASES.map((c) => [c.target.api, c.name, c] as const))(
    "%s / %s: a retryable code, then the same plugin attests",
    async (_api, _fault, c) => {
      const n = ++caseNo;
      const { node, hcl, prime } = c.target.setup(n);
      const match = { service: c.target.service, action: c.target.action };
      const plugin = newPlugin();
      let remove: (() => void) | undefined;
      try {
        // Faults go in before Configure, so background work it starts (the organization
        // list warm-up) meets them too; a primed case needs one clean attestation first.
        let before = scenario.aws.server.calls.count(match);
        if (prime === undefined) remove = scenario.aws.server.faults.add(match, c.fault);
        await plugin.configure(
          { trustDomain: TD },
          scenario.pluginData(`aws_call_timeout = "${CALL_TIMEOUT}"\n${hcl}`),
        );
        if (prime !== undefined) {
          expect((await outcome(plugin.attest(ctx(prime.payload)))).code).toBe(Code.OK);
          scenario.addOrgAccount(node.instance.account);
          before = scenario.aws.server.calls.count(match);
          remove = scenario.aws.server.faults.add(match, c.fault);
        }
        const t0 = performance.now();
        let failed: { code: number; message: string };
        try {
          failed = await outcome(plugin.attest(ctx(node.payload)));
        } finally {
          remove?.();
        }
        const elapsedMs = Math.round(performance.now() - t0);
        const hits = scenario.aws.server.calls.count(match) - before;
        if (failed.code === Code.PermissionDenied && c.target.action === "AssumeRole") {
          // The refusal is remembered for the account: the next attestation is refused without
          // asking STS again, and only after the TTL is the role tried afresh.
          const callsBefore = scenario.aws.server.calls.count(match);
          const again = await outcome(plugin.attest(ctx(node.payload)));
          expect(again.code, again.message).toBe(Code.PermissionDenied);
          expect(scenario.aws.server.calls.count(match)).toBe(callsBefore);
          await new Promise((res) => setTimeout(res, REFUSAL_TTL_MS + 50));
        }
        const after = await attestLikeAnAgent(plugin, node.payload);
        report({
          api: c.target.api,
          fault: c.name,
          code: failed.code,
          elapsedMs,
          calls: hits,
          recoveredAfterAttempts: after.attempts,
          message: failed.message,
        });
        // Never a refusal of an honest node for AWS's trouble, never Internal: the code the
        // agent should act on.
        expect(failed.code, failed.message).toBe(expectedCode(c.target, c.fault));
        expect(failed.message).not.toMatch(/undefined|\[object/);
        // The fault was really on the path (counted from when it went in, so a warm-up that
        // met it counts too).
        expect(hits).toBeGreaterThan(0);
        // Once AWS is healthy again the same plugin instance attests the same node.
        expect(after, after.message).toMatchObject({ code: Code.OK });
      } finally {
        remove?.();
        await plugin.close();
      }
    },
  );
});

describe("server attestor: roles and credentials", () => {
  it("the management role denied: Unavailable naming the role, then fine once allowed", async () => {
    const role = `arn:aws:iam::${MANAGEMENT_ACCOUNT}:role/spire-org-reader`;
    const node = scenario.addNode();
    const plugin = newPlugin();
    scenario.aws.sts.deniedRoles.add(role);
    try {
      await plugin.configure(
        { trustDomain: TD },
        scenario.pluginData(`aws_call_timeout = "${CALL_TIMEOUT}"\n${orgBlock}`),
      );
      const failed = await outcome(plugin.attest(ctx(node.payload)));
      // A server-side misconfiguration: agents keep retrying rather than exiting for good.
      expect(failed.code, failed.message).toBe(Code.Unavailable);
      expect(failed.message).toContain("spire-org-reader");
      scenario.aws.sts.deniedRoles.delete(role);
      // Retry like an agent.
      let after = await outcome(plugin.attest(ctx(node.payload)));
      for (let i = 0; i < 20 && after.code === Code.Unavailable; i++) {
        await new Promise((r) => setTimeout(r, 250));
        after = await outcome(plugin.attest(ctx(node.payload)));
      }
      expect(after, after.message).toMatchObject({ code: Code.OK });
    } finally {
      scenario.aws.sts.deniedRoles.delete(role);
      await plugin.close();
    }
  });

  it("the node account's role denied: PermissionDenied (the node is refused), other accounts unaffected", async () => {
    const role = `arn:aws:iam::${OTHER_ACCOUNT}:role/spire-reader`;
    const refused = scenario.addNode({ account: OTHER_ACCOUNT });
    const fine = scenario.addNode();
    const plugin = newPlugin();
    scenario.aws.sts.deniedRoles.add(role);
    try {
      await plugin.configure({ trustDomain: TD }, scenario.pluginData('assume_role = "spire-reader"'));
      expect((await outcome(plugin.attest(ctx(refused.payload)))).code).toBe(Code.PermissionDenied);
      expect((await outcome(plugin.attest(ctx(fine.payload)))).code).toBe(Code.OK);
    } finally {
      scenario.aws.sts.deniedRoles.delete(role);
      await plugin.close();
    }
  });

  it("assumed-role credentials expiring mid-run are renewed: every attestation succeeds", async () => {
    scenario.aws.sts.credentialLifetimeSeconds = 1;
    const plugin = newPlugin();
    try {
      await plugin.configure({ trustDomain: TD }, scenario.pluginData('assume_role = "spire-reader"'));
      const assumesBefore = scenario.aws.server.calls.count({ service: "sts", action: "AssumeRole" });
      for (let i = 0; i < 3; i++) {
        const node = scenario.addNode();
        const r = await outcome(plugin.attest(ctx(node.payload)));
        expect(r, r.message).toMatchObject({ code: Code.OK });
        // Outlive the credentials: the next call must not use them.
        await new Promise((res) => setTimeout(res, 1_100));
      }
      expect(
        scenario.aws.server.calls.count({ service: "sts", action: "AssumeRole" }) - assumesBefore,
      ).toBeGreaterThan(1);
    } finally {
      scenario.aws.sts.credentialLifetimeSeconds = undefined;
      await plugin.close();
    }
  });
});

describe("server attestor: expensive work only after cheap checks", () => {
  it("malformed, oversized, forged and foreign-signed payloads make no AWS call at all", async () => {
    const plugin = newPlugin();
    try {
      await plugin.configure({ trustDomain: TD }, scenario.pluginData('assume_role = "spire-reader"'));
      const node = scenario.addNode();
      const forged = Buffer.from(
        Buffer.from(node.payload).toString("utf8").replace(SCENARIO_ACCOUNT, "000000000000"),
        "utf8",
      );
      const payloads: [Uint8Array, number][] = [
        [Buffer.from("{not json"), Code.InvalidArgument],
        [Buffer.alloc(64 * 1024 + 1, 0x20), Code.InvalidArgument],
        [forged, Code.PermissionDenied],
        // Signed by the test CA, which is trusted for us-west-2 and us-east-1 only.
        [scenario.addNode({ region: "eu-west-1" }).payload, Code.PermissionDenied],
      ];
      const before = scenario.aws.server.calls.count();
      for (const [payload, code] of payloads) {
        expect((await outcome(plugin.attest(ctx(payload)))).code).toBe(code);
      }
      // Signature checks come before any AWS call: junk cannot spend the account's API quota.
      expect(scenario.aws.server.calls.count()).toBe(before);
    } finally {
      await plugin.close();
    }
  });
});
