/**
 * A SigV4 verifier for the fake STS, so tests of the aws_iam method exercise the signature
 * for real: the fake recomputes the canonical request from what arrived on the wire (method,
 * path, query, the signed headers, the body) with the secret it issued, and refuses with the
 * error codes and messages real STS uses (IncompleteSignature, InvalidClientTokenId,
 * ExpiredToken, SignatureDoesNotMatch).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { FakeAwsError } from "./protocol";

export interface SigV4Secret {
  secretAccessKey: string;
  /** Temporary credentials: the request must carry this X-Amz-Security-Token. */
  sessionToken?: string;
  expiration?: Date;
}

export interface SigV4Request {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SigV4VerifyOptions {
  service: string;
  lookup: (accessKeyId: string) => SigV4Secret | undefined;
  nowMs?: number;
}

/** SigV4's accepted clock difference between signer and AWS. */
export const SIGV4_MAX_SKEW_MS = 15 * 60 * 1000;

const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** Returns the verified access key ID, or throws FakeAwsError as STS would answer. */
export function verifySigV4(req: SigV4Request, opts: SigV4VerifyOptions): string {
  const authorization = header(req.headers, "authorization");
  if (authorization === undefined) {
    throw new FakeAwsError(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
  }
  if (!authorization.startsWith("AWS4-HMAC-SHA256 ")) {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      `Unsupported AWS 'algorithm': ${authorization.split(" ")[0]}`,
    );
  }
  const params = new Map<string, string>();
  for (const part of authorization.slice("AWS4-HMAC-SHA256 ".length).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ["Credential", "SignedHeaders", "Signature"].filter((p) => !params.has(p));
  if (missing.length > 0) {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      `${missing.map((p) => `Authorization header requires '${p}' parameter.`).join(" ")} Authorization=${authorization}`,
    );
  }
  const credential = params.get("Credential")!.split("/");
  if (credential.length !== 5 || credential[4] !== "aws4_request") {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      `Credential is malformed: ${params.get("Credential")}`,
    );
  }
  const [accessKeyId, scopeDate, region, service] = credential as [string, string, string, string];
  const signedHeaders = params.get("SignedHeaders")!.split(";");
  const amzDate = header(req.headers, "x-amz-date");
  if (amzDate === undefined) {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`,
    );
  }
  if (!signedHeaders.includes("host")) {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }

  const secret = opts.lookup(accessKeyId);
  if (secret === undefined) {
    throw new FakeAwsError(
      403,
      "InvalidClientTokenId",
      "The security token included in the request is invalid.",
    );
  }
  if (
    secret.sessionToken !== undefined &&
    header(req.headers, "x-amz-security-token") !== secret.sessionToken
  ) {
    throw new FakeAwsError(
      403,
      "InvalidClientTokenId",
      "The security token included in the request is invalid.",
    );
  }
  const now = opts.nowMs ?? Date.now();
  if (secret.expiration !== undefined && secret.expiration.getTime() <= now) {
    throw new FakeAwsError(400, "ExpiredToken", "The security token included in the request is expired");
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    throw new FakeAwsError(
      400,
      "IncompleteSignature",
      `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`,
    );
  }
  if (signedAt < now - SIGV4_MAX_SKEW_MS) {
    throw new FakeAwsError(
      403,
      "SignatureDoesNotMatch",
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - SIGV4_MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
    );
  }
  if (signedAt > now + SIGV4_MAX_SKEW_MS) {
    throw new FakeAwsError(
      403,
      "SignatureDoesNotMatch",
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + SIGV4_MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
    );
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw new FakeAwsError(
      403,
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'`,
    );
  }
  if (service !== opts.service) {
    throw new FakeAwsError(
      403,
      "SignatureDoesNotMatch",
      `Credential should be scoped to correct service: '${opts.service}'.`,
    );
  }

  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(req.headers, name) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalRequest = [
    req.method,
    canonicalUri(req.path),
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaders.join(";"),
    sha256Hex(req.body),
  ].join("\n");
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${secret.secretAccessKey}`, scopeDate);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const provided = Buffer.from(params.get("Signature")!, "hex");
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new FakeAwsError(403, "SignatureDoesNotMatch", MISMATCH);
  }
  return accessKeyId;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function canonicalUri(path: string): string {
  // Non-S3 services normalise the path and URI-encode each segment (again).
  return path
    .split("/")
    .map((segment) => rfc3986(segment))
    .join("/");
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}
