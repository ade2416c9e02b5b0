/**
 * One error type for the whole plugin: every failure that reaches SPIRE carries a gRPC
 * status code chosen on purpose, because SPIRE agents act on it.
 *
 * - PermissionDenied: the evidence is definitively rejected. SPIRE's agent bootstrap loop
 *   treats it as terminal and exits instead of retrying.
 * - Unavailable: transient trouble (AWS throttling, timeouts, 5xx). The agent retries every
 *   5 s, which is what we want for a throttled DescribeInstances.
 * - InvalidArgument: malformed payload or configuration.
 * - FailedPrecondition: an RPC before Configure ("not configured").
 * - Internal: only for bugs. SPIRE's built-in aws_iid uses Internal for policy rejections,
 *   which makes agents loop for a minute against a decision that will never change.
 *
 * The numeric values are gRPC's (google.rpc.Code); this module deliberately does not import
 * grpc-js so that the attestation logic stays free of transport concerns.
 */
export const Code = {
  OK: 0,
  Cancelled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export type Code = (typeof Code)[keyof typeof Code];

export const codeName: Record<Code, string> = Object.fromEntries(
  Object.entries(Code).map(([name, value]) => [value, name]),
) as Record<Code, string>;

export class PluginError extends Error {
  override readonly name = "PluginError";
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const invalidArgument = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.InvalidArgument, message, { cause });
export const permissionDenied = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.PermissionDenied, message, { cause });
export const unavailable = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.Unavailable, message, { cause });
export const failedPrecondition = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.FailedPrecondition, message, { cause });
export const resourceExhausted = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.ResourceExhausted, message, { cause });
export const internal = (message: string, cause?: unknown): PluginError =>
  new PluginError(Code.Internal, message, { cause });

export function isPluginError(err: unknown): err is PluginError {
  return err instanceof PluginError;
}

/** A message safe to put in a log line or an error text: never a stack, never undefined. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
