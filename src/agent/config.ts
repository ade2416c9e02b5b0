/**
 * Agent-side configuration: SPIRE's one aws_iid agent key (ec2_metadata_endpoint) plus this
 * project's IMDS client settings. The AWS SDK defaults (1 s timeout, 3 attempts, IMDSv1
 * fallback) are what SPIRE's Go agent gets, so they are our defaults too. aws-sdk-go-v2's IMDS
 * client makes 3 attempts (retry.NewStandard's MaxAttempts), i.e. 2 retries after the first.
 */

import { describeError } from "../common/errors";
import type { LogLevel } from "../common/logger";
import type { ObjectList, Pos } from "../hcl/ast";
import {
  type ConfigInput,
  type ConfigProblem,
  type Duration,
  decodeWithSchema,
  type Fields,
  parseForDecoding,
} from "../hcl/schema";
import {
  type ConfigParseResult,
  checkLogLevel,
  DEFAULT_LOG_LEVEL,
  logLevelField,
  sortProblems,
} from "../server/config";
import { type ImdsEnv, resolveImdsEndpoint, resolveV1FallbackDisabled } from "./imds-client";

export const agentFields = {
  ec2_metadata_endpoint: {
    type: "string",
    doc: "Base URL of the instance metadata service, with or without a trailing /latest (e.g. http://169.254.169.254/latest). Default: the AWS SDK's (http://169.254.169.254, or AWS_EC2_METADATA_SERVICE_ENDPOINT).",
  },
  imds_timeout: {
    type: "duration",
    default: "1s",
    min: "1ms",
    max: "5m",
    doc: "Timeout of each IMDS request (Go duration).",
  },
  imds_retries: {
    type: "int",
    // 2 retries = 3 attempts, aws-sdk-go-v2's IMDS client default (what SPIRE's agent gets).
    default: 2,
    min: 0,
    max: 10,
    doc: "Retries of a failed IMDS request after the first attempt (2 → up to 3 attempts, the AWS SDK's default).",
  },
  disable_imdsv1_fallback: {
    type: "bool",
    default: false,
    doc: "Never fall back to IMDSv1 when the IMDSv2 token request fails (like AWS_EC2_METADATA_V1_DISABLED).",
  },
  log_level: logLevelField,
} as const satisfies Fields;

export interface AgentConfig {
  /** Normalised base URL without a trailing "/" or "/latest"; undefined: SDK default. */
  ec2MetadataEndpoint: string | undefined;
  imdsTimeout: Duration;
  imdsRetries: number;
  disableImdsv1Fallback: boolean;
  logLevel: LogLevel;
  positions: ReadonlyMap<string, Pos>;
}

/**
 * Everything the aws_iid agent refuses at Configure, in the one function Configure, Validate
 * and check-config call: plugin_data, then the IMDS settings of `env` (the agent process's
 * environment: AWS_EC2_METADATA_SERVICE_ENDPOINT(_MODE), AWS_EC2_METADATA_V1_DISABLED), which
 * the AWS SDK also refuses at start.
 */
export function prepareAgentConfig(input: ConfigInput, env: ImdsEnv): ConfigParseResult<AgentConfig> {
  const parsed = parseForDecoding(input);
  if (parsed.root === undefined) return { problems: parsed.problems };
  const root = parsed.root;
  const decoded = agentConfigFromAst(root);
  if (decoded.config === undefined) return decoded;
  const problems: ConfigProblem[] = [];
  for (const check of [
    () => resolveImdsEndpoint(decoded.config!.ec2MetadataEndpoint, env),
    () => resolveV1FallbackDisabled(decoded.config!.disableImdsv1Fallback, env),
  ]) {
    try {
      check();
    } catch (err) {
      problems.push({ message: describeError(err) });
    }
  }
  return problems.length > 0 ? { problems } : decoded;
}

export function parseAgentConfig(hcl: string): ConfigParseResult<AgentConfig> {
  const parsed = parseForDecoding(hcl);
  return parsed.root === undefined ? { problems: parsed.problems } : agentConfigFromAst(parsed.root);
}

export function agentConfigFromAst(root: ObjectList): ConfigParseResult<AgentConfig> {
  const { value: raw, problems, positions } = decodeWithSchema(root, agentFields);
  const add = (path: string, message: string): void => {
    problems.push({ path, pos: positions.get(`${path}#value`) ?? positions.get(path), message });
  };
  let endpoint: string | undefined;
  if (raw.ec2_metadata_endpoint !== undefined && raw.ec2_metadata_endpoint !== "") {
    endpoint = normalizeEndpoint(raw.ec2_metadata_endpoint, (m) => add("ec2_metadata_endpoint", m));
  }
  const logLevel = checkLogLevel(raw.log_level, (m) => add("log_level", m));
  if (problems.length > 0) return { problems: sortProblems(problems) };
  return {
    problems: [],
    config: {
      ec2MetadataEndpoint: endpoint,
      imdsTimeout: raw.imds_timeout,
      imdsRetries: raw.imds_retries,
      disableImdsv1Fallback: raw.disable_imdsv1_fallback,
      logLevel: logLevel ?? DEFAULT_LOG_LEVEL,
      positions,
    },
  };
}

/**
 * SPIRE's docs show "http://169.254.169.254/latest" while the SDK appends "/latest/..." itself
 * to a bare host; accept both and keep the base.
 */
export function normalizeEndpoint(text: string, report: (m: string) => void): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report(
      `ec2_metadata_endpoint: ${JSON.stringify(text)} is not a URL (expected e.g. http://169.254.169.254/latest)`,
    );
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    report(`ec2_metadata_endpoint: scheme must be http or https, got ${url.protocol.replace(/:$/, "")}`);
    return undefined;
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    report("ec2_metadata_endpoint: must not contain credentials, a query or a fragment");
    return undefined;
  }
  let path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith("/latest")) path = path.slice(0, -"/latest".length);
  return `${url.protocol}//${url.host}${path}`;
}
