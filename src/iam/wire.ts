/**
 * What travels between the aws_iam agent and server plugins, and the size caps on it.
 *
 * payload (agent -> server, unprompted): a small JSON hello, so that a server configured
 * for aws_iam fails clearly when an aws_iid agent (or garbage) talks to it.
 * challenge (server -> agent): 32 random bytes.
 * challenge response (agent -> server): the signed sts:GetCallerIdentity request as JSON:
 * method, url, headers, body. The server re-checks every part of it before forwarding.
 */
import { invalidArgument } from "../common/errors";

export const IAM_METHOD = "aws_iam";
export const IAM_WIRE_VERSION = 1;
export const CHALLENGE_BYTES = 32;

/** Signed header carrying base64(challenge); Teleport's X-Teleport-Challenge. */
export const CHALLENGE_HEADER = "x-spire-challenge";
/** Signed header carrying the server ID; Vault's X-Vault-AWS-IAM-Server-ID. */
export const SERVER_ID_HEADER = "x-spire-server-id";

export const GET_CALLER_IDENTITY_BODY = "Action=GetCallerIdentity&Version=2011-06-15";

export const MAX_PAYLOAD_BYTES = 1024;
/** A session token from EKS Pod Identity or SSO runs to ~2 KiB; 32 KiB leaves room, not more. */
export const MAX_RESPONSE_BYTES = 32 * 1024;
export const MAX_HEADERS = 32;
export const MAX_HEADER_NAME = 64;
export const MAX_HEADER_VALUE = 8 * 1024;
const MAX_URL = 256;
const MAX_BODY = 256;

export interface IamHello {
  method: typeof IAM_METHOD;
  version: number;
  /** The STS region the agent signs for; informational (the signed request is authoritative). */
  region: string;
}

export interface SignedStsRequest {
  method: string;
  url: string;
  /** Lower-cased header names, one value each. */
  headers: Map<string, string>;
  body: string;
}

export function encodeHello(hello: IamHello): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(hello));
}

export function decodeHello(bytes: Uint8Array): IamHello {
  if (bytes.length > MAX_PAYLOAD_BYTES) {
    throw invalidArgument(
      `aws_iam payload is ${bytes.length} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`,
    );
  }
  const value = parseJsonObject(bytes, "payload");
  if (value.method !== IAM_METHOD) {
    throw invalidArgument(
      `payload is not an aws_iam hello (method ${JSON.stringify(value.method ?? null)}); is the agent configured with plugin_args ["agent-iam"]?`,
    );
  }
  if (value.version !== IAM_WIRE_VERSION) {
    throw invalidArgument(`unsupported aws_iam payload version ${JSON.stringify(value.version ?? null)}`);
  }
  const region = value.region;
  if (typeof region !== "string" || !/^[a-z0-9-]{1,32}$/.test(region)) {
    throw invalidArgument("aws_iam payload has no valid region");
  }
  return { method: IAM_METHOD, version: IAM_WIRE_VERSION, region };
}

export function encodeSignedRequest(req: SignedStsRequest): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      method: req.method,
      url: req.url,
      headers: Object.fromEntries(req.headers),
      body: req.body,
    }),
  );
}

/** Shape and size checks only; the security checks are in verify-request.ts. */
export function decodeSignedRequest(bytes: Uint8Array): SignedStsRequest {
  if (bytes.length > MAX_RESPONSE_BYTES) {
    throw invalidArgument(
      `challenge response is ${bytes.length} bytes, over the ${MAX_RESPONSE_BYTES}-byte limit`,
    );
  }
  const value = parseJsonObject(bytes, "challenge response");
  const { method, url, body, headers } = value;
  if (typeof method !== "string" || method.length > 16) {
    throw invalidArgument("challenge response has no valid method");
  }
  if (typeof url !== "string" || url.length > MAX_URL) {
    throw invalidArgument("challenge response has no valid url");
  }
  if (typeof body !== "string" || body.length > MAX_BODY) {
    throw invalidArgument("challenge response has no valid body");
  }
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw invalidArgument("challenge response has no headers object");
  }
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) {
    throw invalidArgument(
      `challenge response has ${entries.length} headers, over the limit of ${MAX_HEADERS}`,
    );
  }
  const out = new Map<string, string>();
  for (const [rawName, rawValue] of entries) {
    // RFC 9110 token characters: anything else could split or smuggle a header when forwarded.
    if (
      rawName.length === 0 ||
      rawName.length > MAX_HEADER_NAME ||
      !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(rawName)
    ) {
      throw invalidArgument(
        `challenge response has an invalid header name ${JSON.stringify(rawName.slice(0, 64))}`,
      );
    }
    const name = rawName.toLowerCase();
    if (out.has(name)) throw invalidArgument(`challenge response repeats header ${name}`);
    // Printable ASCII only: no CR/LF (header injection), no NUL, nothing SigV4 would re-encode.
    if (
      typeof rawValue !== "string" ||
      rawValue.length > MAX_HEADER_VALUE ||
      !/^[\x20-\x7e]*$/.test(rawValue)
    ) {
      throw invalidArgument(`challenge response header ${name} has an invalid value`);
    }
    out.set(name, rawValue);
  }
  return { method, url, headers: out, body };
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidArgument(`${what} is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidArgument(`${what} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidArgument(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
