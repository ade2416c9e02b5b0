/**
 * The aws_iid server method: Configure builds a complete runtime (config, certificates,
 * template, AWS access, organization cache) and Attest runs the pipeline in attest.ts against
 * it. Swapping, retiring, the decision log and metrics are the shell's
 * (spire/server-plugin-shell.ts), shared with aws_iam.
 */

import type { AwsAccess, AwsAccessOptions } from "../aws";
import type { Logger } from "../common/logger";
import { ConfigurationError } from "../hcl/schema";
import { CertificateStore } from "../iid/certificate-store";
import { decodeAttestationPayload } from "../iid/payload";
import type { OrgSettings } from "../org";
import type { CoreConfig, PluginEnvironment, ServerAttestorPlugin } from "../spire/contracts";
import {
  organizationCache,
  type ServerMethod,
  type ServerRuntime,
  serverPluginShell,
} from "../spire/server-plugin-shell";
import { type AttestDependencies, attestNode } from "./attest";
import { awsAccessSettings } from "./config";
import { prepareServerConfig } from "./configuration";
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

export function createServerPlugin(env: PluginEnvironment): ServerAttestorPlugin {
  return createServerPluginWith(env, {});
}

export function createServerPluginWith(
  env: PluginEnvironment,
  options: ServerPluginOptions,
): ServerAttestorPlugin {
  return serverPluginShell(env, new AwsIidMethod(env, options));
}

class AwsIidMethod implements ServerMethod {
  readonly name = "aws_iid";
  private readonly log: Logger;

  constructor(
    private readonly env: PluginEnvironment,
    private readonly options: ServerPluginOptions,
  ) {
    this.log = env.logger;
  }

  /** Size (64 KiB) and JSON shape, before the stream is admitted; attest decodes it again. */
  checkPayload(payload: Uint8Array): void {
    decodeAttestationPayload(payload);
  }

  /** Everything Configure needs, or an InvalidArgument listing every problem. No side effect on failure. */
  async build(core: CoreConfig, hcl: string, live: boolean): Promise<ServerRuntime> {
    const prepared = await prepareServerConfig(hcl, { env: this.options.env ?? process.env });
    if (prepared.config === undefined) throw new ConfigurationError(prepared.problems);
    const { config, certificates, template } = prepared.config;
    const store = CertificateStore.withOperatorCertificates(certificates);

    // The AWS layer loads the SDK lazily; importing it here keeps the handshake fast.
    const { createAwsAccess } = await import("../aws");
    const aws: AwsAccess = createAwsAccess({
      accessKeyId: config.credentials?.accessKeyId,
      secretAccessKey: config.credentials?.secretAccessKey,
      assumeRole: config.assumeRole,
      ...awsAccessSettings(config),
      logger: this.log.with({ subsystem: "aws" }),
      metrics: this.env.hostServices.metrics,
      ...this.options.aws,
    });
    const org = config.verifyOrganization;
    const orgCache =
      live && org !== undefined
        ? await organizationCache(this.env, org, {
            partition: config.partition,
            credentials: config.credentials,
            callTimeoutMs: config.awsCallTimeout.ms,
            ...this.options.org,
          })
        : undefined;

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
      logLevel: config.logLevel,
      // Attestations that started with a replaced runtime get their AWS time to finish.
      graceMs: config.awsCallTimeout.ms + 1000,
      org: orgCache,
      notes: securityNotes(config),
      admission: config.admission,
      summary: {
        partition: config.partition,
        organization: config.verifyOrganization?.mode ?? "off",
        require_rsa2048_signature: config.requireRsa2048Signature,
      },
      attest: (ctx) => attestNode(deps, ctx),
      close: async () => {
        orgCache?.close();
        await aws.close();
      },
    };
  }
}
