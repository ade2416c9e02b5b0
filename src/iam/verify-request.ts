/**
 * The server's checks on the agent's signed GetCallerIdentity before it is forwarded to STS.
 * STS verifies the signature; these checks make sure that what STS verifies is the request
 * we asked for: the right service at a real STS host (not a look-alike that answers with any
 * ARN), the exact body (nothing but GetCallerIdentity), our fresh challenge and our server ID
 * inside the signature (replay and cross-server replay), and a recent signing time.
 * Precedents: Teleport iamjoin (RFD 41) and Vault's aws iam login.
 */
import { permissionDenied } from "../common/errors";
import { explainUnknownHost, type StsEndpoint, type StsPartition } from "./sts-endpoints";
import { CHALLENGE_HEADER, GET_CALLER_IDENTITY_BODY, SERVER_ID_HEADER, type SignedStsRequest } from "./wire";

/** SigV4's own tolerance is 15 minutes; ours is tighter because the challenge is at most 1 minute old. */
export const MAX_SIGNING_SKEW_MS = 5 * 60 * 1000;

/**
 * Headers that change how the request is framed or routed on the way to STS. Forwarding an
 * agent-chosen value of any of them could smuggle a second request or confuse a proxy, so they
 * are refused even when signed.
 */
const FORBIDDEN_HEADERS = new Set([
  "connection",
  "expect",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface VerifyOptions {
  /** base64 of the 32 challenge bytes this server sent for this attestation. */
  expectedChallenge: string;
  /** When configured, the signed x-spire-server-id must carry exactly this. */
  serverId: string | undefined;
  endpoints: ReadonlyMap<string, StsEndpoint>;
  partitions: readonly StsPartition[];
  nowMs: number;
}

export interface VerifiedStsRequest {
  endpoint: StsEndpoint;
  accessKeyId: string;
  /** Only the signed headers plus Authorization: nothing unsigned reaches STS. */
  headers: Map<string, string>;
  body: string;
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
}

export function verifySignedRequest(req: SignedStsRequest, opts: VerifyOptions): VerifiedStsRequest {
  if (req.method !== "POST") {
    throw permissionDenied(`signed request must use method POST, not ${JSON.stringify(req.method)}`);
  }
  // A strict pattern instead of the WHATWG URL parser: userinfo ("https://sts.amazonaws.com@evil/"),
  // ports, IP literals, percent-encoding, trailing dots and queries all fail it, so no parser
  // difference between us and the HTTP client can change which host is contacted.
  const match = /^https:\/\/([a-z0-9.-]{1,253})\/$/.exec(req.url);
  if (match === null) {
    throw permissionDenied(
      `signed request URL ${JSON.stringify(req.url.slice(0, 128))} is not of the form https://<sts host>/`,
    );
  }
  const host = match[1]!;
  const endpoint = opts.endpoints.get(host);
  if (endpoint === undefined) throw permissionDenied(explainUnknownHost(host, opts.partitions));
  if (req.headers.get("host") !== host) {
    throw permissionDenied(`signed request Host header does not match its URL host ${host}`);
  }
  if (req.body !== GET_CALLER_IDENTITY_BODY) {
    throw permissionDenied(`signed request body must be exactly ${JSON.stringify(GET_CALLER_IDENTITY_BODY)}`);
  }

  const authorization = req.headers.get("authorization");
  if (authorization === undefined) throw permissionDenied("signed request has no Authorization header");
  const auth = parseAuthorization(authorization);
  if (auth.service !== "sts") {
    throw permissionDenied(`signed request is scoped to service ${JSON.stringify(auth.service)}, not sts`);
  }
  if (auth.region !== endpoint.signingRegion) {
    throw permissionDenied(
      `signed request is scoped to region ${JSON.stringify(auth.region)} but ${host} expects ${endpoint.signingRegion}`,
    );
  }
  const signed = new Set(auth.signedHeaders);
  const required = ["host", "x-amz-date", CHALLENGE_HEADER];
  if (opts.serverId !== undefined) required.push(SERVER_ID_HEADER);
  for (const name of required) {
    if (!signed.has(name)) throw permissionDenied(`header ${name} is not covered by the request signature`);
  }

  if (req.headers.get(CHALLENGE_HEADER) !== opts.expectedChallenge) {
    throw permissionDenied("signed request does not carry the challenge this server issued");
  }
  if (opts.serverId !== undefined && req.headers.get(SERVER_ID_HEADER) !== opts.serverId) {
    // Vault's iam_server_id_header_value: a request signed for another server is not ours to use.
    throw permissionDenied(`signed request was made for a different server ID (${SERVER_ID_HEADER})`);
  }

  const amzDate = req.headers.get("x-amz-date") ?? "";
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) throw permissionDenied("signed request has no valid X-Amz-Date");
  if (amzDate.slice(0, 8) !== auth.date) {
    throw permissionDenied("signed request credential scope date does not match X-Amz-Date");
  }
  if (Math.abs(opts.nowMs - signedAt) > MAX_SIGNING_SKEW_MS) {
    throw permissionDenied(
      `signed request X-Amz-Date ${amzDate} is more than ${MAX_SIGNING_SKEW_MS / 60000} minutes from the server's clock`,
    );
  }

  const headers = new Map<string, string>();
  for (const name of auth.signedHeaders) {
    const value = req.headers.get(name);
    if (value === undefined) throw permissionDenied(`signed header ${name} is missing from the request`);
    if (FORBIDDEN_HEADERS.has(name) || name.startsWith("proxy-")) {
      throw permissionDenied(`signed request may not carry header ${name}`);
    }
    if (name === "content-length" && value !== String(Buffer.byteLength(req.body))) {
      throw permissionDenied("signed Content-Length does not match the body");
    }
    headers.set(name, value);
  }
  headers.set("authorization", authorization);
  return { endpoint, accessKeyId: auth.accessKeyId, headers, body: req.body };
}

function parseAuthorization(value: string): ParsedAuthorization {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]{1,32})\/([a-z0-9-]{1,32})\/aws4_request, ?SignedHeaders=([a-z0-9;-]{1,1024}), ?Signature=[0-9a-f]{64}$/.exec(
      value,
    );
  if (match === null)
    throw permissionDenied("Authorization header is not a SigV4 (AWS4-HMAC-SHA256) signature");
  const signedHeaders = match[5]!.split(";");
  if (signedHeaders.some((h) => h.length === 0)) {
    throw permissionDenied("Authorization header has an empty signed header name");
  }
  return {
    accessKeyId: match[1]!,
    date: match[2]!,
    region: match[3]!,
    service: match[4]!,
    signedHeaders,
  };
}

function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isFinite(ms) ? ms : undefined;
}
