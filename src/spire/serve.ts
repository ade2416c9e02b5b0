/**
 * serve(): one SPIRE NodeAttestor plugin process. Starts the go-plugin server (handshake,
 * broker, controller, stdio, health), registers Init, Config and the NodeAttestors, and
 * only then imports the implementation module, so heavy dependencies load after the
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
import { HostServiceConnection } from "./host-services";
import { initService } from "./init-service";
import { type PluginFactories, PluginSides } from "./plugin-sides";
import { serverAttestorService } from "./server-attestor-service";
import type { PluginSide } from "./service-names";

export interface ServeOptions {
  /** From plugin_args; undefined: chosen at Init from the host services (plugin-sides.ts). */
  side: PluginSide | undefined;
  factories: PluginFactories;
  logger?: HclogLogger;
  env?: NodeJS.ProcessEnv;
  /** For tests; default prints on stdout / exits the process. */
  writeHandshake?: (line: string) => void;
  exit?: (code: number) => void;
}

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

  let sides: PluginSides | undefined;
  let conn: HostServiceConnection | undefined;
  const goplugin = await startGoPluginServer({
    logger,
    env: options.env,
    writeHandshake: options.writeHandshake,
    exit: options.exit,
    register(server: grpc.Server, rt): void {
      conn = new HostServiceConnection(rt.broker);
      sides = new PluginSides(options.side, options.factories, logger, setLogLevel, conn);
      server.addService(InitService, initService(sides, logger));
      server.addService(ConfigService, configService(sides, logger));
      // Both NodeAttestors are registered; the one of the other side answers Unimplemented,
      // and Init names only the side served.
      server.addService(ServerNodeAttestorService, serverAttestorService(sides, logger, rt.shutdownSignal));
      server.addService(AgentNodeAttestorService, agentAttestorService(sides, logger, rt.shutdownSignal));
    },
    async beforeExit(): Promise<void> {
      // SPIRE sends Deinit before Shutdown; on SIGTERM nobody did, so close here (once).
      try {
        await sides?.close();
      } finally {
        // Sends the metrics aggregated since the last flush (bounded wait).
        await conn?.drain();
      }
    },
  });
  // Only now, with the handshake line written, import the implementation (AWS SDK and all).
  // Without plugin_args the side, and so the module to import, is known only at Init.
  setImmediate(() => sides?.preload());
  return { goplugin, logger };
}
