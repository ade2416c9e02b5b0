/**
 * Sends the verified, agent-signed GetCallerIdentity to STS and reads who signed it.
 *
 * Where it goes: to the host the agent signed for (already checked against the known STS
 * endpoints), unless the AWS SDK's standard endpoint override is set (AWS_ENDPOINT_URL_STS,
 * then AWS_ENDPOINT_URL, both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true). The
 * override changes only where the bytes are sent — a loopback fake in tests, or a proxy/VPC
 * endpoint — never what was signed: the signed Host header travels unchanged, so the
 * signature still names a real STS host and STS (or the fake) verifies it as such.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { describeError, permissionDenied, unavailable } from "../common/errors";
import type { VerifiedStsRequest } from "./verify-request";

/** Teleport allows its whole IAM join a minute; one STS round trip gets 10 s of it. */
export const STS_FORWARD_TIMEOUT_MS = 10_000;
const MAX_STS_RESPONSE_BYTES = 64 * 1024;

export interface StsForwardTarget {
  protocol: "http:" | "https:";
  hostname: string;
  port: number;
  path: string;
}

export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** Codes STS uses for "try again later"; everything else 4xx is a verdict on the request. */
const TRANSIENT_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "ServiceUnavailable",
  "InternalFailure",
  "InternalError",
  "RequestTimeout",
]);

/** The SDK's endpoint override, read the way the SDK reads it (environment only; no profile file). */
export function stsForwardTargetFromEnv(env: NodeJS.ProcessEnv): StsForwardTarget | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "").toLowerCase() === "true") return undefined;
  const raw = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`AWS endpoint override ${JSON.stringify(raw)} is not a URL`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== "") {
    throw new Error(
      `AWS endpoint override ${JSON.stringify(raw)} must be an http(s) URL without credentials`,
    );
  }
  const defaultPort = url.protocol === "https:" ? 443 : 80;
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? defaultPort : Number(url.port),
    path: url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`,
  };
}

export async function forwardToSts(
  req: VerifiedStsRequest,
  target: StsForwardTarget | undefined,
  signal: AbortSignal,
  timeoutMs: number = STS_FORWARD_TIMEOUT_MS,
): Promise<CallerIdentity> {
  const to: StsForwardTarget = target ?? {
    protocol: "https:",
    hostname: req.endpoint.host,
    port: 443,
    path: "/",
  };
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  let status: number;
  let body: string;
  try {
    ({ status, body } = await send(to, req, deadline));
  } catch (err) {
    if (signal.aborted) throw unavailable("attestation cancelled while waiting for STS", err);
    throw unavailable(`STS ${req.endpoint.host} unreachable: ${describeError(err)}`, err);
  }
  if (status === 200) return parseGetCallerIdentity(body);
  const code = xmlText(body, "Code");
  const message = (xmlText(body, "Message") ?? "").slice(0, 256);
  const detail = code === undefined ? `HTTP ${status}` : `${code}: ${message}`;
  if (status >= 500 || status === 429 || (code !== undefined && TRANSIENT_CODES.has(code))) {
    throw unavailable(`STS could not answer GetCallerIdentity (${detail}); try again`);
  }
  // SignatureDoesNotMatch, IncompleteSignature, InvalidClientTokenId, ExpiredToken, AccessDenied...
  throw permissionDenied(`STS rejected the signed GetCallerIdentity (${detail})`);
}

function send(
  to: StsForwardTarget,
  req: VerifiedStsRequest,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = Object.fromEntries(req.headers);
    headers["content-length"] = String(Buffer.byteLength(req.body));
    const options = {
      protocol: to.protocol,
      hostname: to.hostname,
      port: to.port,
      path: to.path,
      method: "POST",
      headers,
      signal,
      // TLS name check against the host we connect to; without an override that is the signed STS host.
      servername: to.protocol === "https:" && /^[a-z0-9.-]+$/i.test(to.hostname) ? to.hostname : undefined,
      agent: false as const,
    };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_STS_RESPONSE_BYTES) {
          res.destroy(new Error(`STS response over ${MAX_STS_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("STS response aborted")));
    };
    const r = to.protocol === "https:" ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
    r.on("error", reject);
    r.end(req.body);
  });
}

function parseGetCallerIdentity(body: string): CallerIdentity {
  const result = /<GetCallerIdentityResult>([\s\S]*?)<\/GetCallerIdentityResult>/.exec(body)?.[1];
  const arn = result === undefined ? undefined : xmlText(result, "Arn");
  const account = result === undefined ? undefined : xmlText(result, "Account");
  const userId = result === undefined ? undefined : xmlText(result, "UserId");
  if (arn === undefined || account === undefined || userId === undefined) {
    throw unavailable("STS GetCallerIdentity answered 200 without Arn, Account and UserId");
  }
  return { arn, account, userId };
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]{0,2048})</${tag}>`).exec(xml);
  if (m === null) return undefined;
  return m[1]!
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
