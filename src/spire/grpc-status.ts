/**
 * PluginError -> gRPC status. SPIRE passes our code and message through to the agent
 * (prefixed "nodeattestor(<name>): "), and the agent acts on the code: PermissionDenied stops
 * it, anything else is retried. So the code of a PluginError is kept exactly, and anything
 * that is not a PluginError is a bug: Internal, with the reason in our log rather than in an
 * error text that travels to the agent.
 */
import { type handleUnaryCall, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Code, describeError, isPluginError } from "../common/errors";
import type { Logger } from "../common/logger";

export function statusFor(code: Code, details: string): ServiceError {
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = new Metadata();
  return err;
}

export function toServiceError(err: unknown, logger: Logger, operation: string): ServiceError {
  if (isPluginError(err) && err.code !== Code.OK) {
    logger.debug(`${operation} failed`, { code: err.code, error: err.message });
    return statusFor(err.code, err.message);
  }
  const stack = err instanceof Error ? err.stack : undefined;
  logger.error(`${operation} failed with an unexpected error`, { error: describeError(err) });
  if (stack !== undefined) logger.debug(`${operation} failure stack`, { stack });
  return statusFor(Code.Internal, `internal error in ${operation}; see the plugin log`);
}

/** grpc-js client errors carry a numeric code; map it back onto our Code (same numbers). */
export function grpcCodeOf(err: unknown): Code {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number" && code >= 0 && code <= 16) return code as Code;
  }
  return Code.Unknown;
}

export function grpcDetailsOf(err: unknown): string {
  if (typeof err === "object" && err !== null && "details" in err) {
    const details = (err as { details: unknown }).details;
    if (typeof details === "string" && details !== "") return details;
  }
  return describeError(err);
}

/** A unary gRPC handler from an async function: its result, or its failure as a status (toServiceError). */
export function unaryHandler<Req, Res>(
  operation: string,
  logger: Logger,
  handle: (request: Req) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handle(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err, logger, operation)),
    );
  };
}
