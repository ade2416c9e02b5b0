/**
 * Loopback fake of the EC2 Instance Metadata Service (IMDS), for the agent's tests, the demo
 * and benchmarks. Plain HTTP, so it is separate from the signed-AWS-API fake in `aws-fake/`,
 * but it takes the same `FaultPlan` (service "imds").
 *
 * Exported API:
 *
 *   const imds = await startFakeImds({ identity, mode: "v2-required" });
 *   imds.url                      // "http://127.0.0.1:<port>"; clients may append "/latest"
 *   imds.setIdentity({ document, signature, rsa2048, pkcs7? })   // strings or exact bytes
 *   imds.setMode("v2-required" | "v1-allowed" | "disabled" | "hop-limit-1")
 *   imds.setMetadataOptions({ httpTokens, httpEndpoint, tokenPutUnreachable })  // finer control
 *   imds.faults                   // FaultPlan; actions: token, document, signature, rsa2048, pkcs7
 *   imds.respondWith(action, { status, body, headers?, omitContentLength? })  // raw override
 *   imds.revokeTokens()           // every issued token now answers 401 (expiry, IMDS restart)
 *   imds.requests / imds.count(action?) / imds.resetLog()
 *   await imds.close()
 *
 * What it reproduces of the real service (EC2 user guide, "Use IMDSv2" and troubleshooting):
 * - `PUT /latest/api/token` needs `X-aws-ec2-metadata-token-ttl-seconds` in 1..21600 (else
 *   400), refuses requests carrying `X-Forwarded-For` (403), and echoes the TTL header.
 * - Data requests: an unknown or expired token → 401 whatever HttpTokens says; no token with
 *   HttpTokens=required → 401.
 * - HttpEndpoint=disabled → 403 on everything.
 * - Hop limit 1 seen from a container: the token PUT's response never arrives (emulated by
 *   never answering it), while plain GETs do.
 * - Paths under `/latest/` and under dated versions (`/2021-07-15/`); anything else,
 *   including a doubled `/latest/latest/`, is a 404 with an HTML body like IMDS's.
 *
 * Binds 127.0.0.1 only.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { type Fault, FaultPlan } from "./aws-fake/faults";

export interface FakeImdsIdentity {
  /** Served byte for byte (a string is sent as UTF-8). */
  document: string | Uint8Array;
  signature: string | Uint8Array;
  rsa2048: string | Uint8Array;
  /** `/pkcs7` (DSA form); 404 when absent. */
  pkcs7?: string | Uint8Array;
}

export type FakeImdsMode = "v2-required" | "v1-allowed" | "disabled" | "hop-limit-1";

/** Mirrors the instance's MetadataOptions. */
export interface FakeImdsMetadataOptions {
  /** "required": IMDSv2 only (401 without a token). "optional": IMDSv1 allowed too. */
  httpTokens: "required" | "optional";
  /** "disabled": 403 for every request. */
  httpEndpoint: "enabled" | "disabled";
  /** The token PUT is never answered (HttpPutResponseHopLimit=1 seen from a container). */
  tokenPutUnreachable: boolean;
}

export type FakeImdsAction = "token" | "document" | "signature" | "rsa2048" | "pkcs7" | "other";

export interface FakeImdsOverride {
  status: number;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Send the body chunked, without Content-Length (tests the client's streaming cap). */
  omitContentLength?: boolean;
}

export interface FakeImdsRequest {
  method: string;
  path: string;
  action: FakeImdsAction;
  /** The request carried an X-aws-ec2-metadata-token header. */
  withToken: boolean;
  /** Status sent, or 0 when nothing was (hang, reset, hop limit). */
  status: number;
  outcome: string;
}

export interface FakeImdsOptions {
  identity: FakeImdsIdentity;
  mode?: FakeImdsMode;
  faults?: FaultPlan;
}

export interface FakeImds {
  readonly url: string;
  readonly faults: FaultPlan;
  readonly requests: readonly FakeImdsRequest[];
  setIdentity(identity: FakeImdsIdentity): void;
  setMode(mode: FakeImdsMode): void;
  setMetadataOptions(options: Partial<FakeImdsMetadataOptions>): void;
  respondWith(action: FakeImdsAction, override: FakeImdsOverride): () => void;
  revokeTokens(): void;
  count(action?: FakeImdsAction): number;
  resetLog(): void;
  close(): Promise<void>;
}

const MAX_TOKEN_TTL = 21_600;
const VERSION_SEGMENT = /^(latest|\d{4}-\d{2}-\d{2})$/;
const IDENTITY_LEAVES = ["document", "pkcs7", "rsa2048", "signature"] as const;

const modeOptions: Record<FakeImdsMode, FakeImdsMetadataOptions> = {
  "v2-required": { httpTokens: "required", httpEndpoint: "enabled", tokenPutUnreachable: false },
  "v1-allowed": { httpTokens: "optional", httpEndpoint: "enabled", tokenPutUnreachable: false },
  disabled: { httpTokens: "optional", httpEndpoint: "disabled", tokenPutUnreachable: false },
  "hop-limit-1": { httpTokens: "required", httpEndpoint: "enabled", tokenPutUnreachable: true },
};

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

/** IMDS answers errors with a small HTML page rather than JSON or XML. */
function errorPage(status: number): string {
  const title = `${status} - ${STATUS_TEXT[status] ?? "Error"}`;
  return `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${title}</title>
 </head>
 <body>
  <h1>${title}</h1>
 </body>
</html>
`;
}

const toBytes = (v: string | Uint8Array): Buffer =>
  typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);

interface Route {
  action: FakeImdsAction;
  /** Identity leaf, for data routes. */
  leaf?: (typeof IDENTITY_LEAVES)[number];
  /** The directory listing route. */
  listing?: boolean;
}

function route(path: string): Route | undefined {
  const segments = path.split("/");
  // segments[0] is "" for an absolute path; an empty segment elsewhere means "//".
  if (segments[0] !== "" || segments.slice(1, -1).includes("")) return undefined;
  const [, version, ...rest] = segments;
  if (version === undefined || !VERSION_SEGMENT.test(version)) return undefined;
  const tail = rest.join("/");
  if (tail === "api/token") return version === "latest" ? { action: "token" } : undefined;
  if (tail === "dynamic/instance-identity/" || tail === "dynamic/instance-identity") {
    return { action: "other", listing: true };
  }
  for (const leaf of IDENTITY_LEAVES) {
    if (tail === `dynamic/instance-identity/${leaf}`) return { action: leaf, leaf };
  }
  return undefined;
}

class FakeImdsServer implements FakeImds {
  readonly faults: FaultPlan;
  readonly requests: FakeImdsRequest[] = [];
  private identity: FakeImdsIdentity;
  private options: FakeImdsMetadataOptions;
  private readonly tokens = new Map<string, number>();
  private readonly overrides = new Map<FakeImdsAction, FakeImdsOverride>();
  private readonly server: Server;
  private port = 0;

  constructor(opts: FakeImdsOptions) {
    this.identity = opts.identity;
    this.options = { ...modeOptions[opts.mode ?? "v2-required"] };
    this.faults = opts.faults ?? new FaultPlan();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  setIdentity(identity: FakeImdsIdentity): void {
    this.identity = identity;
  }

  setMode(mode: FakeImdsMode): void {
    this.options = { ...modeOptions[mode] };
  }

  setMetadataOptions(options: Partial<FakeImdsMetadataOptions>): void {
    this.options = { ...this.options, ...options };
  }

  respondWith(action: FakeImdsAction, override: FakeImdsOverride): () => void {
    this.overrides.set(action, override);
    return () => {
      if (this.overrides.get(action) === override) this.overrides.delete(action);
    };
  }

  revokeTokens(): void {
    this.tokens.clear();
  }

  count(action?: FakeImdsAction): number {
    return action === undefined
      ? this.requests.length
      : this.requests.filter((r) => r.action === action).length;
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    // Hung requests and keep-alive sockets would otherwise hold close() open.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const found = route(path);
    const action: FakeImdsAction = found?.action ?? "other";
    const tokenHeader = req.headers["x-aws-ec2-metadata-token"];
    const record = (status: number, outcome: string): void => {
      this.requests.push({ method, path, action, withToken: tokenHeader !== undefined, status, outcome });
    };
    // Drain the request body: IMDS requests have none, and an unread body stalls keep-alive.
    req.resume();

    const fault = this.faults.take("imds", action);
    if (fault !== undefined && fault.kind === "latency") await delay(fault.ms);

    if (this.options.httpEndpoint === "disabled") return this.error(res, 403, record, "endpoint disabled");

    const override = this.overrides.get(action);
    if (override !== undefined) {
      const body = toBytes(override.body ?? "");
      record(override.status, "override");
      if (override.omitContentLength) {
        res.writeHead(override.status, override.headers ?? {});
        if (body.length > 0) res.write(body);
        res.end();
      } else {
        res.writeHead(override.status, { "content-length": String(body.length), ...override.headers });
        res.end(body);
      }
      return;
    }

    if (found === undefined) return this.error(res, 404, record, "no such path");

    let status: number;
    let headers: Record<string, string> = { "content-type": "text/plain" };
    let body: Buffer;
    if (found.action === "token") {
      if (method !== "PUT") return this.error(res, 405, record, "token needs PUT");
      if (req.headers["x-forwarded-for"] !== undefined)
        return this.error(res, 403, record, "x-forwarded-for");
      const ttlText = req.headers["x-aws-ec2-metadata-token-ttl-seconds"];
      const ttl = typeof ttlText === "string" && /^\d+$/.test(ttlText) ? Number(ttlText) : Number.NaN;
      if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL)) return this.error(res, 400, record, "bad ttl");
      if (this.options.tokenPutUnreachable) {
        // The response would be dropped one hop short of the container: nothing arrives.
        record(0, "hop limit");
        return;
      }
      const token = `AQAE${randomBytes(24).toString("base64url")}==`;
      this.tokens.set(token, Date.now() + ttl * 1_000);
      status = 200;
      headers = { ...headers, "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) };
      body = Buffer.from(token, "ascii");
    } else {
      if (method !== "GET" && method !== "HEAD") return this.error(res, 405, record, "data needs GET");
      if (typeof tokenHeader === "string") {
        const expiry = this.tokens.get(tokenHeader);
        if (expiry === undefined || expiry < Date.now()) return this.error(res, 401, record, "bad token");
      } else if (tokenHeader !== undefined || this.options.httpTokens === "required") {
        return this.error(res, 401, record, "token required");
      }
      if (found.listing) {
        status = 200;
        body = Buffer.from(
          IDENTITY_LEAVES.filter((l) => l !== "pkcs7" || this.identity.pkcs7 !== undefined).join("\n"),
        );
      } else {
        const value = found.leaf === undefined ? undefined : this.identity[found.leaf];
        if (value === undefined) return this.error(res, 404, record, "not served");
        status = 200;
        body = toBytes(value);
      }
    }

    if (fault !== undefined && fault.kind !== "latency") {
      await this.applyFault(fault, req, res, body, record);
      return;
    }
    record(status, "ok");
    res.writeHead(status, { ...headers, "content-length": String(body.length) });
    res.end(method === "HEAD" ? undefined : body);
  }

  private error(
    res: ServerResponse,
    status: number,
    record: (status: number, outcome: string) => void,
    outcome: string,
  ): void {
    const body = errorPage(status);
    record(status, outcome);
    res.writeHead(status, { "content-type": "text/html", "content-length": String(Buffer.byteLength(body)) });
    res.end(body);
  }

  private async applyFault(
    fault: Exclude<Fault, { kind: "latency" }>,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    record: (status: number, outcome: string) => void,
  ): Promise<void> {
    switch (fault.kind) {
      case "throttle":
        return this.error(res, 429, record, "throttled");
      case "error": {
        const text = fault.message ?? errorPage(fault.status);
        record(fault.status, `error ${fault.code}`);
        res.writeHead(fault.status, {
          "content-type": "text/html",
          "content-length": String(Buffer.byteLength(text)),
        });
        res.end(text);
        return;
      }
      case "status":
        record(fault.status, "status");
        res.writeHead(fault.status, { "content-length": "0" });
        res.end();
        return;
      case "hang":
        record(0, "hang");
        return;
      case "reset":
        record(0, "reset");
        req.socket.destroy();
        return;
      case "truncate":
        record(200, "truncate");
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(body.length + 4096) });
        res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
        setTimeout(() => req.socket.destroy(), 10);
        return;
      case "malformed": {
        // Neither a JSON document nor base64 nor a usable token (spaces and a NUL).
        const junk = Buffer.from("<<not \u0000 imds {", "utf8");
        record(200, "malformed");
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(junk.length) });
        res.end(junk);
        return;
      }
      case "drip": {
        record(200, "drip");
        res.writeHead(200, { "content-type": "text/plain", "content-length": String(body.length) });
        for (let i = 0; i < body.length; i += fault.bytesPerChunk) {
          if (res.destroyed) return;
          res.write(body.subarray(i, i + fault.bytesPerChunk));
          await delay(fault.intervalMs);
        }
        res.end();
        return;
      }
    }
  }
}

export async function startFakeImds(options: FakeImdsOptions): Promise<FakeImds> {
  const server = new FakeImdsServer(options);
  await server.listen();
  return server;
}
