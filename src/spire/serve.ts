/**
 * serve(): one SPIRE NodeAttestor plugin process. Starts the go-plugin server (handshake,
 * broker, controller, stdio, health), registers Init, Config and the side's NodeAttestor,
 * and only then imports the implementation module, so heavy dependencies load after the
 * handshake line is out.
 */
import type * as grpc from "@grpc/grpc-js";
import { NodeAttestorService as AgentNodeAttestorService } from "../gen/spire/plugin/agent/nodeattestor/v1/nodeattestor";
import { NodeAttestorService as ServerNodeAttestorService } from "../gen/spire/plugin/server/nodeattestor/v1/nodeattestor";
import { ConfigService } from "../gen/spire/service/common/config/v1/config";
import { InitService } from "../gen/spire/service/private/init/v1/init";
import { HclogLogger, parseLogLevel } from "../goplugin/hclog";
import { type GoPluginServer, startGoPluginServer } from "../goplugin/server";
import { agentAttestorService } from "./agent-attestor-service";
import { configService } from "./config-service";
import type { AgentPluginFactory, ServerPluginFactory } from "./contracts";
import { HostServiceConnection } from "./host-services";
import { initService } from "./init-service";
import { PluginRuntime } from "./plugin-runtime";
import { serverAttestorService } from "./server-attestor-service";

interface CommonServeOptions {
  logger?: HclogLogger;
  env?: NodeJS.ProcessEnv;
  /** For tests; default prints on stdout / exits the process. */
  writeHandshake?: (line: string) => void;
  exit?: (code: number) => void;
}

export type ServeOptions =
  | (CommonServeOptions & { side: "server"; loadFactory: () => Promise<ServerPluginFactory> })
  | (CommonServeOptions & { side: "agent"; loadFactory: () => Promise<AgentPluginFactory> });

export interface ServedPlugin {
  goplugin: GoPluginServer;
  logger: HclogLogger;
}

export async function serve(options: ServeOptions): Promise<ServedPlugin> {
  const logger = options.logger ?? new HclogLogger();
  const setLogLevel = (level: string): void => {
    const parsed = parseLogLevel(level);
    if (parsed === undefined) {
      logger.warn("Ignoring unknown log level", { log_level: level });
      return;
    }
    logger.setLevel(parsed);
  };

  let closeRuntime: (() => Promise<void>) | undefined;
  let preload: (() => void) | undefined;
  let conn: HostServiceConnection | undefined;
  const goplugin = await startGoPluginServer({
    logger,
    env: options.env,
    writeHandshake: options.writeHandshake,
    exit: options.exit,
    register(server: grpc.Server, rt): void {
      conn = new HostServiceConnection(rt.broker);
      if (options.side === "server") {
        const runtime = new PluginRuntime("server", options.loadFactory, logger, setLogLevel, conn);
        closeRuntime = () => runtime.close();
        server.addService(InitService, initService(runtime, logger));
        server.addService(ConfigService, configService(runtime, logger));
        server.addService(
          ServerNodeAttestorService,
          serverAttestorService(runtime, logger, rt.shutdownSignal),
        );
        preload = () => runtime.preload();
      } else {
        const runtime = new PluginRuntime("agent", options.loadFactory, logger, setLogLevel, conn);
        closeRuntime = () => runtime.close();
        server.addService(InitService, initService(runtime, logger));
        server.addService(ConfigService, configService(runtime, logger));
        server.addService(AgentNodeAttestorService, agentAttestorService(runtime, logger, rt.shutdownSignal));
        preload = () => runtime.preload();
      }
    },
    async beforeExit(): Promise<void> {
      // SPIRE sends Deinit before Shutdown; on SIGTERM nobody did, so close here (once).
      try {
        await closeRuntime?.();
      } finally {
        conn?.close();
      }
    },
  });
  // Only now, with the handshake line written, import the implementation (AWS SDK and all).
  if (preload !== undefined) setImmediate(preload);
  return { goplugin, logger };
}
