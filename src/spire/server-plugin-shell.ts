/**
 * What every server attestor (aws_iid, aws_iam) does around its own attestation logic, in one
 * place so the methods cannot drift apart:
 *
 * - Configure builds a complete runtime and swaps it in atomically. SPIRE may call Configure
 *   again while attestations run (SIGUSR1 with plugin_data_file) and keeps using the plugin if
 *   that Configure fails, so a failed build leaves the previous runtime serving.
 * - A replaced runtime (its AWS clients, its organization cache) is closed only after the
 *   attestations that started with it had its grace period to finish.
 * - Every attestation ends in one decision log line (INFO accepted, WARN rejected, ERROR for a
 *   bug) carrying what the method learned, and one `<method>.attest{result}` count.
 *
 * - The core configuration (trust domain) is checked here before either method sees it, and
 *   verify_organization's cache is built by `organizationCache`, so both methods refuse a bad
 *   core configuration and check membership the same way.
 *
 * A method supplies `build` and its runtime's `attest`, which returns its decision and trace
 * instead of throwing, so the decision line has the trace of a rejection too.
 */
import { Code, codeName, describeError, failedPrecondition, isPluginError } from "../common/errors";
import type { LogFields, Logger, LogLevel } from "../common/logger";
import { ConfigurationError } from "../hcl/schema";
import type { OrgMembershipCache, OrgSettings } from "../org";
import { coreConfigProblems } from "../server/agent-id";
import type { OrgConfig } from "../server/config";
import type { AttestLimits } from "./attest-limiter";
import type {
  AgentAttributes,
  AttestRequestContext,
  CoreConfig,
  PluginEnvironment,
  ServerAttestorPlugin,
  ValidateResult,
} from "./contracts";

export type Decision = { accepted: true; attributes: AgentAttributes } | { accepted: false; error: unknown };

/** What one attestation decided, and what it learned on the way (fields of the decision line). */
export interface Attestation {
  decision: Decision;
  trace: LogFields;
}

/** Runs `steps` and turns its outcome into an Attestation; `trace` is filled as the steps learn. */
export async function decide(trace: LogFields, steps: () => Promise<AgentAttributes>): Promise<Attestation> {
  try {
    return { decision: { accepted: true, attributes: await steps() }, trace };
  } catch (error) {
    return { decision: { accepted: false, error }, trace };
  }
}

/** One configuration's worth of a server method: everything an attestation needs. */
export interface ServerRuntime {
  readonly logLevel: LogLevel;
  /** How long an attestation that started with this runtime may still need it. */
  readonly graceMs: number;
  /** verify_organization's cache: loaded at Configure, closed with the runtime. */
  readonly org: OrgMembershipCache | undefined;
  /** Operator hints: on the "Configured" line of every Configure, returned by Validate. */
  readonly notes: readonly string[];
  /** Fields of the "Configured" line. */
  readonly summary: LogFields;
  /** This configuration's stream admission bounds (attest-limiter.ts). */
  readonly admission: Partial<AttestLimits>;
  attest(ctx: AttestRequestContext): Promise<Attestation>;
  close(): Promise<void>;
}

export interface ServerMethod {
  /** SPIRE's plugin name: the prefix of the metrics and of the "Configured" line. */
  readonly name: string;
  /**
   * A complete runtime or a PluginError (InvalidArgument listing every problem); no side effect
   * on failure. `core`'s trust domain is valid. `live` is false for Validate.
   */
  build(core: CoreConfig, hcl: string, live: boolean): Promise<ServerRuntime>;
  /** The first message's size and shape, before the stream is admitted (throws a PluginError). */
  checkPayload(payload: Uint8Array): void;
}

export function serverPluginShell(env: PluginEnvironment, method: ServerMethod): ServerAttestorPlugin {
  return new ServerPluginShell(env, method);
}

/**
 * verify_organization's membership cache for a live runtime, logging and counting through the
 * plugin's environment. Loads src/org (and, on first use, the Organizations SDK) only here.
 */
export async function organizationCache(
  env: PluginEnvironment,
  org: OrgConfig,
  settings: Omit<OrgSettings, "logger" | "metrics">,
): Promise<OrgMembershipCache> {
  const { OrgMembershipCache, orgMembershipOptions } = await import("../org");
  return new OrgMembershipCache(
    orgMembershipOptions(org, {
      ...settings,
      logger: env.logger.with({ subsystem: "organization" }),
      metrics: env.hostServices.metrics,
    }),
  );
}

class ServerPluginShell implements ServerAttestorPlugin {
  private runtime: ServerRuntime | undefined;
  private readonly retiring = new Set<ReturnType<typeof setTimeout>>();
  private readonly log: Logger;

  constructor(
    private readonly env: PluginEnvironment,
    private readonly method: ServerMethod,
  ) {
    this.log = env.logger;
  }

  async configure(core: CoreConfig, hcl: string): Promise<void> {
    const next = await this.build(core, hcl, true);
    const previous = this.runtime;
    this.runtime = next;
    this.env.setLogLevel(next.logLevel);
    // Load the account list now so the first agents after a restart do not all wait on it.
    void next.org?.warm().catch((err: unknown) =>
      this.log.warn("Initial organization account list load failed; will retry on demand", {
        error: describeError(err),
      }),
    );
    if (previous !== undefined) this.retire(previous);
    // SPIRE's own defaults leave some doors open; a drop-in must accept them quietly, so the
    // notes ride on the one INFO line of every Configure instead of WARNs (spire-server validate
    // shows them as notes).
    this.log.info(`Configured ${this.method.name} server attestor`, {
      trust_domain: core.trustDomain,
      ...next.summary,
      ...(next.notes.length > 0 ? { hints: next.notes.join("; ") } : {}),
    });
  }

  async validate(core: CoreConfig, hcl: string): Promise<ValidateResult> {
    try {
      const runtime = await this.build(core, hcl, false);
      await runtime.close();
      return { valid: true, notes: [...runtime.notes] };
    } catch (err) {
      return { valid: false, notes: describeError(err).split("\n") };
    }
  }

  checkPayload(payload: Uint8Array): void {
    this.method.checkPayload(payload);
  }

  admissionLimits(): Partial<AttestLimits> {
    return this.runtime?.admission ?? {};
  }

  async attest(ctx: AttestRequestContext): Promise<AgentAttributes> {
    const runtime = this.runtime;
    if (runtime === undefined) throw failedPrecondition("not configured");
    const metrics = this.env.hostServices.metrics;
    const started = Date.now();
    try {
      // A method's attest reports rejections in its decision; a throw is a bug, logged the same way.
      const { decision, trace } = await runtime
        .attest(ctx)
        .catch((error: unknown): Attestation => ({ decision: { accepted: false, error }, trace: {} }));
      if (decision.accepted) {
        this.log.info("Attestation accepted", {
          ...trace,
          decision: "accepted",
          duration_ms: Date.now() - started,
        });
        metrics.incrCounter([this.method.name, "attest"], 1, [{ name: "result", value: "accepted" }]);
        return decision.attributes;
      }
      const { error } = decision;
      const code = isPluginError(error) ? error.code : Code.Internal;
      const fields = {
        ...trace,
        decision: "rejected",
        code,
        reason: describeError(error),
        duration_ms: Date.now() - started,
      };
      if (code === Code.Internal) this.log.error("Attestation failed", fields);
      else this.log.warn("Attestation rejected", fields);
      metrics.incrCounter([this.method.name, "attest"], 1, [{ name: "result", value: resultLabel(code) }]);
      throw error;
    } finally {
      metrics.measureSince([this.method.name, "attest", "duration"], started);
    }
  }

  async close(): Promise<void> {
    for (const timer of this.retiring) clearTimeout(timer);
    this.retiring.clear();
    const runtime = this.runtime;
    this.runtime = undefined;
    await runtime?.close();
  }

  private build(core: CoreConfig, hcl: string, live: boolean): Promise<ServerRuntime> {
    const problems = coreConfigProblems(core);
    if (problems.length > 0) throw new ConfigurationError(problems);
    return this.method.build(core, hcl, live);
  }

  /** Closes a replaced runtime once attestations that started with it have had their time. */
  private retire(runtime: ServerRuntime): void {
    const timer = setTimeout(() => {
      this.retiring.delete(timer);
      void runtime.close();
    }, runtime.graceMs);
    timer.unref();
    this.retiring.add(timer);
  }
}

/** The gRPC code as a metric label: PermissionDenied -> "permission_denied". */
export function resultLabel(code: Code): string {
  return codeName[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}
