/**
 * Server-side configuration: every key of SPIRE's built-in aws_iid server plugin, with the
 * same names, types, defaults and (where SPIRE has them) the same error messages, plus this
 * project's own keys. Pure checks only: reading account_list_file and pem_path, and compiling
 * agent_path_template, happen at Configure time elsewhere.
 */

import type { AwsAccessOptions } from "../aws";
import { isAccountId, isRegionName, PARTITIONS, type Partition } from "../aws/partition";
import { LOG_LEVELS, type LogLevel } from "../common/logger";
import type { ObjectList, Pos } from "../hcl/ast";
import { nanosToMillis, parseGoDuration } from "../hcl/duration";
import {
  type ConfigProblem,
  type Decoded,
  type Duration,
  decodeWithSchema,
  type Fields,
  parseForDecoding,
} from "../hcl/schema";
import { CERTIFICATE_KINDS, type CertificateKind } from "../iid/certificate";
import type { AwsCertificateConfig } from "../iid/certificate-store";
import { DEFAULT_MAX_ATTESTATION_BYTES, DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS } from "../spire/attest-limiter";

/** verify_organization's region default per partition (SPIRE hard-codes us-west-2 for all). */
export const DEFAULT_ORG_REGION: Record<Partition, string> = {
  aws: "us-west-2",
  "aws-us-gov": "us-gov-west-1",
  "aws-cn": "cn-northwest-1",
  "aws-iso": "us-iso-east-1",
  "aws-iso-b": "us-isob-east-1",
  "aws-eusc": "eusc-de-east-1",
};

const TTL_INVALID =
  'please ensure that "org_account_map_ttl" if configured, it should be in duration and is suffixed with required \'m\' for time duration in minute ex. \'5m\'. Otherwise, remove the: "org_account_map_ttl", in the block: "verify_organization". Default TTL will be: "3m"';
const TTL_MIN =
  'please ensure that "org_account_map_ttl" if configured, it should be greater than or equal to "1m". Otherwise remove the: "org_account_map_ttl", in the block: "verify_organization". Default TTL will be: "3m"';

/**
 * `info`, the level SPIRE keeps by default: SPIRE passes plugins no level (go-plugin's
 * environment has none, and SPIRE's hclog adapter in pkg/common/log/hclog_adapter.go reports
 * NoLevel and filters each line by SPIRE's own log_level, INFO unless set). Lines below it
 * would be formatted, written and parsed only to be dropped by SPIRE.
 */
export const DEFAULT_LOG_LEVEL = "info";

export const logLevelField = {
  type: "string",
  doc: "Log level of the plugin's own log lines: trace, debug, info, warn or error. SPIRE's log_level filters them again; set both to see debug lines.",
  default: DEFAULT_LOG_LEVEL,
} as const;

const MIB = 1024 * 1024;

/**
 * Admission bounds of the Attest streams (src/spire/attest-limiter.ts), the same keys for
 * aws_iid and aws_iam: each plugin process has its own.
 */
export const admissionFields = {
  attestation_memory_limit_mib: {
    type: "int",
    default: DEFAULT_MAX_ATTESTATION_BYTES / MIB,
    min: 1,
    max: 4096,
    doc: "MiB of attestation messages (payloads, challenge answers) that attestations in progress or waiting may hold together; beyond it new attestations get ResourceExhausted (agents retry). Sized for a small server; raise it with the memory you give SPIRE.",
  },
  max_attestations_per_address: {
    type: "int",
    default: DEFAULT_MAX_ATTESTATIONS_PER_ADDRESS,
    min: 0,
    max: 1_000_000,
    doc: "Attestations one agent address (as SPIRE >= 1.15.2 forwards it) may have in progress or waiting at once; beyond it ResourceExhausted. Behind a load balancer SPIRE sees one address for every agent: raise it, or 0 for no per-address bound.",
  },
} as const satisfies Fields;

export interface AdmissionConfig {
  maxBytes: number;
  maxPerSource: number;
}

export function admissionConfig(raw: {
  attestation_memory_limit_mib: number;
  max_attestations_per_address: number;
}): AdmissionConfig {
  return { maxBytes: raw.attestation_memory_limit_mib * MIB, maxPerSource: raw.max_attestations_per_address };
}

export const serverFields = {
  access_key_id: {
    type: "string",
    doc: "AWS access key id for all AWS calls. Default: the AWS_ACCESS_KEY_ID environment variable; without keys the AWS SDK default credential chain is used.",
  },
  secret_access_key: {
    type: "string",
    secret: true,
    doc: "AWS secret access key, paired with access_key_id. Default: the AWS_SECRET_ACCESS_KEY environment variable.",
  },
  skip_block_device: {
    type: "bool",
    default: false,
    doc: "Skip the anti-tampering check that the root volume was attached together with the primary network interface.",
  },
  disable_instance_profile_selectors: {
    type: "bool",
    default: false,
    doc: "Do not call iam:GetInstanceProfile, so no iamrole: selectors (for servers that cannot reach iam.amazonaws.com).",
  },
  account_ids_for_local_validation: {
    type: "stringList",
    doc: "Accounts whose instances skip the block-device check (as in SPIRE; it does not restrict accounts — see allowed_account_ids).",
  },
  agent_path_template: {
    type: "string",
    doc: "Go text/template for the agent ID path under /spire/agent. Default: /{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}.",
  },
  assume_role: {
    type: "string",
    doc: "Role name assumed in each attesting node's account (arn:<partition>:iam::<accountId>:role/<assume_role>) before any AWS call.",
  },
  partition: {
    type: "string",
    default: "aws",
    doc: "AWS partition used to build role ARNs: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b or aws-eusc.",
  },
  verify_organization: {
    type: "block",
    doc: "Accept only nodes whose account belongs to the AWS Organization (API mode) or is listed in account_list_file (file mode).",
    fields: {
      management_account_id: {
        type: "string",
        doc: "Management account id (12 digits); required in API mode.",
      },
      assume_org_role: {
        type: "string",
        doc: "Role name in the management account with organizations:ListAccounts; required in API mode.",
      },
      management_account_region: {
        type: "string",
        doc: "Region for the Organizations/STS clients. Default per partition: aws us-west-2, aws-us-gov us-gov-west-1, aws-cn cn-northwest-1, aws-iso us-iso-east-1, aws-iso-b us-isob-east-1, aws-eusc eusc-de-east-1.",
      },
      org_account_map_ttl: {
        type: "duration",
        default: "3m",
        min: "1m",
        invalidMessage: TTL_INVALID,
        minMessage: TTL_MIN,
        doc: "Shortest period between listings of the organization (a listing repeats every max(TTL, 2 × its duration), +0–20 % jitter), and the window of org_account_miss_retries. Go duration, at least 1m.",
      },
      account_list_file: {
        type: "string",
        doc: "File mode: JSON array of 12-digit account ids, re-read when the TTL expires. Exclusive with management_account_id and assume_org_role.",
      },
      org_account_miss_retries: {
        type: "int",
        default: 5,
        min: 0,
        max: 1000,
        doc: "DescribeAccount lookups per TTL window of accounts missing from the last account list; accounts refused before draw from a separate budget of a fifth of this (rounded up).",
      },
      org_account_map_max_stale: {
        type: "duration",
        default: "0s",
        min: "0s",
        doc: "How long account knowledge older than org_account_map_ttl may still be used once refreshing the list fails. 0: stop using it at the first failed refresh (accounts are then looked up one by one with DescribeAccount).",
      },
      org_server_replicas: {
        type: "int",
        default: 5,
        min: 1,
        max: 1000,
        doc: "How many SPIRE servers (replicas) call Organizations with this management account. Each paces ListAccounts to 7/org_server_replicas req/s and DescribeAccount to 15/org_server_replicas req/s, so together they stay inside AWS's per-account buckets (8 and 20 req/s).",
      },
    },
  },
  validate_eks_cluster_membership: {
    type: "block",
    doc: "Accept only instances in an Auto Scaling group of a node group of one of the listed EKS clusters.",
    fields: {
      eks_cluster_names: { type: "stringList", doc: "EKS cluster names (at least one)." },
    },
  },
  require_rsa2048_signature: {
    type: "bool",
    default: false,
    doc: "Verify the RSA-2048 PKCS#7 signature only, refusing payloads verified by the legacy RSA-1024 signature alone.",
  },
  allowed_regions: { type: "stringList", doc: "Accept only instances in these regions. Default: all." },
  allowed_account_ids: {
    type: "stringList",
    doc: "Accept only instances in these accounts (12-digit ids). Default: all.",
  },
  max_launch_age: {
    type: "duration",
    min: "1ns",
    doc: "Refuse instances launched longer ago than this (Go duration). Default: no limit.",
  },
  aws_certificate: {
    type: "blocks",
    doc: "Extra AWS public certificate for a region (repeatable), e.g. for a region newer than the embedded set.",
    fields: {
      region: { type: "string", doc: "Region the certificate signs documents for." },
      kind: {
        type: "string",
        doc: "Signature the certificate verifies: rsa2048 (PKCS#7), rsa (legacy signature) or dsa.",
      },
      pem_path: { type: "string", doc: "Path to the PEM certificate, read at configure time." },
    },
  },
  verify_client_ip: {
    type: "bool",
    default: false,
    doc: "Require the agent's address (x-forwarded-client-ip, SPIRE >= 1.15.2) to be one of the instance's private or public IPs.",
  },
  aws_call_timeout: {
    type: "duration",
    default: "20s",
    min: "1ms",
    max: "10m",
    doc: "Timeout of each phase of AWS calls during one attestation (SPIRE: fixed 20s).",
  },
  require_org_account_id: {
    type: "string",
    doc: "Short form of verify_organization: the management account id; the role is assume_role. Not with a verify_organization block.",
  },
  describe_instances_batch_window: {
    type: "duration",
    // The DescribeInstances budget's refill interval (aws/describe-instances-batcher.ts). 200 ms
    // keeps a replica at 5 calls/s per credentials and region, a quarter of EC2's refill; a
    // storm costs about 2 + 5 calls per second over which its lookups arrive (BENCHMARKS.md).
    default: "200ms",
    min: "0s",
    max: "1s",
    doc: "Budget of DescribeInstances per signing credentials and region: one call per window with a burst of 2. While the budget lasts a lookup is sent at once; when it is spent, lookups share one call per window (sent early at 200 IDs) until a window passes idle. Bounds the call rate, not idle latency. 0 disables batching (one call per attestation, as SPIRE).",
  },
  instance_profile_cache_ttl: {
    type: "duration",
    default: "5m",
    min: "0s",
    doc: "How long GetInstanceProfile results are cached. 0 disables the cache.",
  },
  ...admissionFields,
  log_level: logLevelField,
} as const satisfies Fields;

export type ServerConfigFields = typeof serverFields;
type RawServerConfig = Decoded<ServerConfigFields>;

export interface OrgConfigCommon {
  /** Where the settings came from (for messages). */
  source: "verify_organization" | "require_org_account_id";
  orgAccountMapTtl: Duration;
  orgAccountMissRetries: number;
  /** 0 ms: stop using knowledge older than the TTL at the first failed refresh. */
  orgAccountMapMaxStale: Duration;
  orgServerReplicas: number;
}

export type OrgConfig =
  | (OrgConfigCommon & {
      mode: "api";
      managementAccountId: string;
      assumeOrgRole: string;
      managementAccountRegion: string;
    })
  | (OrgConfigCommon & { mode: "file"; accountListFile: string });

export interface AwsCertificateBlock extends AwsCertificateConfig {
  /** Position of the block, for configure-time errors (unreadable file, bad PEM). */
  readonly pos: Pos | undefined;
}

export interface ServerConfig {
  admission: AdmissionConfig;
  /** Static credentials (config or AWS_* environment); undefined: AWS SDK default chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  skipBlockDevice: boolean;
  disableInstanceProfileSelectors: boolean;
  accountIdsForLocalValidation: string[];
  /** undefined: SPIRE's default template. Compiled at configure time. */
  agentPathTemplate: string | undefined;
  assumeRole: string | undefined;
  partition: Partition;
  verifyOrganization: OrgConfig | undefined;
  validateEksClusterMembership: { eksClusterNames: string[] } | undefined;
  requireRsa2048Signature: boolean;
  /** undefined: all regions. */
  allowedRegions: string[] | undefined;
  /** undefined: all accounts. */
  allowedAccountIds: string[] | undefined;
  maxLaunchAge: Duration | undefined;
  awsCertificates: AwsCertificateBlock[];
  verifyClientIp: boolean;
  awsCallTimeout: Duration;
  describeInstancesBatchWindow: Duration;
  instanceProfileCacheTtl: Duration;
  logLevel: LogLevel;
  /** Where each key was set (dotted path → position), for configure-time messages. */
  positions: ReadonlyMap<string, Pos>;
}

export interface ConfigParseResult<T> {
  /** Present when there are no problems. */
  config?: T;
  problems: ConfigProblem[];
}

export interface ServerConfigOptions {
  /** Environment for the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY fallbacks (as SPIRE reads them). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What the AWS layer takes from a configuration: the one place its settings come from. */
export function awsAccessSettings(
  config: ServerConfig,
): Pick<
  AwsAccessOptions,
  "partition" | "callTimeoutMs" | "describeBatchWindowMs" | "instanceProfileCacheTtlMs"
> {
  return {
    partition: config.partition,
    callTimeoutMs: config.awsCallTimeout.ms,
    describeBatchWindowMs: config.describeInstancesBatchWindow.ms,
    instanceProfileCacheTtlMs: config.instanceProfileCacheTtl.ms,
  };
}

/** Parses plugin_data text as SPIRE sends it. */
export function parseServerConfig(
  hcl: string,
  options: ServerConfigOptions = {},
): ConfigParseResult<ServerConfig> {
  const parsed = parseForDecoding(hcl);
  return parsed.root === undefined
    ? { problems: parsed.problems }
    : serverConfigFromAst(parsed.root, options);
}

/** Decodes an already parsed plugin_data body (check-config uses positions in the whole file). */
export function serverConfigFromAst(
  root: ObjectList,
  options: ServerConfigOptions = {},
): ConfigParseResult<ServerConfig> {
  const { value: raw, problems, positions } = decodeWithSchema(root, serverFields);
  const at = (path: string): Pos | undefined => positions.get(`${path}#value`) ?? positions.get(path);
  const add = (path: string, message: string, pos = at(path)): void => {
    problems.push({ path, pos, message });
  };
  const env = options.env ?? {};

  // session.go: config values first, then the environment, then the pair rule.
  const accessKeyId = nonEmpty(raw.access_key_id) ?? nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(raw.secret_access_key) ?? nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId !== undefined && secretAccessKey === undefined) {
    add("access_key_id", "configuration missing secret access key, but has access key id");
  } else if (accessKeyId === undefined && secretAccessKey !== undefined) {
    add("secret_access_key", "configuration missing access key id, but has secret access key");
  }

  const partitionText = raw.partition === "" ? "aws" : raw.partition;
  const partition = (PARTITIONS as readonly string[]).includes(partitionText)
    ? (partitionText as Partition)
    : undefined;
  if (partition === undefined) {
    add(
      "partition",
      `invalid partition ${JSON.stringify(partitionText)}, must be one of: [${PARTITIONS.join(" ")}]`,
    );
  }

  const logLevel = checkLogLevel(raw.log_level, (m) => add("log_level", m));
  const verifyOrganization = checkOrganization(raw, partition ?? "aws", add, at);

  let eks: ServerConfig["validateEksClusterMembership"];
  if (raw.validate_eks_cluster_membership !== undefined) {
    const names = raw.validate_eks_cluster_membership.eks_cluster_names ?? [];
    if (names.length === 0) {
      // SPIRE accepts this and then rejects every node; refuse it up front.
      add(
        "validate_eks_cluster_membership",
        "validate_eks_cluster_membership: eks_cluster_names must list at least one cluster (an empty list would reject every node); remove the block to disable the check",
      );
    } else if (names.some((n) => !/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(n))) {
      add(
        "validate_eks_cluster_membership.eks_cluster_names",
        "validate_eks_cluster_membership.eks_cluster_names: invalid EKS cluster name (letters, digits, - and _, up to 100 characters)",
      );
    }
    eks = { eksClusterNames: names };
  }

  const allowedRegions = checkList(
    raw.allowed_regions,
    "allowed_regions",
    isRegionName,
    "a region name like us-east-1",
    add,
  );
  const allowedAccountIds = checkList(
    raw.allowed_account_ids,
    "allowed_account_ids",
    isAccountId,
    "a 12-digit account id",
    add,
  );

  const certs: AwsCertificateBlock[] = [];
  raw.aws_certificate.forEach((c, i) => {
    const path = `aws_certificate[${i}]`;
    const pos = positions.get(path);
    if (c.region === undefined || !isRegionName(c.region)) {
      add(
        `${path}.region`,
        `${path}.region: required, a region name like us-east-1`,
        at(`${path}.region`) ?? pos,
      );
    }
    if (c.kind === undefined || !(CERTIFICATE_KINDS as readonly string[]).includes(c.kind)) {
      add(
        `${path}.kind`,
        `${path}.kind: required, one of ${CERTIFICATE_KINDS.join(", ")}`,
        at(`${path}.kind`) ?? pos,
      );
    }
    if (c.pem_path === undefined || c.pem_path === "") {
      add(
        `${path}.pem_path`,
        `${path}.pem_path: required, the path of a PEM certificate`,
        at(`${path}.pem_path`) ?? pos,
      );
    }
    certs.push({
      region: c.region ?? "",
      kind: (c.kind ?? "rsa2048") as CertificateKind,
      pemPath: c.pem_path ?? "",
      pos,
    });
  });

  if (problems.length > 0) return { problems: sortProblems(problems) };
  return {
    problems: [],
    config: {
      credentials:
        accessKeyId !== undefined && secretAccessKey !== undefined
          ? { accessKeyId, secretAccessKey }
          : undefined,
      skipBlockDevice: raw.skip_block_device,
      disableInstanceProfileSelectors: raw.disable_instance_profile_selectors,
      accountIdsForLocalValidation: raw.account_ids_for_local_validation ?? [],
      agentPathTemplate: nonEmpty(raw.agent_path_template),
      assumeRole: nonEmpty(raw.assume_role),
      partition: partition ?? "aws",
      verifyOrganization,
      validateEksClusterMembership: eks,
      requireRsa2048Signature: raw.require_rsa2048_signature,
      allowedRegions,
      allowedAccountIds,
      maxLaunchAge: raw.max_launch_age,
      awsCertificates: certs,
      verifyClientIp: raw.verify_client_ip,
      awsCallTimeout: raw.aws_call_timeout,
      describeInstancesBatchWindow: raw.describe_instances_batch_window,
      instanceProfileCacheTtl: raw.instance_profile_cache_ttl,
      logLevel: logLevel ?? DEFAULT_LOG_LEVEL,
      admission: admissionConfig(raw),
      positions,
    },
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

export function checkLogLevel(value: string, report: (m: string) => void): LogLevel | undefined {
  const v = value.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  report(`log_level: must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(value)}`);
  return undefined;
}

function checkList(
  list: string[] | undefined,
  key: string,
  valid: (v: string) => boolean,
  what: string,
  add: (path: string, message: string) => void,
): string[] | undefined {
  if (list === undefined) return undefined;
  if (list.length === 0) {
    add(key, `${key}: empty list would refuse every node; remove the key to allow all`);
    return undefined;
  }
  for (const [i, v] of list.entries()) {
    if (!valid(v)) add(key, `${key}[${i}]: ${JSON.stringify(v)} is not ${what}`);
  }
  return list;
}

function checkOrganization(
  raw: RawServerConfig,
  partition: Partition,
  add: (path: string, message: string, pos?: Pos) => void,
  at: (path: string) => Pos | undefined,
): OrgConfig | undefined {
  const block = raw.verify_organization;
  const short = nonEmpty(raw.require_org_account_id);
  if (block !== undefined && raw.require_org_account_id !== undefined) {
    add(
      "require_org_account_id",
      "require_org_account_id is a short form of the verify_organization block: use one or the other, not both",
    );
    return undefined;
  }
  if (raw.require_org_account_id !== undefined) {
    if (short === undefined || !isAccountId(short)) {
      add("require_org_account_id", "require_org_account_id: must be the 12-digit management account id");
      return undefined;
    }
    const role = nonEmpty(raw.assume_role);
    if (role === undefined) {
      add(
        "require_org_account_id",
        "require_org_account_id needs assume_role (the role name assumed in the management account to list accounts)",
      );
      return undefined;
    }
    return {
      source: "require_org_account_id",
      mode: "api",
      managementAccountId: short,
      assumeOrgRole: role,
      managementAccountRegion: DEFAULT_ORG_REGION[partition],
      // The block's defaults, from the schema.
      orgAccountMapTtl: schemaDuration(ORG_FIELDS.org_account_map_ttl.default),
      orgAccountMissRetries: ORG_FIELDS.org_account_miss_retries.default,
      orgAccountMapMaxStale: schemaDuration(ORG_FIELDS.org_account_map_max_stale.default),
      orgServerReplicas: ORG_FIELDS.org_server_replicas.default,
    };
  }
  return checkVerifyOrganizationBlock(block, partition, add, at);
}

const ORG_FIELDS = serverFields.verify_organization.fields;

function schemaDuration(text: string): Duration {
  const nanos = parseGoDuration(text);
  if (typeof nanos === "string") throw new Error(`schema default ${text}: ${nanos}`);
  return { text, nanos, ms: nanosToMillis(nanos) };
}

/** The decoded `verify_organization` block, as both methods (aws_iid, aws_iam) declare it. */
export type VerifyOrganizationBlock = NonNullable<RawServerConfig["verify_organization"]>;

/**
 * SPIRE's validation of the `verify_organization` block (same order and wording as its
 * validateOrganizationConfig), plus our region and account-id checks. The aws_iam method
 * declares the same block and validates it here too, so the two cannot drift apart.
 */
export function checkVerifyOrganizationBlock(
  block: VerifyOrganizationBlock | undefined,
  partition: Partition,
  add: (path: string, message: string, pos?: Pos) => void,
  at: (path: string) => Pos | undefined,
): OrgConfig | undefined {
  if (block === undefined) return undefined;
  const p = "verify_organization";
  const file = nonEmpty(block.account_list_file);
  const id = nonEmpty(block.management_account_id);
  const role = nonEmpty(block.assume_org_role);
  if (file !== undefined) {
    if (id !== undefined || role !== undefined) {
      add(
        `${p}.account_list_file`,
        `"account_list_file" is mutually exclusive with "management_account_id" and "assume_org_role" in the block: "verify_organization"`,
      );
      return undefined;
    }
  } else {
    if (id === undefined || role === undefined) {
      add(
        p,
        `please ensure that "management_account_id" & "assume_org_role" are present inside block or remove the block: "verify_organization" for feature node attestation using account id verification`,
      );
      return undefined;
    }
    if (!isAccountId(id)) {
      add(`${p}.management_account_id`, `${p}.management_account_id: must be a 12-digit account id`);
      return undefined;
    }
  }
  const region = nonEmpty(block.management_account_region) ?? DEFAULT_ORG_REGION[partition];
  if (!isRegionName(region)) {
    add(
      `${p}.management_account_region`,
      `${p}.management_account_region: ${JSON.stringify(region)} is not a region name`,
      at(`${p}.management_account_region`),
    );
    return undefined;
  }
  if (block.org_account_map_ttl === undefined || block.org_account_map_max_stale === undefined)
    return undefined;
  const common: OrgConfigCommon = {
    source: "verify_organization",
    orgAccountMapTtl: block.org_account_map_ttl,
    orgAccountMissRetries: block.org_account_miss_retries,
    orgAccountMapMaxStale: block.org_account_map_max_stale,
    orgServerReplicas: block.org_server_replicas,
  };
  if (file !== undefined) return { ...common, mode: "file", accountListFile: file };
  return {
    ...common,
    mode: "api",
    managementAccountId: id!,
    assumeOrgRole: role!,
    managementAccountRegion: region,
  };
}

export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const la = a.p.pos?.line ?? Number.MAX_SAFE_INTEGER;
      const lb = b.p.pos?.line ?? Number.MAX_SAFE_INTEGER;
      if (la !== lb) return la - lb;
      const ca = a.p.pos?.column ?? 0;
      const cb = b.p.pos?.column ?? 0;
      return ca !== cb ? ca - cb : a.i - b.i;
    })
    .map((x) => x.p);
}
