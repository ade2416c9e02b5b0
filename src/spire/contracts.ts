/**
 * The seam between SPIRE's plugin framework (src/spire, src/goplugin) and the attestors
 * (src/server, src/agent). The framework owns gRPC, streams, Init/Config bookkeeping and
 * host services; attestors see only these types, so the attest pipeline can be tested
 * without processes or sockets.
 */
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import type { AttestLimits } from "./attest-limiter";

/** What SPIRE passes in ConfigureRequest.core_configuration. */
export interface CoreConfig {
  /** Bare trust domain name, e.g. "example.org" (no spiffe:// prefix). */
  trustDomain: string;
}

export interface ValidateResult {
  valid: boolean;
  /** Human-readable notes shown by `spire-server validate`. */
  notes: string[];
}

/** AgentStore host service (server side), reached over broker id 1. */
export interface AgentStore {
  /**
   * true if SPIRE has an attested-node record for this agent ID, false on NotFound.
   * Any other failure throws a PluginError carrying SPIRE's code (FailedPrecondition until
   * SPIRE has finished loading all plugins).
   */
  agentExists(agentId: string, signal?: AbortSignal): Promise<boolean>;
}

export interface HostServices {
  /** undefined when SPIRE did not offer the service (agent side, or an old host). */
  agentStore: AgentStore | undefined;
  /** Forwards to SPIRE's Metrics host service when offered; otherwise a no-op. */
  metrics: Metrics;
}

/** Everything a plugin implementation is built from. */
export interface PluginEnvironment {
  logger: Logger;
  hostServices: HostServices;
  /** Set the log level at runtime (from the `log_level` config key). */
  setLogLevel(level: string): void;
}

/** Configure/Validate/Deinit, common to both sides. */
export interface ConfigurablePlugin {
  /**
   * Apply a configuration. Throws PluginError (InvalidArgument for bad config). On failure the
   * previous configuration must stay in force: SPIRE keeps using the plugin after a failed
   * reconfigure (SIGUSR1 with plugin_data_file).
   */
  configure(core: CoreConfig, hcl: string): Promise<void>;
  /** Check a configuration without applying it; works without a prior configure. */
  validate(core: CoreConfig, hcl: string): Promise<ValidateResult>;
  /** Deinit: release timers, sockets, caches. No RPC follows. */
  close(): Promise<void>;
}

/** gRPC metadata SPIRE server forwards with Attest (SPIRE's pkg/server/plugin/nodeattestor/v1.go). */
export interface AttestMetadata {
  /** x-forwarded-client-ip: the agent's address as the server saw it (SPIRE >= 1.15.2). */
  forwardedClientIp: string | undefined;
  /** x-untrusted-forwarded-host: client-controlled, diagnostics only. */
  untrustedForwardedHost: string | undefined;
}

export interface AttestRequestContext {
  /** The agent's payload bytes exactly as received. */
  payload: Uint8Array;
  metadata: AttestMetadata;
  /**
   * Sends a challenge to the agent and resolves with its response. Rejects with a
   * PluginError (InvalidArgument) if the stream ends or a payload arrives instead, or
   * (ResourceExhausted) when too many attestations already wait on their agents. The wait holds
   * no attestation slot; bounding how long it lasts is the caller's (the challenge's lifetime).
   */
  challenge(data: Uint8Array): Promise<Uint8Array>;
  /** Aborted when SPIRE cancels the stream, the client goes away, or the plugin shuts down. */
  signal: AbortSignal;
}

export interface AgentAttributes {
  spiffeId: string;
  selectorValues: string[];
  canReattest: boolean;
}

export interface ServerAttestorPlugin extends ConfigurablePlugin {
  /**
   * The cheap check of the first message (size, then shape), run before the stream is admitted
   * and before any slot or byte budget is taken. Throws PluginError (InvalidArgument).
   */
  checkPayload(payload: Uint8Array): void;
  /** The admission bounds of the current configuration (attest-limiter.ts); {} for the defaults. */
  admissionLimits(): Partial<AttestLimits>;
  /** Resolve with the attributes, or throw a PluginError with the code SPIRE should see. */
  attest(ctx: AttestRequestContext): Promise<AgentAttributes>;
}

export interface AgentAttestorPlugin extends ConfigurablePlugin {
  /** Builds the attestation payload, sent unprompted as the first stream message. */
  payload(signal: AbortSignal): Promise<Uint8Array>;
  /** Answers one server challenge (the aws_iid method never receives one). */
  respondToChallenge(challenge: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
}

/**
 * How main.ts hands an implementation to the framework. Construction must be cheap: heavy
 * modules (the AWS SDK) are imported lazily inside configure/attest so the handshake line is
 * printed quickly.
 */
export type ServerPluginFactory = (env: PluginEnvironment) => ServerAttestorPlugin;
export type AgentPluginFactory = (env: PluginEnvironment) => AgentAttestorPlugin;
