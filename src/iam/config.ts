/**
 * aws_iam configuration, decoded with the shared HCL schema DSL (src/hcl/schema.ts): Go's
 * hcl.Decode coercions, every problem collected, unknown keys refused with the nearest known
 * key named — a misspelt policy key (allowed_acount_ids) silently widening who may attest is
 * the failure SPIRE's aws_iid has and we do not want. verify_organization is the very block
 * aws_iid uses (same fields, same cache), so one organization setup serves both methods.
 */
import { isAccountId } from "../aws/partition";
import { describeError } from "../common/errors";
import type { LogLevel } from "../common/logger";
import type { Pos } from "../hcl/ast";
import {
  type ConfigInput,
  type ConfigProblem,
  ConfigurationError,
  decodeWithSchema,
  type Fields,
  parseForDecoding,
} from "../hcl/schema";
import { accountListFileProblem } from "../org/account-list-file";
import {
  type AdmissionConfig,
  admissionConfig,
  admissionFields,
  type ConfigParseResult,
  checkLogLevel,
  checkVerifyOrganizationBlock,
  logLevelField,
  type OrgConfig,
  serverFields,
  sortProblems,
  type VerifyOrganizationBlock,
} from "../server/config";
import { type CompiledPathTemplate, prepareTemplateFunctions } from "../template";
import { compileIamAgentPathTemplate } from "./agent-path";
import {
  agentStsEndpoint,
  isKnownRegion,
  STS_PARTITIONS,
  type StsEndpoint,
  type StsPartition,
} from "./sts-endpoints";
import { type StsForwardTarget, stsForwardTargetFromEnv } from "./sts-forward";

/** verify_organization as aws_iid decodes it, with the partition of the organization role. */
export type IamOrgConfig = OrgConfig & { partition: StsPartition };

export interface IamServerConfig {
  partitions: StsPartition[];
  allowedAccountIds: Set<string>;
  allowedRoleArns: string[];
  allowIamUsers: boolean;
  /** agent_path_template, compiled; undefined: the default layout (principal.ts). */
  agentPathTemplate: CompiledPathTemplate | undefined;
  serverIdHeaderValue: string | undefined;
  organization: IamOrgConfig | undefined;
  admission: AdmissionConfig;
  /** aws_call_timeout: bound on each Organizations call of verify_organization. */
  awsCallTimeoutMs: number;
  logLevel: LogLevel;
}

export interface IamAgentConfig {
  endpoint: StsEndpoint;
  serverIdHeaderValue: string | undefined;
  logLevel: LogLevel;
}

const serverIdField = {
  type: "string",
  doc: "Value of the signed x-spire-server-id header (Vault's iam_server_id_header_value). Set the same value on the server and its agents; a response signed for another server is then refused.",
} as const;

export const iamServerFields = {
  partitions: {
    type: "stringList",
    doc: 'Partitions whose STS endpoints are accepted: aws, aws-cn, aws-us-gov. Default ["aws"].',
  },
  allowed_account_ids: {
    type: "stringList",
    doc: "Accounts whose principals may attest. With allowed_role_arns both must match.",
  },
  allowed_role_arns: {
    type: "stringList",
    doc: "Role ARN patterns (glob: * and ?) matched against arn:<partition>:iam::<account>:role/<name>; role paths are not visible and must not be written.",
  },
  allow_iam_users: {
    type: "bool",
    default: false,
    doc: "Accept IAM users (long-term keys) as well as assumed roles.",
  },
  server_id_header_value: serverIdField,
  agent_path_template: {
    type: "string",
    doc: "Path under /spire/agent for the agent ID (Go text/template, the functions of aws_iid's agent_path_template). Fields: .PluginName (aws_iam), .Partition, .AccountID, .PrincipalType (assumed-role or user), .PrincipalARN, .RoleName, .RoleARN, .SessionName, .UserName, .UserID. Default: /aws_iam/<account>/<role>/<session> (escaped), users /aws_iam/<account>/user/<name>/<user id>.",
  },
  verify_organization: serverFields.verify_organization,
  ...admissionFields,
  aws_call_timeout: {
    ...serverFields.aws_call_timeout,
    doc: "Timeout of each AWS Organizations call made for verify_organization.",
  },
  log_level: logLevelField,
} as const satisfies Fields;

export const iamAgentFields = {
  region: {
    type: "string",
    doc: "Region whose STS endpoint the request is signed for. Default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1.",
  },
  use_global_endpoint: {
    type: "bool",
    default: false,
    doc: "Sign for the global endpoint sts.amazonaws.com (aws partition) instead of the regional one.",
  },
  use_fips_endpoint: {
    type: "bool",
    default: false,
    doc: "Sign for the FIPS endpoint sts-fips.<region>.amazonaws.com.",
  },
  server_id_header_value: serverIdField,
  log_level: logLevelField,
} as const satisfies Fields;

/** Header values go out in a SigV4 canonical request: printable ASCII, bounded. */
const SERVER_ID_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;
const MAX_LIST = 1000;

/** plugin_data as SPIRE sends it (text), or a body already parsed (check-config, in place). */
/** A problem reporter that puts each message at its key's position. */
function reporter(
  problems: ConfigProblem[],
  positions: ReadonlyMap<string, Pos>,
): (path: string, message: string) => void {
  return (path, message) =>
    problems.push({ path, pos: positions.get(`${path}#value`) ?? positions.get(path), message });
}

/** A server configuration and what the server's environment adds to it. */
export interface PreparedIamServerConfig {
  config: IamServerConfig;
  /** AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL: where STS requests go instead of the signed host. */
  forwardTarget: StsForwardTarget | undefined;
}

/**
 * Everything the aws_iam server refuses at Configure, in the one function Configure, Validate
 * and check-config call: the schema, the policy bounds, agent_path_template compiled,
 * verify_organization's account_list_file read and checked (as aws_iid does), and the STS
 * endpoint override of `env` (the server process's environment).
 */
export async function prepareIamServerConfig(
  input: ConfigInput,
  env: NodeJS.ProcessEnv,
): Promise<ConfigParseResult<PreparedIamServerConfig>> {
  // A body parsed elsewhere (check-config's) is not text to look into: load what it may call.
  await prepareTemplateFunctions(
    typeof input === "string" || input instanceof Uint8Array
      ? Buffer.from(input).toString("utf8")
      : undefined,
  );
  const decoded = iamServerConfigFromAst(input);
  if (decoded.config === undefined) return { problems: decoded.problems };
  const problems: ConfigProblem[] = [];
  const listProblem = await accountListFileProblem(decoded.config.organization, (path) =>
    decoded.positions?.get(`${path}#value`),
  );
  if (listProblem !== undefined) problems.push(listProblem);
  let forwardTarget: StsForwardTarget | undefined;
  try {
    forwardTarget = stsForwardTargetFromEnv(env);
  } catch (err) {
    const variable = env.AWS_ENDPOINT_URL_STS ? "AWS_ENDPOINT_URL_STS" : "AWS_ENDPOINT_URL";
    problems.push({ message: `${variable} of the server's environment: ${describeError(err)}` });
  }
  if (problems.length > 0) return { problems };
  return { problems: [], config: { config: decoded.config, forwardTarget } };
}

/** The text-only checks of server plugin_data (no file is read). */
export function iamServerConfigFromAst(
  input: ConfigInput,
): ConfigParseResult<IamServerConfig> & { positions?: ReadonlyMap<string, Pos> } {
  const rooted = parseForDecoding(input);
  if (rooted.root === undefined) return { problems: rooted.problems };
  const { value: raw, problems, positions } = decodeWithSchema(rooted.root, iamServerFields);
  const add = reporter(problems, positions);

  const partitions = raw.partitions ?? ["aws"];
  if (partitions.length === 0) add("partitions", "partitions must name at least one partition");
  for (const p of partitions) {
    if (!(STS_PARTITIONS as readonly string[]).includes(p)) {
      add(
        "partitions",
        `partitions: unknown partition ${JSON.stringify(p)} (supported: ${STS_PARTITIONS.join(", ")})`,
      );
    }
  }
  const accounts = boundedList(raw.allowed_account_ids, "allowed_account_ids", add);
  for (const a of accounts) {
    if (!isAccountId(a))
      add("allowed_account_ids", `allowed_account_ids: ${JSON.stringify(a)} is not a 12-digit account ID`);
  }
  const roleArns = boundedList(raw.allowed_role_arns, "allowed_role_arns", add);
  for (const pattern of roleArns) {
    const problem = roleArnPatternProblem(pattern);
    if (problem !== undefined) add("allowed_role_arns", problem);
  }
  let agentPathTemplate: CompiledPathTemplate | undefined;
  if (raw.agent_path_template !== undefined) {
    try {
      agentPathTemplate = compileIamAgentPathTemplate(raw.agent_path_template);
    } catch (err) {
      add("agent_path_template", describeError(err));
    }
  }
  const firstPartition = (partitions[0] ?? "aws") as StsPartition;
  const organization = organizationConfig(raw.verify_organization, firstPartition, add, (path) =>
    positions.get(`${path}#value`),
  );
  if (accounts.length === 0 && organization === undefined) {
    // Anyone can open an AWS account in minutes: with no bound, every AWS principal on the
    // internet could attest. Teleport and Vault likewise require an allow rule. A role
    // pattern bounds only if it names the account: "arn:aws:iam::*:role/x" admits role x in
    // any account, so on its own it is no bound at all.
    if (roleArns.length === 0 && raw.verify_organization === undefined) {
      problems.push({
        message:
          "aws_iam needs a bound on who may attest: set allowed_account_ids, allowed_role_arns and/or verify_organization",
      });
    }
    for (const pattern of roleArns) {
      if (roleArnPatternProblem(pattern) !== undefined || patternFixesAccount(pattern)) continue;
      add(
        "allowed_role_arns",
        `allowed_role_arns: ${JSON.stringify(pattern)} does not fix the account (a wildcard there matches a role of that name in any AWS account, including one an attacker opens); write a 12-digit account ID in the pattern, or set allowed_account_ids or verify_organization as well`,
      );
    }
  }
  const serverIdHeaderValue = serverId(raw.server_id_header_value, (m) => add("server_id_header_value", m));
  const logLevel = checkLogLevel(raw.log_level, (m) => add("log_level", m));
  if (problems.length > 0 || logLevel === undefined) return { problems: sortProblems(problems), positions };
  return {
    problems: [],
    positions,
    config: {
      partitions: [...new Set(partitions)] as StsPartition[],
      allowedAccountIds: new Set(accounts),
      allowedRoleArns: roleArns,
      allowIamUsers: raw.allow_iam_users,
      agentPathTemplate,
      serverIdHeaderValue,
      organization,
      admission: admissionConfig(raw),
      awsCallTimeoutMs: raw.aws_call_timeout.ms,
      logLevel,
    },
  };
}

/** Parses and checks server plugin_data; throws ConfigurationError listing every problem (tests). */
export function decodeIamServerConfig(hcl: string): IamServerConfig {
  const decoded = iamServerConfigFromAst(hcl);
  if (decoded.config === undefined) throw new ConfigurationError(decoded.problems);
  return decoded.config;
}

/**
 * Everything the aws_iam agent refuses at Configure (Configure, Validate and check-config).
 * The region defaults from `env` (AWS_REGION, AWS_DEFAULT_REGION), as the agent's process sees it.
 */
export function iamAgentConfigFromAst(
  input: ConfigInput,
  env: NodeJS.ProcessEnv,
): ConfigParseResult<IamAgentConfig> {
  const rooted = parseForDecoding(input);
  if (rooted.root === undefined) return { problems: rooted.problems };
  const { value: raw, problems, positions } = decodeWithSchema(rooted.root, iamAgentFields);
  const add = reporter(problems, positions);
  const region = raw.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  let endpoint: StsEndpoint | undefined;
  if (!isKnownRegion(region)) {
    add("region", `region ${JSON.stringify(region)} is not a known AWS region with an STS endpoint`);
  } else {
    try {
      endpoint = agentStsEndpoint(region, { global: raw.use_global_endpoint, fips: raw.use_fips_endpoint });
    } catch (err) {
      add(raw.use_global_endpoint ? "use_global_endpoint" : "use_fips_endpoint", describeError(err));
    }
  }
  const serverIdHeaderValue = serverId(raw.server_id_header_value, (m) => add("server_id_header_value", m));
  const logLevel = checkLogLevel(raw.log_level, (m) => add("log_level", m));
  if (problems.length > 0 || endpoint === undefined || logLevel === undefined) {
    return { problems: sortProblems(problems) };
  }
  return { problems: [], config: { endpoint, serverIdHeaderValue, logLevel } };
}

/** Agent plugin_data; throws ConfigurationError listing every problem. */
export function decodeIamAgentConfig(hcl: string, env: NodeJS.ProcessEnv): IamAgentConfig {
  const decoded = iamAgentConfigFromAst(hcl, env);
  if (decoded.config === undefined) throw new ConfigurationError(decoded.problems);
  return decoded.config;
}

/**
 * Role paths are invisible in what STS returns (assumed-role/<name>/<session>), so a pattern
 * with a path could never match; refusing it at configure time beats a silent deny-all.
 */
function roleArnPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0 || pattern.length > 2048)
    return "allowed_role_arns: patterns must be 1 to 2048 characters";
  if (!pattern.startsWith("arn:") && !pattern.startsWith("*")) {
    return `allowed_role_arns: ${JSON.stringify(pattern)} is not an IAM role ARN pattern`;
  }
  const at = pattern.indexOf(":role/");
  if (at !== -1 && pattern.slice(at + 6).includes("/")) {
    return `allowed_role_arns: ${JSON.stringify(pattern)} has a role path; STS reports assumed roles without their path, so write arn:<partition>:iam::<account>:role/<name>`;
  }
  return undefined;
}

/**
 * Whether a role pattern admits one account only: arn:<partition>:iam::<account>:role/<name>
 * with a literal 12-digit account. A role ARN has exactly five colons (IAM names cannot contain
 * one), so a pattern with five literal colons lines up field by field and no wildcard can
 * reach into the account field from its neighbours.
 */
function patternFixesAccount(pattern: string): boolean {
  const fields = pattern.split(":");
  return fields.length === 6 && /^\d{12}$/.test(fields[4] ?? "");
}

/** verify_organization, validated exactly as for aws_iid (src/server/config.ts). */
function organizationConfig(
  block: VerifyOrganizationBlock | undefined,
  partition: StsPartition,
  add: (path: string, message: string) => void,
  at: (path: string) => Pos | undefined,
): IamOrgConfig | undefined {
  const org = checkVerifyOrganizationBlock(block, partition, add, at);
  return org === undefined ? undefined : { ...org, partition };
}

function boundedList(
  v: string[] | undefined,
  key: string,
  add: (path: string, message: string) => void,
): string[] {
  if (v === undefined) return [];
  if (v.length > MAX_LIST) add(key, `${key} has more than ${MAX_LIST} entries`);
  return v;
}

function serverId(v: string | undefined, report: (message: string) => void): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (!SERVER_ID_PATTERN.test(v)) {
    report("server_id_header_value must be 1 to 256 printable ASCII characters");
    return undefined;
  }
  return v;
}
