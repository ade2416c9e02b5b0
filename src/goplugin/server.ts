/**
 * The plugin side of hashicorp/go-plugin's gRPC protocol, as SPIRE (go-plugin 1.8.0 in 1.15,
 * 1.7.0 in 1.13) and the interop host (test/interop/host, go-plugin 1.8.0) drive it:
 *
 * 1. bind a plaintext gRPC server on a unix socket, *then* print `1|1|unix|<path>|grpc|` on
 *    stdout (SPIRE's first RPCs are not wait-for-ready; an early dial fails the load);
 * 2. serve GRPCBroker (the host announces its host-service socket as ConnInfo id 1 before
 *    Init; without a broker the host's send races an UNIMPLEMENTED and loads fail
 *    intermittently), GRPCStdio (opened by go-plugin >= 1.1; kept open and silent),
 *    GRPCController (Shutdown has no deadline on the host: answer, then exit, well inside the
 *    2 s before SIGKILL) and grpc.health.v1 ("plugin" = SERVING, for Client.Ping);
 * 3. never write to stdout again: go-plugin drains stdout only line by line and stops at the
 *    first 64 KiB line, after which a blocked stdout write would hang the plugin.
 */
import { chmodSync, chownSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../common/logger";
import type { Empty as GoogleEmpty } from "../gen/google/protobuf/empty";
import {
  type HealthCheckRequest,
  HealthCheckResponse,
  type HealthListRequest,
  HealthListResponse,
  HealthService,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health";
import { type ConnInfo, GRPCBrokerService } from "../gen/plugin/grpc_broker";
import { Empty, GRPCControllerService } from "../gen/plugin/grpc_controller";
import { GRPCStdioService, type StdioData } from "../gen/plugin/grpc_stdio";
import { Broker } from "./broker";
import { handshakeLine, makeSocketDir } from "./handshake";
import { type HostWatchOptions, watchHost } from "./host-watch";

/** go-plugin's GRPCServiceName: what Client.Ping asks the health service about. */
const HEALTH_SERVICE_NAME = "plugin";
/** How long Shutdown waits for in-flight calls before cancelling them (host kills at 2 s). */
const SHUTDOWN_GRACE_MS = 250;
/**
 * Largest message we accept (grpc-js default: 4 MiB). The biggest legitimate ones are
 * Configure's HCL text and an aws_iid payload (itself capped at 64 KiB); anything near this
 * is hostile or broken and is refused by gRPC before it is buffered for a handler.
 */
export const MAX_RECEIVE_MESSAGE_BYTES = 1024 * 1024;

export interface GoPluginServerOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Adds the application services (SPIRE Init, Config, NodeAttestor). */
  register(server: grpc.Server, runtime: GoPluginRuntime): void;
  /** Runs on Shutdown / SIGTERM before the process exits; must not hang (it is bounded). */
  beforeExit?: () => Promise<void> | void;
  /** For tests: where the handshake goes (default: stdout) and how the process ends. */
  writeHandshake?: (line: string) => void;
  exit?: (code: number) => void;
  /** Tuning of the host-death watch (tests); `false` turns it off. */
  hostWatch?: Partial<Omit<HostWatchOptions, "onHostGone">> | false;
}

export interface GoPluginRuntime {
  readonly broker: Broker;
  /** Aborted when the host asks us to shut down: in-flight RPCs should give up. */
  readonly shutdownSignal: AbortSignal;
}

export interface GoPluginServer extends GoPluginRuntime {
  readonly socketPath: string;
  readonly server: grpc.Server;
  /** Stops serving, removes the socket and exits the process with `code`. */
  shutdown(reason: string, code?: number): void;
}

function bindUnix(server: grpc.Server, socketPath: string, creds: grpc.ServerCredentials): Promise<void> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, creds, (err) => (err ? reject(err) : resolve()));
  });
}

async function serverCredentials(
  env: NodeJS.ProcessEnv,
): Promise<{ creds: grpc.ServerCredentials; cert: string }> {
  const clientCert = env.PLUGIN_CLIENT_CERT;
  if (clientCert === undefined || clientCert === "") {
    return { creds: grpc.ServerCredentials.createInsecure(), cert: "" };
  }
  const { generateServerCertificate } = await import("./automtls");
  const generated = await generateServerCertificate();
  return {
    creds: grpc.ServerCredentials.createSsl(
      Buffer.from(clientCert),
      [{ private_key: generated.keyPem, cert_chain: generated.certPem }],
      true,
    ),
    cert: generated.derBase64Raw,
  };
}

/**
 * Starts serving and prints the handshake. Throws (before printing anything on stdout) when
 * the socket cannot be created, e.g. an unwritable PLUGIN_UNIX_SOCKET_DIR.
 */
export async function startGoPluginServer(options: GoPluginServerOptions): Promise<GoPluginServer> {
  const env = options.env ?? process.env;
  const logger = options.logger;
  const exit = options.exit ?? ((code: number): void => process.exit(code));
  const broker = new Broker();
  const shutdownController = new AbortController();

  const socketDir = makeSocketDir(env);
  const socketPath = join(socketDir, "plugin.sock");
  const removeSocket = (): void => {
    try {
      rmSync(socketDir, { recursive: true, force: true });
    } catch {
      // Best effort: the directory is ours and private, a leftover is harmless.
    }
  };
  // process.exit() and a natural exit both run 'exit' listeners; SIGKILL leaves the file.
  process.once("exit", removeSocket);

  // Every incoming call is a sign of a live host (see host-watch.ts).
  const noteActivity: grpc.ServerInterceptor = (_method, call) => {
    hostWatch?.activity();
    return new grpc.ServerInterceptingCall(call);
  };
  const server = new grpc.Server({
    // go-plugin's host sends keepalives only if configured; be lenient with what it sends.
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": MAX_RECEIVE_MESSAGE_BYTES,
    interceptors: [noteActivity],
  });
  raiseStreamResetLimit(server);
  const runtime: GoPluginRuntime = { broker, shutdownSignal: shutdownController.signal };

  let exiting = false;
  const shutdown = (reason: string, code = 0): void => {
    if (exiting) return;
    exiting = true;
    hostWatch?.stop();
    logger.debug("Plugin shutting down", { reason });
    shutdownController.abort();
    const finish = (): void => {
      removeSocket();
      exit(code);
    };
    // Hard stop well inside go-plugin's 2 s grace, whatever beforeExit or gRPC do.
    setTimeout(finish, 1500).unref();
    void (async (): Promise<void> => {
      try {
        await Promise.race([
          Promise.resolve(options.beforeExit?.()),
          new Promise((r) => setTimeout(r, 1000).unref()),
        ]);
      } catch (err) {
        logger.warn("Cleanup before exit failed", { error: err });
      }
      const force = setTimeout(() => server.forceShutdown(), SHUTDOWN_GRACE_MS);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        finish();
      });
    })();
  };

  // SPIRE never restarts a plugin, but a plugin outliving its host is a leak (socket, AWS
  // credentials in memory, a process nobody will stop): leave when the host is gone.
  const hostWatch =
    options.hostWatch === false
      ? undefined
      : watchHost({
          ...options.hostWatch,
          onHostGone: (reason) => {
            logger.warn("Host is gone; exiting", { reason });
            shutdown(reason);
          },
        });

  server.addService(GRPCBrokerService, {
    startStream(call: grpc.ServerDuplexStream<ConnInfo, ConnInfo>): void {
      call.on("data", (info: ConnInfo) => {
        logger.trace("Broker connection info received", {
          service_id: info.serviceId,
          network: info.network,
          address: info.address,
        });
        broker.record(info);
      });
      // The host never expects anything from us on this stream; SPIRE cancels it at unload,
      // right before Shutdown. If no Shutdown follows, the host died.
      const closed = (how: string): void => {
        logger.debug("Host broker stream closed", { how });
        hostWatch?.brokerClosed(how);
      };
      call.on("end", () => {
        call.end();
        closed("ended");
      });
      call.on("cancelled", () => closed("cancelled"));
      call.on("error", (err: Error) => closed(`error: ${err.message}`));
    },
  });

  server.addService(GRPCControllerService, {
    shutdown(_call: grpc.ServerUnaryCall<Empty, Empty>, callback: grpc.sendUnaryData<Empty>): void {
      // Answer first: the host calls Shutdown without a deadline and only then starts its
      // 2 s wait for our exit.
      callback(null, Empty.create());
      setImmediate(() => shutdown("controller Shutdown"));
    },
  });

  server.addService(GRPCStdioService, {
    streamStdio(call: grpc.ServerWritableStream<GoogleEmpty, StdioData>): void {
      // Open and silent: our logs go to stderr as hclog JSON, which SPIRE parses; the stdio
      // stream's data would be discarded by SPIRE (no SyncStdout/SyncStderr).
      call.on("error", () => {});
    },
  });

  const healthStatus = (service: string): ServingStatus | undefined =>
    service === "" || service === HEALTH_SERVICE_NAME ? ServingStatus.SERVING : undefined;
  server.addService(HealthService, {
    check(
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ): void {
      const status = healthStatus(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
        return;
      }
      callback(null, HealthCheckResponse.create({ status }));
    },
    list(
      _call: grpc.ServerUnaryCall<HealthListRequest, HealthListResponse>,
      callback: grpc.sendUnaryData<HealthListResponse>,
    ): void {
      const serving = HealthCheckResponse.create({ status: ServingStatus.SERVING });
      callback(
        null,
        HealthListResponse.create({ statuses: { "": serving, [HEALTH_SERVICE_NAME]: serving } }),
      );
    },
    watch(call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
      call.on("error", () => {});
      call.write(
        HealthCheckResponse.create({
          status: healthStatus(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN,
        }),
      );
    },
  });

  options.register(server, runtime);

  const { creds, cert } = await serverCredentials(env);
  try {
    await bindUnix(server, socketPath, creds);
  } catch (err) {
    removeSocket();
    throw err;
  }
  const group = env.PLUGIN_UNIX_SOCKET_GROUP;
  if (group !== undefined && group !== "") {
    applySocketGroup(socketPath, group);
  }

  // go-plugin ignores SIGINT in plugins: Ctrl-C reaches the whole process group and the host
  // must be the one to unload us.
  process.on("SIGINT", () => {});
  // systemd stops a unit's whole cgroup with SIGTERM; leave without a stack and without the
  // socket file.
  process.on("SIGTERM", () => shutdown("SIGTERM"));

  (options.writeHandshake ?? ((line: string): void => void process.stdout.write(line)))(
    handshakeLine(socketPath, cert),
  );

  return { ...runtime, socketPath, server, shutdown };
}

/**
 * SPIRE server cancels every Attest stream once it has the agent attributes, so each
 * attestation ends with an RST_STREAM from the host, and rejected ones add resets of their
 * own. nghttp2's rapid-reset guard (CVE-2023-44487) allows a burst of 1000 resets, then 33
 * per second, and past that kills the whole HTTP/2 session with INTERNAL_ERROR: every
 * attestation in flight fails and the broker stream drops. The soak (scripts/soak.ts,
 * 30,000 attestations at ~900/s on Node 22.23) lost 72 calls that way without this and none
 * with it. The host is SPIRE on a private unix socket, not an internet client, so the guard
 * only hurts here. Node accepts streamResetBurst/streamResetRate since 22.10 (every version
 * this plugin supports); grpc-js has no option for them, so they go into the options it hands
 * to http2.createServer (a private field: if a grpc-js upgrade renames it this does nothing
 * and the default applies; server-limits.spec.ts fails then).
 */
export const STREAM_RESET_BURST = 1_000_000;
export const STREAM_RESET_RATE = 100_000;

export function raiseStreamResetLimit(server: grpc.Server): void {
  const internals = server as unknown as { commonServerOptions?: Record<string, unknown> };
  const options = internals.commonServerOptions;
  if (typeof options !== "object" || options === null) return;
  options.streamResetBurst = STREAM_RESET_BURST;
  options.streamResetRate = STREAM_RESET_RATE;
}

/** go-plugin: chown the socket to PLUGIN_UNIX_SOCKET_GROUP (name or gid) and make it 0660. */
function applySocketGroup(socketPath: string, group: string): void {
  const gid = /^\d+$/.test(group) ? Number(group) : undefined;
  if (gid === undefined) {
    // Resolving a group name needs getgrnam, which Node lacks; numeric gids only.
    throw new Error(`PLUGIN_UNIX_SOCKET_GROUP must be a numeric gid here, got "${group}"`);
  }
  chownSync(socketPath, -1, gid);
  chmodSync(socketPath, 0o660);
}
