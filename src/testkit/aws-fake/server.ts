/**
 * One loopback HTTP server that answers the real AWS SDK for every service fake registered on
 * it. Point clients at it with `endpoint` or the SDK's own `AWS_ENDPOINT_URL` /
 * `AWS_ENDPOINT_URL_<SERVICE>` settings; the service is recognised from the SigV4 credential
 * scope, exactly the information a real endpoint has.
 *
 * Binds 127.0.0.1 only: the workplace forbids traffic to any other address.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { CallLog } from "./call-log";
import { type Fault, FaultPlan } from "./faults";
import {
  type AwsProtocol,
  FakeAwsError,
  type RenderedResponse,
  renderError,
  renderThrottle,
} from "./protocol";
import { TokenBucket } from "./token-bucket";

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Form parameters (query protocols). Empty for JSON protocols. */
  form: URLSearchParams;
  /** Parsed JSON body (JSON protocols); undefined when absent or not JSON. */
  json: unknown;
  service: string;
  action: string;
  region: string;
  accessKeyId: string;
}

export interface RateLimit {
  /** Actions sharing this bucket, or "*" for all of the service's actions. */
  actions: readonly string[] | "*";
  capacity: number;
  refillPerSecond: number;
  /**
   * Whether this bucket applies to the request (default: always). EC2 charges DescribeInstances
   * without filters or pagination to a smaller bucket than filtered calls, which only the
   * request's parameters can tell.
   */
  when?: (req: FakeRequest) => boolean;
  /**
   * "account-region" (default): one bucket per calling account and region, like EC2.
   * "account": one per calling account whatever the region, like a global service's quota
   * (Organizations).
   */
  per?: "account-region" | "account";
}

export interface ServiceFake {
  /** SigV4 signing name: ec2, iam, sts, organizations, eks, autoscaling. */
  readonly service: string;
  readonly protocol: AwsProtocol;
  /** Token buckets, applied per (account, region) like AWS. */
  readonly rateLimits?: readonly RateLimit[];
  /** For REST protocols: the action name from method and path. */
  actionOf?(method: string, path: string): string;
  handle(req: FakeRequest): RenderedResponse | Promise<RenderedResponse>;
}

export interface AwsFakeServerOptions {
  /** Maps an access key to the account it acts as (the STS fake provides this). */
  accountOf?: (accessKeyId: string) => string | undefined;
  /** Cap on request bodies; larger requests get 413. */
  maxBodyBytes?: number;
  /**
   * Clock of the token buckets and of the call log's `at`, in ms (benchmarks run AWS's rates on
   * a faster clock, and measure rates on it). Default: the wall clock.
   */
  now?: () => number;
}

const TARGET_PREFIXES: Record<string, string> = {
  AWSOrganizationsV20161128: "organizations",
};

export class AwsFakeServer {
  readonly faults = new FaultPlan();
  readonly calls = new CallLog();
  private readonly services = new Map<string, ServiceFake>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly options: AwsFakeServerOptions) {
    this.server = createServer((req, res) => {
      void this.dispatch(req, res);
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(options: AwsFakeServerOptions = {}): Promise<AwsFakeServer> {
    const fake = new AwsFakeServer(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once("error", reject);
      fake.server.listen(0, "127.0.0.1", () => resolve());
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  register(fake: ServiceFake): this {
    this.services.set(fake.service, fake);
    return this;
  }

  /** Forget token-bucket state (e.g. between benchmark phases). */
  resetRateLimits(): void {
    this.buckets.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req, this.options.maxBodyBytes ?? 1 << 20);
    } catch {
      send(res, { status: 413, headers: {}, body: "" });
      return;
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const scope = credentialScope(req.headers.authorization);
    const target = headerValue(req.headers["x-amz-target"]);
    const service =
      scope?.service ?? (target ? TARGET_PREFIXES[target.split(".")[0] ?? ""] : undefined) ?? "";
    const fake = this.services.get(service);
    const region = scope?.region ?? "us-east-1";
    const accessKeyId = scope?.accessKeyId ?? "";
    if (fake === undefined) {
      send(res, { status: 400, headers: {}, body: `no fake registered for service "${service}"` });
      return;
    }
    const form =
      fake.protocol === "ec2" || fake.protocol === "query"
        ? new URLSearchParams(body)
        : new URLSearchParams();
    let json: unknown;
    if (fake.protocol === "json" || fake.protocol === "rest-json") {
      try {
        json = body.length > 0 ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
    }
    const action =
      fake.actionOf?.(req.method ?? "GET", url.pathname) ??
      (fake.protocol === "json" ? (target?.split(".")[1] ?? "") : (form.get("Action") ?? ""));
    const record = (status: number, outcome: string): void =>
      this.calls.add({
        service,
        action,
        region,
        accessKeyId,
        status,
        outcome,
        at: (this.options.now ?? Date.now)(),
      });
    const fakeRequest: FakeRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      form,
      json,
      service,
      action,
      region,
      accessKeyId,
    };

    const fault = this.faults.take(service, action);
    if (fault !== undefined && (await this.applyFault(fault, fake.protocol, req, res, record))) return;

    if (!this.withinRateLimit(fake, fakeRequest)) {
      const throttled = renderThrottle(fake.protocol);
      record(throttled.status, "throttled");
      send(res, throttled);
      return;
    }

    let response: RenderedResponse;
    try {
      response = await fake.handle(fakeRequest);
    } catch (err) {
      response =
        err instanceof FakeAwsError
          ? renderError(fake.protocol, err.status, err.code, err.message, err.fields)
          : renderError(
              fake.protocol,
              500,
              "InternalFailure",
              err instanceof Error ? err.message : String(err),
            );
    }
    record(response.status, response.status < 300 ? "ok" : "error");
    send(res, response);
  }

  /** Returns true when the fault fully handled (or swallowed) the request. */
  private async applyFault(
    fault: Fault,
    protocol: AwsProtocol,
    req: IncomingMessage,
    res: ServerResponse,
    record: (status: number, outcome: string) => void,
  ): Promise<boolean> {
    switch (fault.kind) {
      case "latency":
        await delay(fault.ms);
        return false;
      case "throttle": {
        const r = renderThrottle(protocol);
        record(r.status, "throttled");
        send(res, r);
        return true;
      }
      case "error": {
        const r = renderError(protocol, fault.status, fault.code, fault.message ?? fault.code);
        record(r.status, "error");
        send(res, r);
        return true;
      }
      case "status":
        record(fault.status, "status");
        send(res, { status: fault.status, headers: {}, body: "" });
        return true;
      case "hang":
        record(0, "hang");
        // Keep the socket open; the client's timeout (or server close) ends it.
        return true;
      case "reset":
        record(0, "reset");
        req.socket.destroy();
        return true;
      case "truncate":
        record(200, "truncate");
        res.writeHead(200, { "content-type": "text/xml", "content-length": "4096" });
        res.write("<Partial>");
        setTimeout(() => req.socket.destroy(), 10);
        return true;
      case "malformed":
        record(200, "malformed");
        send(res, {
          status: 200,
          headers: { "content-type": "text/xml" },
          body: "<<this is not {json or xml",
        });
        return true;
      case "body":
        record(fault.status, "body");
        send(res, {
          status: fault.status,
          headers: { "content-type": fault.contentType ?? "application/x-amz-json-1.1" },
          body: fault.body,
        });
        return true;
      case "drip": {
        record(200, "drip");
        const payload = protocol === "json" || protocol === "rest-json" ? "{}" : "<Response></Response>";
        res.writeHead(200, { "content-type": "text/xml" });
        for (let i = 0; i < payload.length; i += fault.bytesPerChunk) {
          if (res.destroyed) return true;
          res.write(payload.slice(i, i + fault.bytesPerChunk));
          await delay(fault.intervalMs);
        }
        res.end();
        return true;
      }
    }
  }

  private withinRateLimit(fake: ServiceFake, req: FakeRequest): boolean {
    const { action, region, accessKeyId } = req;
    const limits = fake.rateLimits ?? [];
    const account = this.options.accountOf?.(accessKeyId) ?? accessKeyId;
    for (let i = 0; i < limits.length; i++) {
      const limit = limits[i]!;
      if (limit.actions !== "*" && !limit.actions.includes(action)) continue;
      if (limit.when !== undefined && !limit.when(req)) continue;
      const key = `${fake.service}#${i}#${account}#${limit.per === "account" ? "*" : region}`;
      let bucket = this.buckets.get(key);
      if (bucket === undefined) {
        bucket = new TokenBucket(limit.capacity, limit.refillPerSecond, this.options.now);
        this.buckets.set(key, bucket);
      }
      if (!bucket.tryTake()) return false;
    }
    return true;
  }
}

function credentialScope(
  authorization: string | undefined,
): { accessKeyId: string; region: string; service: string } | undefined {
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? "");
  if (match === null) return undefined;
  return { accessKeyId: match[1]!, region: match[2]!, service: match[3]! };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, r: RenderedResponse): void {
  if (res.destroyed) return;
  res.writeHead(r.status, { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) });
  res.end(r.body);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
