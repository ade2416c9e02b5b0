/**
 * A whole loopback AWS for the server attestor in one call: the fake AWS APIs, a test CA the
 * server trusts through `aws_certificate`, and EC2 instances whose IMDS identity is signed by
 * that CA. Integration tests, the demo, the benchmarks and the soak start here, so they all
 * exercise the same realistic setup.
 *
 *   const s = await startScenario();
 *   const node = s.addNode({ tags: { app: "web" } });
 *   plugin.configure({ trustDomain: "example.org" }, s.pluginData({ assume_role: "spire-reader" }));
 *   await plugin.attest({ payload: node.payload, ... });
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAttestationPayload } from "../iid/payload";
import { FakeAws, type FakeAwsOptions, type StaticCredentials } from "./aws-fake/fake-aws";
import type { FakeAccountState } from "./aws-fake/organizations";
import type { InstanceSpec, WorldInstance } from "./aws-fake/world";
import {
  type AwsCertificateEntry,
  buildIidDocument,
  getTestCa,
  type SignedIdentity,
  type TestCa,
} from "./test-ca";

export const SCENARIO_ACCOUNT = "111122223333";
export const SCENARIO_REGION = "us-west-2";
/** Another account, for cross-account (assume_role) and organization tests. */
export const OTHER_ACCOUNT = "444455556666";
export const MANAGEMENT_ACCOUNT = "999999999999";

export interface ScenarioOptions extends FakeAwsOptions {
  /** Regions the test CA is trusted for (default: the scenario region plus us-east-1). */
  regions?: readonly string[];
}

export interface NodeSpec extends Partial<InstanceSpec> {
  /** Which signature forms the payload carries (default: SPIRE's agent, rsa2048 + signature). */
  forms?: readonly ("rsa2048" | "signature" | "pkcs7")[];
  /** pendingTime in the document (default: now). */
  pendingTime?: Date;
}

export interface ScenarioNode {
  instance: WorldInstance;
  identity: SignedIdentity;
  /** The agent payload bytes, exactly as SPIRE's agent would send them. */
  payload: Uint8Array;
}

export interface Scenario {
  aws: FakeAws;
  ca: TestCa;
  credentials: StaticCredentials;
  certificateEntries: readonly AwsCertificateEntry[];
  /** Adds a running instance to the fake EC2 and signs its identity document. */
  addNode(spec?: NodeSpec): ScenarioNode;
  /** Puts accounts in the fake organization (ACTIVE unless a state is given). */
  addOrgAccount(account: string, state?: FakeAccountState): void;
  /**
   * plugin_data for the server side: trusts the test CA, uses the scenario's static
   * credentials, then whatever `extra` adds (HCL text).
   */
  pluginData(extra?: string): string;
  /** Environment for a plugin process reaching these fakes through the SDK's own settings. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startScenario(options: ScenarioOptions = {}): Promise<Scenario> {
  const aws = await FakeAws.start({ managementAccountId: MANAGEMENT_ACCOUNT, ...options });
  const ca = getTestCa();
  const dir = mkdtempSync(join(tmpdir(), "aws-iid-ca-"));
  const regions = options.regions ?? [SCENARIO_REGION, "us-east-1"];
  const certificateEntries = ca.writeAwsCertificateEntries(dir, regions);
  // The usual deployment: SPIRE server runs in the nodes' account; cross-account needs assume_role.
  const credentials = aws.baseCredentials(SCENARIO_ACCOUNT);

  return {
    aws,
    ca,
    credentials,
    certificateEntries,
    addNode(spec: NodeSpec = {}): ScenarioNode {
      const instance = aws.world.addInstance({
        account: SCENARIO_ACCOUNT,
        region: SCENARIO_REGION,
        ...spec,
      });
      const document = buildIidDocument({
        accountId: instance.account,
        region: instance.region,
        instanceId: instance.instanceId,
        availabilityZone: instance.availabilityZone,
        imageId: instance.imageId,
        instanceType: instance.instanceType,
        privateIp: instance.privateIpAddress,
        pendingTime: spec.pendingTime ?? new Date(),
      });
      const identity = ca.sign(document);
      const forms = new Set(spec.forms ?? ["rsa2048", "signature"]);
      const payload = encodeAttestationPayload({
        document,
        signature: forms.has("signature") ? identity.signature : "",
        rsa2048: forms.has("rsa2048") ? identity.rsa2048 : "",
        ...(forms.has("pkcs7") ? { pkcs7: identity.pkcs7 } : {}),
      });
      return { instance, identity, payload };
    },
    addOrgAccount(account: string, state: FakeAccountState = "ACTIVE"): void {
      aws.organizations.addAccount(account, state);
    },
    pluginData(extra = ""): string {
      const certs = certificateEntries
        .map(
          (e) =>
            `aws_certificate {\n  region = "${e.region}"\n  kind = "${e.kind}"\n  pem_path = "${e.pemPath}"\n}`,
        )
        .join("\n");
      return [
        `access_key_id = "${credentials.accessKeyId}"`,
        `secret_access_key = "${credentials.secretAccessKey}"`,
        certs,
        extra,
      ].join("\n");
    },
    env(): Record<string, string> {
      return aws.env(credentials, SCENARIO_REGION);
    },
    async close(): Promise<void> {
      await aws.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
