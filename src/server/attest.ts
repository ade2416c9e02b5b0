/**
 * The server attest pipeline, read top to bottom. Each step either returns what the next step
 * needs or throws a PluginError whose code tells the SPIRE agent what to do:
 *
 *   payload bytes
 *     -> decode (size cap, JSON shape)                               InvalidArgument
 *     -> verify signature + document binding + IID policy            PermissionDenied
 *     -> organization membership                                     PermissionDenied / Unavailable
 *     -> DescribeInstances (batched; pending or running only)        PermissionDenied / Unavailable
 *     -> instance checks: block device, client IP, EKS               PermissionDenied
 *     -> instance profile roles (cached)                             Unavailable
 *     -> agent ID from the template                                  PermissionDenied / Internal
 *     -> TOFU through SPIRE's AgentStore                             PermissionDenied
 *     -> selectors (sorted, de-duplicated)                           -> AgentAttributes
 *
 * The checks that cost nothing (signature, policy) run before any AWS call, so a stranger with
 * a forged or foreign document never spends the operator's EC2 and Organizations quotas.
 */
import type { Instance } from "@aws-sdk/client-ec2";
import type { AwsAccess } from "../aws";
import { internal, isPluginError, PluginError, permissionDenied } from "../common/errors";
import type { LogFields } from "../common/logger";
import type { CertificateStore } from "../iid/certificate-store";
import { decodeAttestationPayload } from "../iid/payload";
import type { VerificationPolicy } from "../iid/policy";
import { type VerifiedIdentity, verifyInstanceIdentity } from "../iid/verify";
import type { OrgMembershipCache } from "../org";
import type { AgentAttributes, AgentStore, AttestRequestContext } from "../spire/contracts";
import { type Attestation, decide } from "../spire/server-plugin-shell";
import type { CompiledTemplate } from "../template";
import { agentIdFromTemplate } from "./agent-id";
import { checkBlockDevice, verifyClientIp } from "./instance-checks";
import { buildSelectors } from "./selectors";

/** Everything one attestation needs, built once per Configure. */
export interface AttestDependencies {
  trustDomain: string;
  store: CertificateStore;
  policy: VerificationPolicy;
  template: CompiledTemplate;
  aws: AwsAccess;
  org: OrgMembershipCache | undefined;
  agentStore: AgentStore | undefined;
  skipBlockDevice: boolean;
  accountIdsForLocalValidation: readonly string[];
  disableInstanceProfileSelectors: boolean;
  verifyClientIp: boolean;
  eksClusterNames: readonly string[] | undefined;
  now?: () => Date;
}

/**
 * Attests one node. Never throws for a rejection: the decision says accepted or why not, and
 * the trace holds what the pipeline learned before it decided (the decision log line's fields).
 */
export function attestNode(deps: AttestDependencies, ctx: AttestRequestContext): Promise<Attestation> {
  const trace: LogFields = {};
  return decide(trace, () => runPipeline(deps, ctx, trace));
}

async function runPipeline(
  deps: AttestDependencies,
  ctx: AttestRequestContext,
  trace: LogFields,
): Promise<AgentAttributes> {
  const identity = await verifyPayload(deps, ctx.payload);
  const doc = identity.document;
  trace.account_id = doc.accountId;
  trace.region = doc.region;
  trace.instance_id = doc.instanceId;
  trace.signature_kind = identity.kind;

  await deps.org?.assertMember(doc.accountId, ctx.signal);

  const instance = await deps.aws.describeInstance(doc.accountId, doc.region, doc.instanceId, ctx.signal);
  await checkInstance(deps, identity, instance, ctx);

  const roleArns = await instanceProfileRoles(deps, identity, instance, ctx.signal);
  const agentId = agentIdFromTemplate(deps.trustDomain, deps.template, {
    accountId: doc.accountId,
    region: doc.region,
    instanceId: doc.instanceId,
    tags: tagMap(instance),
  });
  trace.agent_id = agentId;

  await assertFirstUse(deps.agentStore, agentId, ctx.signal);

  const selectorValues = buildSelectors({
    document: {
      accountId: doc.accountId,
      availabilityZone: doc.availabilityZone ?? "",
      imageId: doc.imageId ?? "",
      instanceId: doc.instanceId,
      region: doc.region,
    },
    instances: [instance],
    roleArns,
  });
  // The IID never changes, so a second attestation with it proves nothing new (TOFU).
  return { spiffeId: agentId, selectorValues, canReattest: false };
}

async function verifyPayload(deps: AttestDependencies, payload: Uint8Array): Promise<VerifiedIdentity> {
  const decoded = decodeAttestationPayload(payload);
  return verifyInstanceIdentity(decoded, { store: deps.store, policy: deps.policy, now: deps.now });
}

async function checkInstance(
  deps: AttestDependencies,
  identity: VerifiedIdentity,
  instance: Instance,
  ctx: AttestRequestContext,
): Promise<void> {
  const doc = identity.document;
  checkBlockDevice(instance, {
    skipBlockDevice: deps.skipBlockDevice,
    accountIdsForLocalValidation: deps.accountIdsForLocalValidation,
    accountId: doc.accountId,
  });
  if (deps.verifyClientIp) verifyClientIp(instance, doc.instanceId, ctx.metadata.forwardedClientIp);
  if (deps.eksClusterNames !== undefined) {
    const member = await deps.aws.isEksClusterMember(
      doc.accountId,
      doc.region,
      doc.instanceId,
      deps.eksClusterNames,
      ctx.signal,
    );
    if (!member) {
      // SPIRE's message, but PermissionDenied: the node will not join the cluster by retrying.
      throw permissionDenied(
        `failed aws eks attestation, nodes id: ${doc.instanceId} is not part of configured EKS cluster ` +
          `(${deps.eksClusterNames.join(", ")})`,
      );
    }
  }
}

async function instanceProfileRoles(
  deps: AttestDependencies,
  identity: VerifiedIdentity,
  instance: Instance,
  signal: AbortSignal,
): Promise<string[]> {
  const profileArn = instance.IamInstanceProfile?.Arn;
  if (deps.disableInstanceProfileSelectors || profileArn === undefined || profileArn === "") return [];
  const doc = identity.document;
  return deps.aws.getInstanceProfileRoles(doc.accountId, doc.region, profileArn, signal);
}

/**
 * Trust on first use: SPIRE core re-attests whatever the plugin accepts (AttestAgent in SPIRE's
 * pkg/server/api/agent/v1 only refuses a banned agent, and updates an existing attested node),
 * so the plugin itself must refuse an IID that already produced an agent, as SPIRE's built-in
 * aws_iid does through the AgentStore host service. Only `spire-server agent evict` lets the
 * node in again.
 */
async function assertFirstUse(
  agentStore: AgentStore | undefined,
  agentId: string,
  signal: AbortSignal,
): Promise<void> {
  if (agentStore === undefined) throw internal("required AgentStore host service not available");
  let exists: boolean;
  try {
    exists = await agentStore.agentExists(agentId, signal);
  } catch (err) {
    // SPIRE's wording, SPIRE's code: FailedPrecondition while SPIRE is still loading, which the
    // agent retries.
    if (isPluginError(err)) throw new PluginError(err.code, `unable to get agent info: ${err.message}`);
    throw err;
  }
  if (exists) {
    throw permissionDenied(
      `attestation data has already been used to attest an agent (agent ID ${agentId}); ` +
        "evict the agent with `spire-server agent evict` to let this node attest again",
    );
  }
}

function tagMap(instance: Instance): Map<string, string> {
  const tags = new Map<string, string>();
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags.set(tag.Key, tag.Value ?? "");
  }
  return tags;
}
