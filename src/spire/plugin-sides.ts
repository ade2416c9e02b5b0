/**
 * Which SPIRE side this process serves, and the runtime of that side.
 *
 * SPIRE starts an external plugin with the same handshake (magic cookie = plugin type) on the
 * server and on the agent, and its Init request carries no plugin name or side. What differs is
 * the host services offered in InitRequest.host_service_names: the server's catalog offers
 * IdentityProvider, AgentStore and Metrics (spiffe/spire pkg/server/catalog/catalog.go), the
 * agent's only Metrics (pkg/agent/catalog/catalog.go). So without plugin_args the side is
 * chosen at Init: AgentStore offered means a server, anything else an agent. Init's response
 * then names only that side's NodeAttestor, which is what SPIRE binds without an
 * "Unsupported plugin service found" warning (pkg/common/catalog/plugin.go).
 *
 * With a side from plugin_args the runtime exists from the start, exactly as before, and Init
 * only checks that the host looks like that side.
 */

import { Code, failedPrecondition, PluginError } from "../common/errors";
import type { Logger } from "../common/logger";
import { wrongSideMessage } from "../plugin-selection";
import type {
  AgentAttestorPlugin,
  AgentPluginFactory,
  ConfigurablePlugin,
  ServerAttestorPlugin,
  ServerPluginFactory,
} from "./contracts";
import type { HostServiceConnection } from "./host-services";
import { PluginRuntime } from "./plugin-runtime";
import { AGENT_STORE_HOST_SERVICE, type PluginSide } from "./service-names";

/** One attestation method's two implementations, imported on demand. */
export interface PluginFactories {
  server: () => Promise<ServerPluginFactory>;
  agent: () => Promise<AgentPluginFactory>;
}

/** The side a host is, judged by what it offers at Init. */
export function sideOfHost(hostServiceNames: readonly string[]): PluginSide {
  return hostServiceNames.includes(AGENT_STORE_HOST_SERVICE) ? "server" : "agent";
}

export class PluginSides {
  private server: PluginRuntime<ServerAttestorPlugin> | undefined;
  private agent: PluginRuntime<AgentAttestorPlugin> | undefined;

  constructor(
    /** From plugin_args; undefined = chosen at Init. */
    private readonly fixedSide: PluginSide | undefined,
    private readonly factories: PluginFactories,
    private readonly logger: Logger,
    private readonly setLogLevel: (level: string) => void,
    private readonly conn: HostServiceConnection,
  ) {
    if (fixedSide !== undefined) this.create(fixedSide);
  }

  private create(side: PluginSide): void {
    if (side === "server") {
      this.server = new PluginRuntime(
        "server",
        this.factories.server,
        this.logger,
        this.setLogLevel,
        this.conn,
      );
    } else {
      this.agent = new PluginRuntime("agent", this.factories.agent, this.logger, this.setLogLevel, this.conn);
    }
  }

  /** The side served so far, if known. */
  get side(): PluginSide | undefined {
    return this.server !== undefined ? "server" : this.agent !== undefined ? "agent" : undefined;
  }

  /** Import the implementation module now, if the side is already known. */
  preload(): void {
    this.current()?.preload();
  }

  /** Init: settle the side (once) and hand the host services to its runtime. */
  init(hostServiceNames: readonly string[]): PluginSide {
    const hostSide = sideOfHost(hostServiceNames);
    const side = this.side;
    if (side === undefined) {
      this.create(hostSide);
      this.logger.debug("Plugin side chosen from the host services offered at Init", { side: hostSide });
    } else if (side !== hostSide && this.fixedSide !== undefined) {
      this.logger.warn(wrongSideMessage(side, hostSide), { host_services: hostServiceNames.join(",") });
    }
    const runtime = this.current();
    runtime?.init(hostServiceNames);
    return runtime?.side ?? hostSide;
  }

  private current(): PluginRuntime<ConfigurablePlugin> | undefined {
    return this.server ?? this.agent;
  }

  /** For Config: the runtime of whichever side is served. */
  configurable(): PluginRuntime<ConfigurablePlugin> {
    const runtime = this.current();
    if (runtime === undefined) throw notInitialized();
    return runtime;
  }

  serverRuntime(): PluginRuntime<ServerAttestorPlugin> {
    if (this.server !== undefined) return this.server;
    throw this.agent === undefined ? notInitialized() : wrongSide("agent");
  }

  agentRuntime(): PluginRuntime<AgentAttestorPlugin> {
    if (this.agent !== undefined) return this.agent;
    throw this.server === undefined ? notInitialized() : wrongSide("server");
  }

  /** Deinit, or process exit without one: close whichever runtime exists. */
  close(): Promise<void> {
    return this.current()?.close() ?? Promise.resolve();
  }
}

function notInitialized(): PluginError {
  return failedPrecondition("plugin side not chosen yet: SPIRE calls Init first");
}

function wrongSide(side: PluginSide): PluginError {
  return new PluginError(Code.Unimplemented, `this plugin process serves the ${side} side`);
}
