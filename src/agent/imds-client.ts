/**
 * EC2 Instance Metadata Service (IMDS) client for the agent attestor, on plain `fetch`.
 *
 * It reproduces what SPIRE's built-in agent gets from aws-sdk-go-v2's `feature/ec2/imds`
 * (`imds.NewFromConfig(config.LoadDefaultConfig())`), because operators configure both the
 * same way and expect the same behaviour:
 *
 * - Endpoint: `ec2_metadata_endpoint`, else `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else
 *   `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6` → `http://[fd00:ec2::254]`, else
 *   `http://169.254.169.254`. SPIRE documents the endpoint with a trailing `/latest` while the
 *   SDK keeps its own `/latest/...` request paths, so a trailing `/latest` is dropped here.
 * - IMDSv2 first: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`, then
 *   the token in `X-aws-ec2-metadata-token`. The token is cached until shortly before its TTL.
 * - IMDSv1 fallback exactly where the SDK's token provider allows it: every token failure
 *   except HTTP 400 (403/404/405, timeouts, connection errors, 5xx after retries, an unusable
 *   token), and never when `disable_imdsv1_fallback` or `AWS_EC2_METADATA_V1_DISABLED=true`.
 *   A 401 on a data request made with a token drops the token and retries once with a fresh
 *   one (the SDK re-enables its token provider on 401 for the same reason: tokens expire).
 * - `AWS_EC2_METADATA_DISABLED=true` disables the client, as in the SDK.
 * - Each attempt has one deadline covering connect, headers and body (the SDK uses 250 ms dial
 *   + 500 ms header timeouts; we default to 1 s for the whole attempt, the AWS SDKs' documented
 *   IMDS default). Network errors, timeouts, 429 and 5xx are retried with jittered exponential
 *   backoff capped at 1 s (the SDK caps IMDS backoff at 1 s too); other 4xx are answers.
 * - Bodies are capped (64 KiB; real documents are < 1 KiB, signatures < 2 KiB) so a
 *   misdirected endpoint cannot make the agent buffer without bound.
 *
 * Bodies are kept as bytes: the document must reach the server exactly as IMDS served it,
 * because the server compares it with the content of the PKCS#7 signature.
 *
 * Error codes (these failures happen on the agent, before anything reaches the server):
 * - FailedPrecondition: the instance or the configuration must change (IMDS disabled,
 *   IMDSv1 refused and no token obtainable, hop limit 1, nothing listening, 404, oversize).
 * - Unavailable: possibly transient (timeouts, resets, 429/5xx after all attempts).
 * - InvalidArgument: unusable endpoint settings (caught at configure time).
 * - Cancelled: the caller's signal fired (SPIRE cancelled the stream, or shutdown).
 */
import { failedPrecondition, invalidArgument, type PluginError, unavailable } from "../common/errors";
import { type Logger, silentLogger } from "../common/logger";
import { cancelled, sleep } from "../common/signals";

export const IMDS_IPV4_ENDPOINT = "http://169.254.169.254";
export const IMDS_IPV6_ENDPOINT = "http://[fd00:ec2::254]";
export const IMDS_MAX_BODY_BYTES = 64 * 1024;
/** IMDS's maximum token lifetime; the agent asks for it once and reuses the token. */
export const IMDS_TOKEN_TTL_SECONDS = 21_600;

export const TOKEN_PATH = "/latest/api/token";
export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";
const IDENTITY_PATH = "/latest/dynamic/instance-identity/";

const HOP_LIMIT_FIX =
  "aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2";
const ENDPOINT_FIX = "aws ec2 modify-instance-metadata-options --instance-id <id> --http-endpoint enabled";

export type ImdsEnv = Readonly<Record<string, string | undefined>>;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ImdsEndpoint {
  /** Origin plus any path prefix, without a trailing `/latest` or slash. */
  baseUrl: string;
  /** Where the endpoint came from, for logs and error texts. */
  source: "ec2_metadata_endpoint" | "AWS_EC2_METADATA_SERVICE_ENDPOINT" | "IPv6 endpoint mode" | "default";
}

export interface ImdsClientOptions {
  /** `ec2_metadata_endpoint`, with or without a trailing `/latest`. */
  endpoint?: string | undefined;
  /** Deadline of one attempt (connect + headers + body): `imds_timeout`. */
  timeoutMs: number;
  /** Attempts per request, first one included: `imds_retries` + 1. */
  maxAttempts: number;
  /** `disable_imdsv1_fallback`; the environment can only tighten it. */
  disableV1Fallback: boolean;
  /** Defaults to process.env; tests pass their own. */
  env?: ImdsEnv;
  logger?: Logger;
  maxBodyBytes?: number;
  tokenTtlSeconds?: number;
  fetch?: FetchLike;
  now?: () => number;
  /** Delay before attempt `attempt + 1`, in ms. Default: full jitter, 100 ms base, 1 s cap. */
  backoffMs?: (attempt: number) => number;
}

export interface InstanceIdentity {
  /** `/latest/dynamic/instance-identity/document`, byte for byte. */
  document: Uint8Array;
  /** `/signature`: base64 RSA-SHA256 signature, as served. */
  signature: Uint8Array;
  /** `/rsa2048`: base64 PKCS#7 SignedData without PEM armour, as served (newlines included). */
  rsa2048: Uint8Array;
  /** Which flow produced it; v1 means the fallback was used. */
  imdsVersion: "v2" | "v1";
}

const isTrue = (v: string | undefined): boolean => v?.trim().toLowerCase() === "true";

/**
 * Removes a trailing `/latest` (and slashes) so request paths can always start with
 * `/latest/`; any other path prefix (a proxy mount point) is kept.
 */
export function normaliseImdsBaseUrl(raw: string, source: ImdsEndpoint["source"]): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalidArgument(
      `${source}: ${JSON.stringify(raw)} is not a URL (expected e.g. http://169.254.169.254)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalidArgument(`${source}: ${JSON.stringify(raw)} must be an http:// or https:// URL`);
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw invalidArgument(
      `${source}: ${JSON.stringify(raw)} must not carry a query, fragment or credentials`,
    );
  }
  let path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith("/latest")) path = path.slice(0, -"/latest".length).replace(/\/+$/, "");
  return `${url.origin}${path}`;
}

/** The SDK's endpoint precedence (see the file comment). Throws InvalidArgument. */
export function resolveImdsEndpoint(configured: string | undefined, env: ImdsEnv): ImdsEndpoint {
  if (configured !== undefined && configured.trim() !== "") {
    return {
      baseUrl: normaliseImdsBaseUrl(configured, "ec2_metadata_endpoint"),
      source: "ec2_metadata_endpoint",
    };
  }
  const fromEnv = env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    return {
      baseUrl: normaliseImdsBaseUrl(fromEnv, "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
      source: "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    };
  }
  const mode = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE ?? "").trim();
  if (mode.toLowerCase() === "ipv6") return { baseUrl: IMDS_IPV6_ENDPOINT, source: "IPv6 endpoint mode" };
  if (mode !== "" && mode.toLowerCase() !== "ipv4") {
    // The SDK fails config loading on an unknown mode rather than guessing.
    throw invalidArgument(
      `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=${JSON.stringify(mode)} is not a valid IMDS endpoint mode, must be IPv4 or IPv6`,
    );
  }
  return { baseUrl: IMDS_IPV4_ENDPOINT, source: "default" };
}

/** Config or environment may disable the fallback; neither can re-enable what the other disabled. */
export function resolveV1FallbackDisabled(configDisabled: boolean, env: ImdsEnv): boolean {
  const raw = env.AWS_EC2_METADATA_V1_DISABLED;
  if (raw === undefined || raw.trim() === "") return configDisabled;
  const v = raw.trim().toLowerCase();
  // The SDK's env loader accepts only true/false and fails otherwise; so do we.
  if (v !== "true" && v !== "false") {
    throw invalidArgument(`AWS_EC2_METADATA_V1_DISABLED=${JSON.stringify(raw)} must be true or false`);
  }
  return configDisabled || v === "true";
}

/** What one request ended with after its attempts. */
type Outcome =
  | { kind: "response"; status: number; headers: Headers; body: Uint8Array; attempts: number }
  | { kind: "network"; cause: unknown; timedOut: boolean; errno: string | undefined; attempts: number }
  | { kind: "oversize"; bytes: number };

class OversizeBody extends Error {
  constructor(readonly bytes: number) {
    super("oversize body");
  }
}

/** Why the IMDSv2 token could not be obtained, kept to explain a later failure. */
interface TokenFailure {
  summary: string;
  /** The PUT got no answer at all: the signature of a hop limit of 1 seen from a container. */
  timedOut: boolean;
}

type TokenResult = { kind: "token"; token: string } | { kind: "v1"; failure: TokenFailure };

interface CachedToken {
  token: string;
  refreshAt: number;
}

// A token is sent back as an HTTP header value: only visible ASCII is usable.
const TOKEN_SYNTAX = /^[\x21-\x7e]{1,4096}$/;

const ERRNO_PATTERN = /^E[A-Z0-9_]+$/;

function errnoOf(err: unknown): string | undefined {
  // undici wraps socket errors: TypeError("fetch failed", { cause: Error{ code: "ECONNREFUSED" } }).
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur instanceof Error; depth += 1) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && ERRNO_PATTERN.test(code)) return code;
    cur = cur.cause;
  }
  return undefined;
}

function causeText(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur instanceof Error; depth += 1) {
    if (cur.message !== "" && !parts.includes(cur.message)) parts.push(cur.message);
    cur = cur.cause;
  }
  return parts.join(": ") || String(err);
}

function defaultBackoffMs(attempt: number): number {
  return Math.random() * Math.min(1_000, 100 * 2 ** (attempt - 1));
}

async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new OversizeBody(total);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

const imdsCancelled = (): PluginError => cancelled("IMDS request cancelled");

const retryableStatus = (status: number): boolean => status === 429 || status >= 500;

export class ImdsClient {
  readonly endpoint: ImdsEndpoint;
  readonly v1FallbackDisabled: boolean;
  /** AWS_EC2_METADATA_DISABLED=true: every call fails, as with the SDK. */
  readonly clientDisabled: boolean;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxBodyBytes: number;
  private readonly tokenTtlSeconds: number;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly logger: Logger;
  private readonly lifetime = new AbortController();
  private cachedToken: CachedToken | undefined;
  private pendingToken: Promise<TokenResult> | undefined;

  /** Throws InvalidArgument for unusable endpoint settings (config or environment). */
  constructor(options: ImdsClientOptions) {
    const env = options.env ?? process.env;
    this.endpoint = resolveImdsEndpoint(options.endpoint, env);
    this.v1FallbackDisabled = resolveV1FallbackDisabled(options.disableV1Fallback, env);
    this.clientDisabled = isTrue(env.AWS_EC2_METADATA_DISABLED);
    this.timeoutMs = options.timeoutMs;
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts));
    this.maxBodyBytes = options.maxBodyBytes ?? IMDS_MAX_BODY_BYTES;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? IMDS_TOKEN_TTL_SECONDS;
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.now = options.now ?? Date.now;
    this.backoffMs = options.backoffMs ?? defaultBackoffMs;
    this.logger = options.logger ?? silentLogger;
  }

  /** Aborts requests in flight; the client must not be used afterwards. */
  close(): void {
    this.lifetime.abort(imdsCancelled());
  }

  /**
   * The document, `/signature` and `/rsa2048`, all mandatory as for SPIRE's agent. The three
   * reads run concurrently after the token; the first failure cancels the others.
   */
  async fetchInstanceIdentity(signal?: AbortSignal): Promise<InstanceIdentity> {
    if (this.clientDisabled) {
      throw failedPrecondition(
        "access to EC2 IMDS is disabled by the AWS_EC2_METADATA_DISABLED environment variable; unset it for the agent",
      );
    }
    const parents = signal === undefined ? [this.lifetime.signal] : [signal, this.lifetime.signal];
    if (parents.some((s) => s.aborted)) throw imdsCancelled();
    // The first failed read cancels its siblings; the caller or close() cancels them all.
    const group = new AbortController();
    const reads = AbortSignal.any([...parents, group.signal]);
    try {
      const token = await this.getToken(reads);
      const read = (leaf: string, what: string): Promise<Uint8Array> =>
        this.getIdentityPart(leaf, what, token, reads).catch((err: unknown) => {
          group.abort(imdsCancelled());
          throw err;
        });
      const [document, sig, rsa2048] = await Promise.all([
        read("document", "instance identity document"),
        read("signature", "instance identity signature"),
        read("rsa2048", "instance identity RSA-2048 signature"),
      ]);
      return { document, signature: sig, rsa2048, imdsVersion: token.kind === "token" ? "v2" : "v1" };
    } catch (err) {
      if (parents.some((s) => s.aborted)) throw imdsCancelled();
      throw err;
    }
  }

  private url(path: string): string {
    return `${this.endpoint.baseUrl}${path}`;
  }

  private getToken(signal: AbortSignal): Promise<TokenResult> {
    const cached = this.cachedToken;
    if (cached !== undefined && this.now() < cached.refreshAt) {
      return Promise.resolve({ kind: "token", token: cached.token });
    }
    // One PUT for concurrent callers; a fallback result is not cached, so the next
    // attestation tries IMDSv2 again (instance options can change while the agent runs).
    this.pendingToken ??= this.requestToken(signal).finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async requestToken(signal: AbortSignal): Promise<TokenResult> {
    const url = this.url(TOKEN_PATH);
    const outcome = await this.request(
      "PUT",
      url,
      { [TOKEN_TTL_HEADER]: String(this.tokenTtlSeconds) },
      signal,
    );
    let failure: TokenFailure;
    if (outcome.kind === "response" && outcome.status === 200) {
      const token = new TextDecoder("utf-8", { fatal: false }).decode(outcome.body);
      if (TOKEN_SYNTAX.test(token)) {
        const ttlHeader = Number(outcome.headers.get(TOKEN_TTL_HEADER));
        const ttlMs =
          (Number.isInteger(ttlHeader) && ttlHeader > 0 && ttlHeader <= this.tokenTtlSeconds
            ? ttlHeader
            : this.tokenTtlSeconds) * 1_000;
        // Refresh a little early so a token never expires between the PUT and the GETs.
        this.cachedToken = { token, refreshAt: this.now() + ttlMs - Math.min(60_000, ttlMs / 2) };
        this.logger.debug("Obtained IMDSv2 token", { endpoint: this.endpoint.baseUrl });
        return { kind: "token", token };
      }
      failure = { summary: `PUT ${url} answered 200 with an unusable token`, timedOut: false };
    } else if (outcome.kind === "response" && outcome.status === 400) {
      // The SDK treats 400 as terminal (no fallback): the request itself was refused.
      throw failedPrecondition(
        `IMDS rejected the IMDSv2 token request PUT ${url} with HTTP 400${bodyHint(outcome.body)}; ` +
          `a proxy or firewall between the agent and IMDS may be altering requests (IMDS refuses token requests carrying X-Forwarded-For)`,
      );
    } else {
      failure = describeTokenFailure(url, outcome, this.timeoutMs);
    }

    if (this.v1FallbackDisabled) throw tokenFailureError(failure);
    this.logger.warn("Falling back to IMDSv1: the IMDSv2 token request failed", {
      reason: failure.summary,
      endpoint: this.endpoint.baseUrl,
    });
    return { kind: "v1", failure };
  }

  private async getIdentityPart(
    leaf: string,
    what: string,
    token: TokenResult,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const url = this.url(`${IDENTITY_PATH}${leaf}`);
    let current = token;
    for (let authRetry = 0; ; authRetry += 1) {
      const headers: Record<string, string> =
        current.kind === "token" ? { [TOKEN_HEADER]: current.token } : {};
      const outcome = await this.request("GET", url, headers, signal);
      if (
        outcome.kind === "response" &&
        outcome.status === 401 &&
        current.kind === "token" &&
        authRetry === 0
      ) {
        // The token expired or IMDS restarted: drop it and try once with a fresh one.
        if (this.cachedToken?.token === current.token) this.cachedToken = undefined;
        current = await this.getToken(signal);
        continue;
      }
      return this.interpretIdentityOutcome(outcome, url, what, current);
    }
  }

  private interpretIdentityOutcome(
    outcome: Outcome,
    url: string,
    what: string,
    token: TokenResult,
  ): Uint8Array {
    if (outcome.kind === "oversize") {
      throw failedPrecondition(
        `IMDS response for the ${what} (GET ${url}) exceeds ${this.maxBodyBytes} bytes (got at least ${outcome.bytes}); ` +
          `the endpoint (${this.endpoint.source}) does not look like EC2 IMDS`,
      );
    }
    if (outcome.kind === "network") throw this.networkError(outcome, `GET ${url}`, what);

    const { status, body, attempts } = outcome;
    if (status === 200) {
      if (body.byteLength === 0) {
        throw failedPrecondition(
          `IMDS returned an empty ${what} (GET ${url}); the endpoint does not look like EC2 IMDS`,
        );
      }
      return body;
    }
    if (status === 401) {
      if (token.kind === "v1") {
        const prefix = `IMDS refused the unauthenticated (IMDSv1) request for the ${what} with HTTP 401: the instance requires IMDSv2 (HttpTokens=required), and the IMDSv2 token could not be obtained (${token.failure.summary})`;
        if (token.failure.timedOut) {
          throw failedPrecondition(
            `${prefix}. The token request got no answer while plain requests do: this is the hop limit. When the agent runs in a container, the instance's HttpPutResponseHopLimit must be at least 2; fix it with: ${HOP_LIMIT_FIX}`,
          );
        }
        throw failedPrecondition(`${prefix}.`);
      }
      throw failedPrecondition(
        `IMDS rejected a fresh IMDSv2 token for the ${what} (GET ${url}, HTTP 401 twice); is something between the agent and IMDS rewriting headers?`,
      );
    }
    if (status === 403) {
      throw failedPrecondition(
        `IMDS refused the request for the ${what} with HTTP 403 Forbidden${bodyHint(body)}: the instance metadata endpoint is turned off on this instance (HttpEndpoint=disabled), or a local policy forbids access. Enable it with: ${ENDPOINT_FIX}`,
      );
    }
    if (status === 404) {
      throw failedPrecondition(
        `IMDS has no ${what} at GET ${url} (HTTP 404); check the IMDS endpoint (${this.endpoint.source}: ${this.endpoint.baseUrl}) — it should be the metadata service root, optionally ending in /latest`,
      );
    }
    if (retryableStatus(status)) {
      throw unavailable(
        `IMDS answered HTTP ${status} for the ${what} (GET ${url}) after ${attempts} attempt(s)${bodyHint(body)}`,
      );
    }
    throw failedPrecondition(`IMDS answered HTTP ${status} for the ${what} (GET ${url})${bodyHint(body)}`);
  }

  private networkError(
    outcome: Extract<Outcome, { kind: "network" }>,
    request: string,
    what: string,
  ): PluginError {
    const where = `${this.endpoint.baseUrl} (${this.endpoint.source})`;
    if (outcome.errno === "ECONNREFUSED") {
      return failedPrecondition(
        `nothing is listening at ${where} (connection refused for the ${what}): this host does not look like an EC2 instance, or the IMDS endpoint setting is wrong`,
      );
    }
    if (outcome.timedOut) {
      return unavailable(
        `IMDS at ${where} did not answer ${request} within ${this.timeoutMs} ms (${outcome.attempts} attempt(s)); if this host is not an EC2 instance (or IMDS is firewalled off), IMDS is unreachable`,
      );
    }
    const hint =
      outcome.errno === "EHOSTUNREACH" || outcome.errno === "ENETUNREACH"
        ? ": no route to IMDS, this host does not look like an EC2 instance"
        : "";
    return unavailable(
      `could not read the ${what} from IMDS at ${where} (${request}, ${outcome.attempts} attempt(s)): ${causeText(outcome.cause)}${hint}`,
    );
  }

  /** One request with retries on network errors, timeouts, 429 and 5xx. */
  private async request(
    method: "GET" | "PUT",
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Outcome> {
    let last: Outcome | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      if (signal.aborted) throw imdsCancelled();
      const outcome = await this.attempt(method, url, headers, signal, attempt);
      if (outcome.kind === "oversize") return outcome;
      if (outcome.kind === "response" && !retryableStatus(outcome.status)) return outcome;
      last = outcome;
      this.logger.debug("IMDS request failed", {
        method,
        url,
        attempt,
        outcome: outcome.kind === "response" ? `HTTP ${outcome.status}` : causeText(outcome.cause),
      });
      if (attempt < this.maxAttempts) await sleep(this.backoffMs(attempt), signal);
    }
    if (signal.aborted) throw imdsCancelled();
    // maxAttempts >= 1, so at least one outcome was recorded.
    return last!;
  }

  private async attempt(
    method: "GET" | "PUT",
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    attempt: number,
  ): Promise<Outcome> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const combined = AbortSignal.any([signal, deadline]);
    try {
      // IMDS never redirects; following one could send the token elsewhere.
      const res = await this.fetchImpl(url, { method, headers, signal: combined, redirect: "manual" });
      const declared = Number(res.headers.get("content-length"));
      if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
        await res.body?.cancel().catch(() => undefined);
        return { kind: "oversize", bytes: declared };
      }
      const body = await readCapped(res.body, this.maxBodyBytes);
      return { kind: "response", status: res.status, headers: res.headers, body, attempts: attempt };
    } catch (err) {
      if (err instanceof OversizeBody) return { kind: "oversize", bytes: err.bytes };
      if (signal.aborted) throw imdsCancelled();
      return {
        kind: "network",
        cause: err,
        timedOut: deadline.aborted,
        errno: errnoOf(err),
        attempts: attempt,
      };
    }
  }
}

function bodyHint(body: Uint8Array): string {
  if (body.byteLength === 0) return "";
  const text = new TextDecoder("utf-8", { fatal: false })
    .decode(body.subarray(0, 200))
    .replace(/[^\x20-\x7e]+/g, " ")
    .trim();
  return text === "" ? "" : ` (body: ${JSON.stringify(text)})`;
}

function describeTokenFailure(url: string, outcome: Outcome, timeoutMs: number): TokenFailure {
  switch (outcome.kind) {
    case "oversize":
      return { summary: `PUT ${url} answered with a body over the size cap`, timedOut: false };
    case "network":
      if (outcome.timedOut) {
        return {
          summary: `PUT ${url} got no answer within ${timeoutMs} ms (${outcome.attempts} attempt(s))`,
          timedOut: true,
        };
      }
      return {
        summary: `PUT ${url} failed (${outcome.attempts} attempt(s)): ${causeText(outcome.cause)}`,
        timedOut: false,
      };
    case "response":
      return {
        summary: `PUT ${url} answered HTTP ${outcome.status}${outcome.status === 403 ? " (IMDS may be turned off: HttpEndpoint=disabled)" : ""}`,
        timedOut: false,
      };
  }
}

function tokenFailureError(failure: TokenFailure): PluginError {
  const base = `could not obtain an IMDSv2 token and IMDSv1 fallback is disabled (disable_imdsv1_fallback or AWS_EC2_METADATA_V1_DISABLED): ${failure.summary}`;
  if (failure.timedOut) {
    return failedPrecondition(
      `${base}. If the agent runs in a container, the instance's HttpPutResponseHopLimit is probably 1 (the token response is dropped one hop short); set it to 2 with: ${HOP_LIMIT_FIX}. If this host is not an EC2 instance, IMDS is unreachable.`,
    );
  }
  return failedPrecondition(`${base}.`);
}
