/**
 * aws_iam configuration: the typed settings and their checks. Values arrive as the plain
 * object the HCL decoder produces (see parseIamConfigText); every key is known or refused,
 * because a misspelt policy key (allowed_acount_ids) silently widening who may attest is the
 * failure SPIRE's aws_iid has and we do not want.
 */
import { invalidArgument } from "../common/errors";
import {
  agentStsEndpoint,
  isKnownRegion,
  PARTITIONS,
  type Partition,
  type StsEndpoint,
} from "./sts-endpoints";

export interface IamServerConfig {
  partitions: Partition[];
  allowedAccountIds: Set<string>;
  allowedRoleArns: string[];
  allowIamUsers: boolean;
  serverIdHeaderValue: string | undefined;
  agentPathTemplate: string | undefined;
  logLevel: string | undefined;
}

export interface IamAgentConfig {
  endpoint: StsEndpoint;
  serverIdHeaderValue: string | undefined;
  logLevel: string | undefined;
}

export const SERVER_KEYS = [
  "partitions",
  "allowed_account_ids",
  "allowed_role_arns",
  "allow_iam_users",
  "server_id_header_value",
  "agent_path_template",
  "log_level",
] as const;

export const AGENT_KEYS = [
  "region",
  "use_global_endpoint",
  "use_fips_endpoint",
  "server_id_header_value",
  "log_level",
] as const;

const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "error"]);
/** Header values go out in a SigV4 canonical request: printable ASCII, bounded. */
const SERVER_ID_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;
const MAX_LIST = 1000;

export function decodeIamServerConfig(raw: Record<string, unknown>): IamServerConfig {
  rejectUnknownKeys(raw, SERVER_KEYS);
  const partitions = stringList(raw, "partitions") ?? ["aws"];
  if (partitions.length === 0) throw invalidArgument("partitions must name at least one partition");
  for (const p of partitions) {
    if (!(PARTITIONS as readonly string[]).includes(p)) {
      throw invalidArgument(
        `partitions: unknown partition ${JSON.stringify(p)} (supported: ${PARTITIONS.join(", ")})`,
      );
    }
  }
  const accounts = stringList(raw, "allowed_account_ids") ?? [];
  for (const a of accounts) {
    if (!/^\d{12}$/.test(a))
      throw invalidArgument(`allowed_account_ids: ${JSON.stringify(a)} is not a 12-digit account ID`);
  }
  const roleArns = stringList(raw, "allowed_role_arns") ?? [];
  for (const pattern of roleArns) checkRoleArnPattern(pattern);
  const allowIamUsers = bool(raw, "allow_iam_users") ?? false;
  if (accounts.length === 0 && roleArns.length === 0) {
    // Anyone can open an AWS account in minutes: with no bound, every AWS principal on the
    // internet could attest. Teleport and Vault likewise require an allow rule.
    throw invalidArgument(
      "aws_iam needs a bound on who may attest: set allowed_account_ids and/or allowed_role_arns",
    );
  }
  return {
    partitions: [...new Set(partitions)] as Partition[],
    allowedAccountIds: new Set(accounts),
    allowedRoleArns: roleArns,
    allowIamUsers,
    serverIdHeaderValue: serverId(raw),
    agentPathTemplate: optionalString(raw, "agent_path_template"),
    logLevel: logLevel(raw),
  };
}

export function decodeIamAgentConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): IamAgentConfig {
  rejectUnknownKeys(raw, AGENT_KEYS);
  const region = optionalString(raw, "region") ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1");
  if (!isKnownRegion(region)) {
    throw invalidArgument(`region ${JSON.stringify(region)} is not a known AWS region with an STS endpoint`);
  }
  let endpoint: StsEndpoint;
  try {
    endpoint = agentStsEndpoint(region, {
      global: bool(raw, "use_global_endpoint") ?? false,
      fips: bool(raw, "use_fips_endpoint") ?? false,
    });
  } catch (err) {
    throw invalidArgument(err instanceof Error ? err.message : String(err));
  }
  return { endpoint, serverIdHeaderValue: serverId(raw), logLevel: logLevel(raw) };
}

/**
 * Role paths are invisible in what STS returns (assumed-role/<name>/<session>), so a pattern
 * with a path could never match; refusing it at configure time beats a silent deny-all.
 */
function checkRoleArnPattern(pattern: string): void {
  if (pattern.length === 0 || pattern.length > 2048) {
    throw invalidArgument("allowed_role_arns: patterns must be 1 to 2048 characters");
  }
  if (!pattern.startsWith("arn:") && !pattern.startsWith("*")) {
    throw invalidArgument(`allowed_role_arns: ${JSON.stringify(pattern)} is not an IAM role ARN pattern`);
  }
  const at = pattern.indexOf(":role/");
  if (at !== -1 && pattern.slice(at + 6).includes("/")) {
    throw invalidArgument(
      `allowed_role_arns: ${JSON.stringify(pattern)} has a role path; STS reports assumed roles without their path, so write arn:<partition>:iam::<account>:role/<name>`,
    );
  }
}

function rejectUnknownKeys(raw: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw invalidArgument(`unknown configuration key ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalidArgument(`${key} must be a string`);
  return v;
}

function bool(raw: Record<string, unknown>, key: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  // HCL v1 decodes "true"/"false" strings into Go bools; keep that for drop-in configs.
  if (v === "true" || v === "false") return v === "true";
  if (typeof v !== "boolean") throw invalidArgument(`${key} must be true or false`);
  return v;
}

function stringList(raw: Record<string, unknown>, key: string): string[] | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw invalidArgument(`${key} must be a list of strings`);
  }
  if (v.length > MAX_LIST) throw invalidArgument(`${key} has more than ${MAX_LIST} entries`);
  return v as string[];
}

function serverId(raw: Record<string, unknown>): string | undefined {
  const v = optionalString(raw, "server_id_header_value");
  if (v === undefined || v === "") return undefined;
  if (!SERVER_ID_PATTERN.test(v)) {
    throw invalidArgument("server_id_header_value must be 1 to 256 printable ASCII characters");
  }
  return v;
}

function logLevel(raw: Record<string, unknown>): string | undefined {
  const v = optionalString(raw, "log_level");
  if (v !== undefined && !LOG_LEVELS.has(v.toLowerCase())) {
    throw invalidArgument(`log_level ${JSON.stringify(v)} is not one of trace, debug, info, warn, error`);
  }
  return v?.toLowerCase();
}
