/**
 * The aws_iid server attestor as SPIRE sees it: Configure builds a complete runtime (config,
 * certificates, template, AWS access, organization cache) and swaps it in atomically; Attest
 * runs the pipeline in attest.ts against whichever runtime is current when it starts.
 *
 * SPIRE may call Configure again while attestations run (SIGUSR1 with plugin_data_file), and
 * keeps using the plugin if that Configure fails: so a failed build leaves the previous runtime
 * untouched, and a replaced runtime is closed only after in-flight attestations had time to
 * finish with it.
 */

import type { AwsAccess, AwsAccessOptions } from "../aws";
import {
  Code,
  codeName,
  describeError,
  failedPrecondition,
  invalidArgument,
  isPluginError,
} from "../common/errors";
import type { Logger } from "../common/logger";
import { CertificateStore, loadOperatorCertificates } from "../iid/certificate-store";
import { decodeAttestationPayload } from "../iid/payload";
import type { OrgMembershipCache, OrgSettings } from "../org";
import type { AttestLimits } from "../spire/attest-limiter";
import type {
  AgentAttributes,
  AttestRequestContext,
  CoreConfig,
  PluginEnvironment,
  ServerAttestorPlugin,
  ValidateResult,
} from "../spire/contracts";
import { compileAgentPathTemplate, DEFAULT_AGENT_PATH_TEMPLATE } from "../template";
import { validateTrustDomainName } from "./agent-id";
import { type AttestDependencies, type AttestTrace, attestNode } from "./attest";
import { awsAccessSettings, formatProblems, parseServerConfig, type ServerConfig } from "./config";
import { securityNotes } from "./security-notes";

/** Hooks for tests and the demo; production passes none. */
export interface ServerPluginOptions {
  /** Extra AWS access options (an explicit endpoint for in-process tests). */
  aws?: Partial<AwsAccessOptions>;
  /** Extra organization settings (explicit endpoint, clock). */
  org?: Pick<OrgSettings, "endpoint" | "clock" | "random">;
  /** Environment read for the AWS_ACCESS_KEY_ID fallback (SPIRE reads it too). */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => Date;
}

interface Runtime {
  config: ServerConfig;
  deps: AttestDependencies;
  close(): Promise<void>;
}

export function createServerPlugin(env: PluginEnvironment): ServerAttestorPlugin {
  return new AwsIidServerPlugin(env, {});
}

export function createServerPluginWith(
  env: PluginEnvironment,
  options: ServerPluginOptions,
): ServerAttestorPlugin {
  return new AwsIidServerPlugin(env, options);
}

class AwsIidServerPlugin implements ServerAttestorPlugin {
  private runtime: Runtime | undefined;
  private readonly log: Logger;
  private readonly retiring = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly env: PluginEnvironment,
    private readonly options: ServerPluginOptions,
  ) {
    this.log = env.logger;
  }

  async configure(core: CoreConfig, hcl: string): Promise<void> {
    const next = await this.build(core, hcl, true);
    const previous = this.runtime;
    this.runtime = next;
    this.env.setLogLevel(next.config.logLevel);
    if (next.deps.org !== undefined) {
      // Load the account list now so the first agents after a restart do not all wait on it.
      void next.deps.org.warm().catch((err: unknown) =>
        this.log.warn("Initial organization account list load failed; will retry on demand", {
          error: describeError(err),
        }),
      );
    }
    if (previous !== undefined) this.retire(previous, next.config.awsCallTimeout.ms);
    // SPIRE's own defaults leave these doors open; a drop-in must accept them quietly, so they
    // ride on the one INFO line of every Configure instead of WARNs (spire-server validate shows
    // them as notes).
    const hints = securityNotes(next.config);
    this.log.info("Configured aws_iid server attestor", {
      trust_domain: core.trustDomain,
      partition: next.config.partition,
      organization: next.config.verifyOrganization?.mode ?? "off",
      require_rsa2048_signature: next.config.requireRsa2048Signature,
      ...(hints.length > 0 ? { hints: hints.join("; ") } : {}),
    });
  }

  async validate(core: CoreConfig, hcl: string): Promise<ValidateResult> {
    try {
      const runtime = await this.build(core, hcl, false);
      await runtime.close();
      return { valid: true, notes: securityNotes(runtime.config) };
    } catch (err) {
      return { valid: false, notes: describeError(err).split("\n") };
    }
  }

  /** Size (64 KiB) and JSON shape, before the stream is admitted; attest decodes it again. */
  checkPayload(payload: Uint8Array): void {
    decodeAttestationPayload(payload);
  }

  admissionLimits(): Partial<AttestLimits> {
    return this.runtime?.config.admission ?? {};
  }

  async attest(ctx: AttestRequestContext): Promise<AgentAttributes> {
    const runtime = this.runtime;
    if (runtime === undefined) throw failedPrecondition("not configured");
    const metrics = this.env.hostServices.metrics;
    const started = Date.now();
    const trace: AttestTrace = {};
    try {
      const attributes = await attestNode(runtime.deps, ctx, trace);
      this.log.info("Attestation accepted", {
        ...traceFields(trace),
        decision: "accepted",
        duration_ms: Date.now() - started,
      });
      metrics.incrCounter(["aws_iid", "attest"], 1, [{ name: "result", value: "accepted" }]);
      return attributes;
    } catch (err) {
      const code = isPluginError(err) ? err.code : Code.Internal;
      const fields = {
        ...traceFields(trace),
        decision: "rejected",
        code,
        reason: describeError(err),
        duration_ms: Date.now() - started,
      };
      if (code === Code.Internal) this.log.error("Attestation failed", fields);
      else this.log.warn("Attestation rejected", fields);
      metrics.incrCounter(["aws_iid", "attest"], 1, [{ name: "result", value: resultLabel(code) }]);
      throw err;
    } finally {
      metrics.measureSince(["aws_iid", "attest", "duration"], started);
    }
  }

  async close(): Promise<void> {
    for (const timer of this.retiring) clearTimeout(timer);
    this.retiring.clear();
    const runtime = this.runtime;
    this.runtime = undefined;
    await runtime?.close();
  }

  /** Closes a replaced runtime once attestations that started with it have had their AWS time. */
  private retire(runtime: Runtime, graceMs: number): void {
    const timer = setTimeout(() => {
      this.retiring.delete(timer);
      void runtime.close();
    }, graceMs + 1000);
    timer.unref();
    this.retiring.add(timer);
  }

  /** Everything Configure needs, or an InvalidArgument listing every problem. No side effect on failure. */
  private async build(core: CoreConfig, hcl: string, live: boolean): Promise<Runtime> {
    if (core.trustDomain === "") throw invalidArgument("server core configuration must contain trust_domain");
    const tdProblem = validateTrustDomainName(core.trustDomain);
    if (tdProblem !== null) throw invalidArgument(`invalid trust domain "${core.trustDomain}": ${tdProblem}`);

    const parsed = parseServerConfig(hcl, { env: this.options.env ?? process.env });
    if (parsed.config === undefined) {
      throw invalidArgument(`invalid configuration:\n${formatProblems(parsed.problems).join("\n")}`);
    }
    const config = parsed.config;

    const operatorCertificates = loadOperatorCertificates(config.awsCertificates);
    const store = CertificateStore.withOperatorCertificates(operatorCertificates);
    const template = compileAgentPathTemplate(config.agentPathTemplate ?? DEFAULT_AGENT_PATH_TEMPLATE);

    // The AWS layers load the SDK lazily; importing them here keeps the handshake fast.
    const [{ createAwsAccess }, org] = await Promise.all([import("../aws"), import("../org")]);
    if (config.verifyOrganization?.mode === "file") {
      await org.validateAccountListFile(config.verifyOrganization.accountListFile);
    }
    const aws: AwsAccess = createAwsAccess({
      accessKeyId: config.credentials?.accessKeyId,
      secretAccessKey: config.credentials?.secretAccessKey,
      assumeRole: config.assumeRole,
      ...awsAccessSettings(config),
      logger: this.log.with({ subsystem: "aws" }),
      metrics: this.env.hostServices.metrics,
      ...this.options.aws,
    });
    const orgCache = live ? this.orgCache(config, org) : undefined;

    const deps: AttestDependencies = {
      trustDomain: core.trustDomain,
      store,
      policy: {
        requireRsa2048Signature: config.requireRsa2048Signature,
        allowedRegions: config.allowedRegions,
        allowedAccountIds: config.allowedAccountIds,
        maxLaunchAgeMs: config.maxLaunchAge?.ms,
      },
      template,
      aws,
      org: orgCache,
      agentStore: this.env.hostServices.agentStore,
      skipBlockDevice: config.skipBlockDevice,
      accountIdsForLocalValidation: config.accountIdsForLocalValidation,
      disableInstanceProfileSelectors: config.disableInstanceProfileSelectors,
      verifyClientIp: config.verifyClientIp,
      eksClusterNames: config.validateEksClusterMembership?.eksClusterNames,
      now: this.options.now,
    };
    return {
      config,
      deps,
      close: async () => {
        orgCache?.close();
        await aws.close();
      },
    };
  }

  private orgCache(config: ServerConfig, org: typeof import("../org")): OrgMembershipCache | undefined {
    if (config.verifyOrganization === undefined) return undefined;
    return new org.OrgMembershipCache(
      org.orgMembershipOptions(config.verifyOrganization, {
        partition: config.partition,
        credentials: config.credentials,
        callTimeoutMs: config.awsCallTimeout.ms,
        logger: this.log.with({ subsystem: "organization" }),
        metrics: this.env.hostServices.metrics,
        ...this.options.org,
      }),
    );
  }
}

function traceFields(trace: AttestTrace): Record<string, string> {
  const out: Record<string, string> = {};
  if (trace.accountId !== undefined) out.account_id = trace.accountId;
  if (trace.region !== undefined) out.region = trace.region;
  if (trace.instanceId !== undefined) out.instance_id = trace.instanceId;
  if (trace.agentId !== undefined) out.agent_id = trace.agentId;
  if (trace.signatureKind !== undefined) out.signature_kind = trace.signatureKind;
  return out;
}

/** The gRPC code as a metric label: PermissionDenied -> "permission_denied". */
function resultLabel(code: Code): string {
  return codeName[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}
