/**
 * Holds the plugin implementation for one process and the framework's own bookkeeping:
 * which host services SPIRE offered (from Init), and whether a Configure has succeeded.
 *
 * The implementation is constructed once Init has told us the host services (SPIRE always
 * calls Init first; any earlier RPC assumes SPIRE's usual offer for the side). Its module is
 * imported after the handshake line, so the AWS SDK never delays the handshake.
 */
import { Code, failedPrecondition, PluginError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { ConfigurablePlugin, PluginEnvironment } from "./contracts";
import { createHostServices, type HostServiceConnection } from "./host-services";
import { defaultHostServices, type PluginSide } from "./service-names";

export class PluginRuntime<P extends ConfigurablePlugin> {
  private hostServiceNames: readonly string[] | undefined;
  private instance: Promise<P> | undefined;
  private configuredOnce = false;

  constructor(
    readonly side: PluginSide,
    private readonly loadFactory: () => Promise<(env: PluginEnvironment) => P>,
    private readonly logger: Logger,
    private readonly setLogLevel: (level: string) => void,
    private readonly conn: HostServiceConnection,
  ) {}

  /** From InitRequest.host_service_names; SPIRE calls Init exactly once. */
  init(hostServiceNames: readonly string[]): void {
    this.hostServiceNames ??= [...hostServiceNames];
    // Construct now so a broken implementation shows up in the log at load time.
    this.plugin().catch(() => {});
  }

  private factory: Promise<(env: PluginEnvironment) => P> | undefined;

  /** Import the implementation module now (construction still waits for Init). */
  preload(): void {
    this.loadedFactory().catch(() => {});
  }

  private loadedFactory(): Promise<(env: PluginEnvironment) => P> {
    this.factory ??= this.loadFactory();
    return this.factory;
  }

  plugin(): Promise<P> {
    this.instance ??= this.construct();
    return this.instance;
  }

  /** Whether the implementation was ever constructed (Deinit has nothing to close otherwise). */
  get constructed(): boolean {
    return this.instance !== undefined;
  }

  private async construct(): Promise<P> {
    const offered = this.hostServiceNames ?? defaultHostServices(this.side);
    let factory: (env: PluginEnvironment) => P;
    try {
      factory = await this.loadedFactory();
    } catch (err) {
      this.logger.error("Failed to load the plugin implementation", { error: err });
      throw new PluginError(Code.Internal, "plugin implementation failed to load; see the plugin log", {
        cause: err,
      });
    }
    const env: PluginEnvironment = {
      logger: this.logger,
      hostServices: createHostServices(offered, this.conn, this.logger),
      setLogLevel: this.setLogLevel,
    };
    return factory(env);
  }

  private closing: Promise<void> | undefined;

  /** Deinit, or process exit without one (SIGTERM): close the implementation once. */
  close(): Promise<void> {
    if (this.instance === undefined) return Promise.resolve();
    this.closing ??= this.instance.then((p) => p.close());
    return this.closing;
  }

  markConfigured(): void {
    // Never cleared: after a failed reconfigure SPIRE keeps using the plugin, and the
    // implementation keeps its previous configuration.
    this.configuredOnce = true;
  }

  get configured(): boolean {
    return this.configuredOnce;
  }

  /** The implementation, or FailedPrecondition "not configured" (SPIRE's built-in wording). */
  async configuredPlugin(): Promise<P> {
    if (!this.configuredOnce) throw failedPrecondition("not configured");
    return this.plugin();
  }
}
