/**
 * A SPIRE-like host in TypeScript, for integration tests, the demo and benchmarks. It does to
 * a plugin command what SPIRE server/agent do (see shared spec "spire-plugin-protocol"):
 *
 * spawn with SPIRE's environment -> read the handshake line -> connect -> open the broker
 * stream and the stdio stream (go-plugin 1.8.0) -> serve host services (AgentStore, Metrics)
 * on its own unix socket announced as broker id 1 -> Init -> Configure/Validate ->
 * Attest / AidAttestation -> Deinit -> close broker, Controller.Shutdown, 2 s grace, SIGKILL.
 *
 * Everything the plugin writes to stderr is parsed as go-plugin would (`logs`); anything it
 * writes to stdout after the handshake is kept in `stdoutAfterHandshake` (must stay empty).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Empty as GoogleEmpty } from "../gen/google/protobuf/empty";
import { type ConnInfo, GRPCBrokerClient } from "../gen/plugin/grpc_broker";
import { GRPCControllerClient } from "../gen/plugin/grpc_controller";
import { GRPCStdioClient } from "../gen/plugin/grpc_stdio";
import {
  type AddSampleRequest,
  type IncrCounterRequest,
  type MeasureSinceRequest,
  MetricsService,
  type SetGaugeRequest,
} from "../gen/spire/hostservice/common/metrics/v1/metrics";
import {
  AgentStoreService,
  type GetAgentInfoRequest,
  type GetAgentInfoResponse,
} from "../gen/spire/hostservice/server/agentstore/v1/agentstore";
import {
  NodeAttestorClient as AgentNodeAttestorClient,
  type Challenge,
  type PayloadOrChallengeResponse,
} from "../gen/spire/plugin/agent/nodeattestor/v1/nodeattestor";
import {
  type AttestRequest,
  type AttestResponse,
  NodeAttestorClient as ServerNodeAttestorClient,
} from "../gen/spire/plugin/server/nodeattestor/v1/nodeattestor";
import { ConfigClient } from "../gen/spire/service/common/config/v1/config";
import { InitClient } from "../gen/spire/service/private/init/v1/init";
import { checkHclogLine, type PluginLogLine } from "./spire-host-log";

export type { PluginLogLine } from "./spire-host-log";
export { checkHclogLine } from "./spire-host-log";

export type PluginSide = "server" | "agent";

const SERVER_HOST_SERVICES = [
  "spire.hostservice.server.identityprovider.v1.IdentityProvider",
  "spire.hostservice.server.agentstore.v1.AgentStore",
  "spire.hostservice.common.metrics.v1.Metrics",
];
const AGENT_HOST_SERVICES = ["spire.hostservice.common.metrics.v1.Metrics"];

/** A failed RPC, as SPIRE would see it. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${grpc.status[code] ?? code}: ${details}`);
    this.name = "RpcError";
  }
}

function rpcError(err: unknown): RpcError {
  const e = err as Partial<grpc.ServiceError>;
  return new RpcError(typeof e.code === "number" ? e.code : grpc.status.UNKNOWN, e.details ?? String(err));
}

export interface SpireHostOptions {
  /** plugin_cmd, used as is (SPIRE makes it absolute and does no PATH lookup). */
  command: string;
  /** plugin_args, e.g. ["server"]. */
  args?: readonly string[];
  side: PluginSide;
  /** Added to the inherited environment (SPIRE passes its own environment through). */
  env?: Record<string, string | undefined>;
  /** Leave out NodeAttestor=NodeAttestor (bad-input tests). Default true. */
  magicCookie?: boolean;
  /** Default true: announce the host-service socket as broker ConnInfo id 1 (SPIRE's Accept(1)). */
  sendConnInfo?: boolean;
  /** Default true: open plugin.GRPCStdio/StreamStdio like go-plugin >= 1.1. */
  openStdio?: boolean;
  /** AgentStore: IDs that "exist" (OK); anything else is NotFound. Mutable via host.agentStore. */
  agents?: Iterable<string>;
  /** AgentStore answers FailedPrecondition, as SPIRE does before its catalog is loaded. */
  agentStoreUninitialized?: boolean;
  /** go-plugin's StartTimeout (default 60 s). */
  startTimeoutMs?: number;
  /** Wait for exit after Shutdown before SIGKILL (go-plugin: 2 s). */
  killGraceMs?: number;
}

export interface AgentStoreState {
  agents: Set<string>;
  initialized: boolean;
  /** Every GetAgentInfo agent_id, in order. */
  calls: string[];
}

export interface MetricRecord {
  method: "IncrCounter" | "SetGauge" | "AddSample" | "MeasureSince" | "EmitKey";
  key: string[];
  value: number;
  labels: { name: string; value: string }[];
}

export interface AgentAttributesResult {
  spiffeId: string;
  selectorValues: string[];
  canReattest: boolean;
}

export type AttestOutcome =
  | { ok: true; attributes: AgentAttributesResult; challenges: Uint8Array[] }
  | { ok: false; code: number; details: string; challenges: Uint8Array[] };

export interface AttestOptions {
  /** Answers each server challenge (a relay to an agent session, or a canned answer). */
  respond?: (challenge: Uint8Array) => Promise<Uint8Array> | Uint8Array;
  /** Outgoing metadata, e.g. { "x-forwarded-client-ip": "10.0.0.7" }. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface AgentSession {
  /** The payload the plugin sent unprompted. */
  payload: Uint8Array;
  /** Sends one challenge and resolves with the plugin's challenge_response. */
  respond(challenge: Uint8Array): Promise<Uint8Array>;
  /** Cancels the stream, as SPIRE agent does when the server is done. */
  close(): void;
}

export interface ExitInfo {
  /** Exited by itself within the grace period after Shutdown (no SIGKILL). */
  graceful: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** From the Shutdown call to process exit. */
  durationMs: number;
}

export interface HandshakeInfo {
  line: string;
  socketPath: string;
  /** Sixth field (AutoMTLS certificate), usually empty. */
  serverCert: string;
  /** From spawn to the handshake line. */
  durationMs: number;
}

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

function callUnary<Req, Res>(fn: Unary<Req, Res>, req: Req, timeoutMs?: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    const opts: Partial<grpc.CallOptions> =
      timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    fn(req, new grpc.Metadata(), opts, (err, res) => {
      if (err) reject(rpcError(err));
      else resolve(res as Res);
    });
  });
}

export class SpireHost {
  readonly stdoutAfterHandshake: string[] = [];
  readonly metrics: MetricRecord[] = [];
  readonly agentStore: AgentStoreState;
  /** Stdio messages received (SPIRE discards them; a silent plugin sends none). */
  stdioMessages = 0;

  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly clients: grpc.Client[] = [];
  private broker: grpc.ClientDuplexStream<ConnInfo, ConnInfo> | undefined;
  private stdio: grpc.ClientReadableStream<unknown> | undefined;
  private hostServer: grpc.Server | undefined;
  private readonly hostDir: string;
  private readonly target: string;

  private constructor(
    readonly options: SpireHostOptions,
    readonly child: ChildProcess,
    readonly handshake: HandshakeInfo,
    hostDir: string,
    /** Every stderr line, parsed the way go-plugin parses it (filled as lines arrive). */
    readonly logs: PluginLogLine[],
  ) {
    this.hostDir = hostDir;
    this.target = `unix://${handshake.socketPath}`;
    this.agentStore = {
      agents: new Set(options.agents ?? []),
      initialized: !options.agentStoreUninitialized,
      calls: [],
    };
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
        return;
      }
      child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    void this.exited.then((info) => {
      this.exitInfo = info;
    });
  }

  /** Spawn, handshake, connect, open broker + stdio, serve host services, send ConnInfo id 1. */
  static async start(options: SpireHostOptions): Promise<SpireHost> {
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...options.env,
      PLUGIN_MIN_PORT: "10000",
      PLUGIN_MAX_PORT: "25000",
      PLUGIN_PROTOCOL_VERSIONS: "1",
    };
    if (options.magicCookie !== false) env.NodeAttestor = "NodeAttestor";
    else delete env.NodeAttestor;

    const started = performance.now();
    const child = spawn(options.command, [...(options.args ?? [])], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: PluginLogLine[] = [];
    onGoLines(child.stderr!, (line) => logs.push(checkHclogLine(line)));

    let handshake: HandshakeInfo;
    try {
      handshake = await readHandshake(child, started, options.startTimeoutMs ?? 60_000, logs);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
    const hostDir = mkdtempSync(join(tmpdir(), "spirehost-"));
    const host = new SpireHost(options, child, handshake, hostDir, logs);
    onGoLines(child.stdout!, (line) => host.stdoutAfterHandshake.push(line));
    try {
      await host.connect();
    } catch (err) {
      await host.kill();
      throw err;
    }
    return host;
  }

  private client<C extends grpc.Client>(ctor: new (address: string, creds: grpc.ChannelCredentials) => C): C {
    const c = new ctor(this.target, grpc.credentials.createInsecure());
    this.clients.push(c);
    return c;
  }

  private async connect(): Promise<void> {
    const brokerClient = this.client(GRPCBrokerClient);
    this.broker = brokerClient.startStream();
    this.broker.on("error", () => {});
    this.broker.on("data", () => {});
    if (this.options.openStdio !== false) {
      const stdioClient = this.client(GRPCStdioClient);
      const empty: GoogleEmpty = {};
      this.stdio = stdioClient.streamStdio(empty);
      this.stdio.on("data", () => {
        this.stdioMessages++;
      });
      this.stdio.on("error", () => {});
    }
    if (this.options.sendConnInfo !== false) {
      const socket = join(this.hostDir, "host.sock");
      this.hostServer = await this.serveHostServices(socket);
      this.broker.write({ serviceId: 1, network: "unix", address: socket });
    }
  }

  private async serveHostServices(socket: string): Promise<grpc.Server> {
    const server = new grpc.Server();
    const store = this.agentStore;
    server.addService(AgentStoreService, {
      getAgentInfo(
        call: grpc.ServerUnaryCall<GetAgentInfoRequest, GetAgentInfoResponse>,
        cb: grpc.sendUnaryData<GetAgentInfoResponse>,
      ): void {
        store.calls.push(call.request.agentId);
        if (!store.initialized) {
          cb({
            code: grpc.status.FAILED_PRECONDITION,
            details: "AgentStore host service has not been initialized",
          });
        } else if (!store.agents.has(call.request.agentId)) {
          cb({ code: grpc.status.NOT_FOUND, details: "no such agent" });
        } else {
          cb(null, { info: { agentId: call.request.agentId } });
        }
      },
    });
    const metrics = this.metrics;
    const record =
      <Req extends { key: string[] }>(
        method: MetricRecord["method"],
        value: (r: Req) => number,
        labels: (r: Req) => MetricRecord["labels"],
      ) =>
      (call: grpc.ServerUnaryCall<Req, GoogleEmpty>, cb: grpc.sendUnaryData<GoogleEmpty>): void => {
        metrics.push({
          method,
          key: [...call.request.key],
          value: value(call.request),
          labels: labels(call.request),
        });
        cb(null, {});
      };
    server.addService(MetricsService, {
      incrCounter: record<IncrCounterRequest>(
        "IncrCounter",
        (r) => r.val,
        (r) => r.labels,
      ),
      setGauge: record<SetGaugeRequest>(
        "SetGauge",
        (r) => r.val,
        (r) => r.labels,
      ),
      addSample: record<AddSampleRequest>(
        "AddSample",
        (r) => r.val,
        (r) => r.labels,
      ),
      measureSince: record<MeasureSinceRequest>(
        "MeasureSince",
        (r) => Number(r.time),
        (r) => r.labels,
      ),
      emitKey: record<{ key: string[]; val: number }>(
        "EmitKey",
        (r) => r.val,
        () => [],
      ),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return server;
  }

  /** Init with SPIRE's host-service names for the side; resolves with the plugin's names. */
  async init(hostServiceNames?: readonly string[]): Promise<string[]> {
    const names =
      hostServiceNames ?? (this.options.side === "server" ? SERVER_HOST_SERVICES : AGENT_HOST_SERVICES);
    const c = this.client(InitClient);
    const res = await callUnary(c.init.bind(c) as Unary<unknown, { pluginServiceNames: string[] }>, {
      hostServiceNames: [...names],
    });
    return res.pluginServiceNames;
  }

  async configure(hclConfiguration: string, trustDomain = "example.org"): Promise<void> {
    const c = this.client(ConfigClient);
    await callUnary(c.configure.bind(c) as Unary<unknown, unknown>, {
      coreConfiguration: { trustDomain },
      hclConfiguration,
    });
  }

  async validate(
    hclConfiguration: string,
    trustDomain = "example.org",
  ): Promise<{ valid: boolean; notes: string[] }> {
    const c = this.client(ConfigClient);
    return callUnary(c.validate.bind(c) as Unary<unknown, { valid: boolean; notes: string[] }>, {
      coreConfiguration: { trustDomain },
      hclConfiguration,
    });
  }

  /** Server side: Attest like SPIRE server (payload, challenge turns, cancel after attributes). */
  attest(payload: Uint8Array, options: AttestOptions = {}): Promise<AttestOutcome> {
    const c = this.client(ServerNodeAttestorClient);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
    const call = c.attest(md);
    const challenges: Uint8Array[] = [];
    return new Promise<AttestOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: AttestOutcome): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      call.on("data", (res: AttestResponse) => {
        const r = res.response;
        if (r?.$case === "agentAttributes") {
          settle({
            ok: true,
            attributes: {
              spiffeId: r.value.spiffeId,
              selectorValues: [...r.value.selectorValues],
              canReattest: r.value.canReattest,
            },
            challenges,
          });
          // SPIRE stops reading and cancels; it never half-closes.
          call.cancel();
          return;
        }
        if (r?.$case === "challenge") {
          challenges.push(r.value);
          const respond = options.respond;
          if (respond === undefined) {
            settle({
              ok: false,
              code: grpc.status.INTERNAL,
              details: "host has no challenge responder",
              challenges,
            });
            call.cancel();
            return;
          }
          Promise.resolve()
            .then(() => respond(r.value))
            .then(
              (answer) => {
                const req: AttestRequest = {
                  request: { $case: "challengeResponse", value: Buffer.from(answer) },
                };
                call.write(req);
              },
              (err: unknown) => {
                settle({
                  ok: false,
                  code: grpc.status.INTERNAL,
                  details: `challenge responder: ${String(err)}`,
                  challenges,
                });
                call.cancel();
              },
            );
          return;
        }
        settle({
          ok: false,
          code: grpc.status.INTERNAL,
          details: "plugin response missing challenge or agent attributes",
          challenges,
        });
        call.cancel();
      });
      call.on("error", (err: grpc.ServiceError) => {
        settle({ ok: false, code: err.code, details: err.details, challenges });
      });
      call.on("end", () => {
        settle({
          ok: false,
          code: grpc.status.INTERNAL,
          details: "plugin closed stream unexpectedly",
          challenges,
        });
      });
      const first: AttestRequest = { request: { $case: "payload", value: Buffer.from(payload) } };
      call.write(first);
    });
  }

  /** Agent side: open AidAttestation (sending nothing) and wait for the unprompted payload. */
  aidAttestation(): Promise<AgentSession> {
    const c = this.client(AgentNodeAttestorClient);
    const call = c.aidAttestation();
    let waiter: { resolve: (v: Uint8Array) => void; reject: (e: Error) => void } | undefined;
    let failure: Error | undefined;
    const fail = (e: Error): void => {
      failure = e;
      waiter?.reject(e);
      waiter = undefined;
    };
    return new Promise<AgentSession>((resolve, reject) => {
      let gotPayload = false;
      call.on("data", (msg: PayloadOrChallengeResponse) => {
        const d = msg.data;
        if (!gotPayload) {
          gotPayload = true;
          if (d?.$case !== "payload" || d.value.length === 0) {
            reject(new RpcError(grpc.status.INTERNAL, "plugin response missing attestation payload"));
            call.cancel();
            return;
          }
          resolve({
            payload: d.value,
            respond: (challenge: Uint8Array): Promise<Uint8Array> =>
              new Promise((res, rej) => {
                if (failure) return rej(failure);
                waiter = { resolve: res, reject: rej };
                const ch: Challenge = { challenge: Buffer.from(challenge) };
                call.write(ch);
              }),
            close: (): void => call.cancel(),
          });
          return;
        }
        const w = waiter;
        waiter = undefined;
        if (d?.$case !== "challengeResponse" || d.value.length === 0) {
          w?.reject(new RpcError(grpc.status.INTERNAL, "plugin response missing challenge response"));
          return;
        }
        w?.resolve(d.value);
      });
      call.on("error", (err: grpc.ServiceError) => {
        const e = rpcError(err);
        if (!gotPayload) reject(e);
        fail(e);
      });
      call.on("end", () => {
        const e = new RpcError(
          grpc.status.INTERNAL,
          gotPayload
            ? "plugin closed stream before handling the challenge"
            : "plugin closed stream before returning attestation data",
        );
        if (!gotPayload) reject(e);
        fail(e);
      });
    });
  }

  /** Init/Deinit with SPIRE's 10 s deadline. */
  async deinit(): Promise<void> {
    const c = this.client(InitClient);
    await callUnary(c.deinit.bind(c) as Unary<unknown, unknown>, {}, 10_000);
  }

  /**
   * go-plugin Kill(): close the broker stream, Controller.Shutdown (no deadline, but bounded
   * here by the grace period so a test cannot hang), close the connection, wait for exit,
   * SIGKILL after the grace period.
   */
  async shutdown(): Promise<ExitInfo> {
    const grace = this.options.killGraceMs ?? 2000;
    const t0 = performance.now();
    this.broker?.cancel();
    const controller = this.client(GRPCControllerClient);
    await Promise.race([
      callUnary(controller.shutdown.bind(controller) as Unary<unknown, unknown>, {}).catch(() => undefined),
      this.exited,
      // unref: a finished host must not keep its caller's process alive for the grace period.
      new Promise((r) => setTimeout(r, grace).unref()),
    ]);
    this.closeClients();
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), grace).unref());
    const result = await Promise.race([this.exited, timer]);
    let graceful = true;
    if (result === "timeout") {
      graceful = false;
      this.child.kill("SIGKILL");
    }
    const info = await this.exited;
    await this.cleanup();
    return { graceful, exitCode: info.code, signal: info.signal, durationMs: performance.now() - t0 };
  }

  /** Deinit (errors recorded, not thrown, like SPIRE) then shutdown(). */
  async unload(): Promise<ExitInfo & { deinitError: RpcError | undefined }> {
    let deinitError: RpcError | undefined;
    try {
      await this.deinit();
    } catch (err) {
      deinitError = err instanceof RpcError ? err : rpcError(err);
    }
    return { ...(await this.shutdown()), deinitError };
  }

  /** Immediate SIGKILL and cleanup (test teardown). */
  async kill(): Promise<void> {
    this.closeClients();
    if (this.exitInfo === undefined) this.child.kill("SIGKILL");
    await this.exited;
    await this.cleanup();
  }

  /** Resolves when the process has exited (for tests of plugins that exit on their own). */
  waitForExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  private closeClients(): void {
    this.broker?.cancel();
    this.stdio?.cancel();
    for (const c of this.clients.splice(0)) c.close();
  }

  private async cleanup(): Promise<void> {
    const server = this.hostServer;
    this.hostServer = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.tryShutdown(() => r()));
    rmSync(this.hostDir, { recursive: true, force: true });
  }
}

function readHandshake(
  child: ChildProcess,
  started: number,
  timeoutMs: number,
  logs: PluginLogLine[],
): Promise<HandshakeInfo> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString("utf8");
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      done();
      const line = buffered.slice(0, nl).trim();
      const rest = buffered.slice(nl + 1);
      // Anything after the handshake in the same chunk is stdout noise; keep it visible.
      if (rest !== "") child.stdout!.unshift(Buffer.from(rest));
      const parts = line.split("|");
      if (
        parts.length < 5 ||
        parts[0] !== "1" ||
        parts[1] !== "1" ||
        parts[2] !== "unix" ||
        parts[4] !== "grpc"
      ) {
        reject(new Error(`Unrecognized remote plugin message: ${line}`));
        return;
      }
      resolve({
        line,
        socketPath: parts[3] ?? "",
        serverCert: parts[5] ?? "",
        durationMs: performance.now() - started,
      });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      const stderr = logs.map((l) => l.message).join("\n");
      reject(new Error(`plugin exited before we could connect (code ${code}, signal ${signal}): ${stderr}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("timeout while waiting for plugin to start"));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      child.stdout!.pause();
    };
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** start + Init + Configure: a plugin loaded the way SPIRE loads it. */
export async function loadPlugin(
  options: SpireHostOptions & { config?: string; trustDomain?: string },
): Promise<SpireHost> {
  const host = await SpireHost.start(options);
  try {
    await host.init();
    await host.configure(options.config ?? "", options.trustDomain);
  } catch (err) {
    await host.kill();
    throw err;
  }
  return host;
}

/**
 * Lines as go-plugin reads a plugin's stderr/stdout (bufio.Reader.ReadLine): split on "\n"
 * only, one trailing "\r" dropped. node:readline is not that: from Node 24 it also breaks lines
 * at U+2028/U+2029, which would make a valid hclog record look like two broken ones.
 */
function onGoLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = "";
  const emit = (line: string): void => onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  });
  stream.on("end", () => {
    if (pending !== "") emit(pending);
    pending = "";
  });
}
