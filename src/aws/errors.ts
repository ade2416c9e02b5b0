/**
 * AWS failures → PluginError, so SPIRE agents do the right thing (see common/errors.ts).
 *
 * Everything that can change by waiting or by an operator fixing the server is Unavailable:
 * throttling, timeouts, 5xx, network errors, malformed responses, expired or invalid server
 * credentials — and AccessDenied/UnauthorizedOperation on the plugin's own calls. The last
 * one is a deliberate choice: a missing `ec2:DescribeInstances` permission is a server
 * misconfiguration, not evidence against the node. PermissionDenied would make every agent
 * stop for good (SPIRE agents exit on it) and need a restart after the operator fixes the
 * policy; Unavailable keeps them retrying, and the message names the missing permission.
 *
 * The only AWS answers that reject a node are decided by callers: the instance is not there
 * or not running, and the node's account refuses our `assume_role` (see credentials.ts).
 *
 * Messages carry the API, account, region and the AWS error code; never a secret (AWS error
 * texts contain ARNs and key IDs at most; we cut them to a bounded length anyway).
 */
import { isPluginError, type PluginError, unavailable } from "../common/errors";

export interface AwsCallContext {
  /** e.g. "DescribeInstances". */
  api: string;
  /** IAM action the call needs, e.g. "ec2:DescribeInstances". */
  permission: string;
  account: string;
  region: string;
  /** Who the plugin acts as, for messages: "role arn:…" or "the configured access key". */
  principal: string;
  timeoutMs: number;
}

/** Error codes the SDK and AWS use for throttling (the SDK's own list plus EC2's). */
const THROTTLING = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "EC2ThrottledException",
  "SlowDown",
  "PriorRequestNotComplete",
  "BandwidthLimitExceeded",
  "ProvisionedThroughputExceededException",
]);

const ACCESS_DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "UnauthorizedException",
  "Blocked",
  "OptInRequired",
]);

const BAD_CREDENTIALS = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "AuthFailure",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "InvalidAccessKeyId",
]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
  $response?: unknown;
}

function shape(err: unknown): ErrorShape {
  return typeof err === "object" && err !== null ? (err as ErrorShape) : {};
}

/** The AWS error code (SDK exception name), or the Node error code, or "Error". */
export function awsErrorCode(err: unknown): string {
  const s = shape(err);
  if (typeof s.name === "string" && s.name !== "Error") return s.name;
  if (typeof s.code === "string") return s.code;
  return "Error";
}

export function httpStatusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

function briefMessage(err: unknown): string {
  const m = shape(err).message;
  const text = typeof m === "string" ? m : String(err);
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 240 ? `${oneLine.slice(0, 240)}…` : oneLine;
}

export type AwsFailureKind =
  | "throttled"
  | "timeout"
  | "access-denied"
  | "credentials"
  | "no-credentials"
  | "server-error"
  | "network"
  | "malformed"
  | "other";

export function failureKind(err: unknown): AwsFailureKind {
  const code = awsErrorCode(err);
  const status = httpStatusOf(err);
  const nodeCode = shape(err).code;
  if (THROTTLING.has(code) || status === 429) return "throttled";
  // The SDK names socket errors "TimeoutError" (so its retry logic treats them as transient);
  // the Node error code tells a reset connection from a deadline.
  if (typeof nodeCode === "string" && NETWORK_CODES.has(nodeCode)) return "network";
  if (code === "AbortError" || code === "TimeoutError" || code === "RequestTimeout") return "timeout";
  if (ACCESS_DENIED.has(code)) return "access-denied";
  if (BAD_CREDENTIALS.has(code)) return "credentials";
  // The SDK's credential chain found nothing locally: no request ever reached AWS.
  if (code === "CredentialsProviderError") return "no-credentials";
  if (NETWORK_CODES.has(code)) return "network";
  if (status !== undefined && status >= 500) return "server-error";
  const message = briefMessage(err);
  if (/socket hang up|ECONNRESET|premature close|aborted/i.test(message)) return "network";
  if (
    /deseriali[sz]|unexpected (token|end)|not valid json|xml|parse|char/i.test(message) ||
    (status !== undefined && status < 300)
  ) {
    return "malformed";
  }
  return "other";
}

/**
 * What the SDK's default chain (fromNodeProviderChain) looks at, in its order, for the message
 * an operator sees off EC2 or without a role: AWS never saw a request, so "rejected" would be
 * wrong.
 */
const NO_CREDENTIALS_HINT =
  "the AWS SDK default credential chain found none (it tried the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment, " +
  "the shared config and credentials files (AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE, e.g. EKS IRSA), " +
  "ECS/EKS container credentials and the EC2 instance role from IMDS); AWS never saw the request. " +
  "Give the server a role or set access_key_id/secret_access_key";

/** Maps any failure of an AWS call to the PluginError an agent should see. */
export function classifyAwsError(err: unknown, ctx: AwsCallContext): PluginError {
  if (isPluginError(err)) return err;
  const where = `account ${ctx.account} region ${ctx.region}`;
  const code = awsErrorCode(err);
  const status = httpStatusOf(err);
  const message = briefMessage(err);
  // A bare 5xx without an AWS error body surfaces as "Unknown: Unknown"; say HTTP status instead.
  const detail =
    code === "Unknown" || message === "Unknown" || message === ""
      ? `HTTP ${status ?? "error"}${code === "Unknown" ? "" : ` ${code}`}`
      : `${code}: ${message}`;
  switch (failureKind(err)) {
    case "throttled":
      return unavailable(
        `AWS throttled ${ctx.api} in ${where} and retries with backoff did not get through (${code}); the agent will retry`,
        err,
      );
    case "timeout":
      return unavailable(
        `AWS ${ctx.api} in ${where} did not complete within aws_call_timeout (${ctx.timeoutMs} ms); the agent will retry`,
        err,
      );
    case "access-denied":
      return unavailable(
        `AWS denied ${ctx.api} in ${where} to ${ctx.principal}: grant ${ctx.permission} to it (server misconfiguration, not the node's fault; agents keep retrying) (${detail})`,
        err,
      );
    case "credentials":
      return unavailable(
        `AWS rejected ${ctx.principal} for ${ctx.api} in ${where} (${code}); check the server's AWS credentials`,
        err,
      );
    case "no-credentials":
      return unavailable(
        `no AWS credentials to call ${ctx.api} in ${where}: ${NO_CREDENTIALS_HINT} (${detail})`,
        err,
      );
    case "server-error":
      return unavailable(
        `AWS ${ctx.api} in ${where} failed with a server error (${detail}); the agent will retry`,
        err,
      );
    case "network":
      return unavailable(
        `network error calling AWS ${ctx.api} in ${where} (${detail}); the agent will retry`,
        err,
      );
    case "malformed":
      return unavailable(`malformed response from AWS ${ctx.api} in ${where} (${detail})`, err);
    case "other":
      return unavailable(`AWS ${ctx.api} in ${where} failed (${detail})`, err);
  }
}
