/**
 * Server side of aws_iam (plugin_args ["server-iam"], SPIRE plugin name "aws_iam").
 *
 * attest: hello payload -> 32-byte challenge -> the agent's signed GetCallerIdentity ->
 * structural checks (verify-request.ts) -> forward to STS (sts-forward.ts) -> principal ->
 * policy -> agent ID and selectors, can_reattest = true. Each challenge is fresh per
 * attestation and accepted for exactly one response within CHALLENGE_TTL_MS, so a captured
 * response is worthless later (the SigV4 signature covers the challenge).
 */
import { randomBytes } from "node:crypto";
import { Code, PluginError, permissionDenied } from "../common/errors";
import type { LogFields } from "../common/logger";
import { raceSignal, startDeadline } from "../common/signals";
import { ConfigurationError } from "../hcl/schema";
import type { OrgMembershipCache } from "../org";
import type {
  AgentAttributes,
  AttestRequestContext,
  CoreConfig,
  PluginEnvironment,
  ServerAttestorPlugin,
  ServerPluginFactory,
} from "../spire/contracts";
import {
  decide,
  organizationCache,
  type ServerMethod,
  type ServerRuntime,
  serverPluginShell,
} from "../spire/server-plugin-shell";
import { iamAgentId } from "./agent-path";
import { type IamServerConfig, prepareIamServerConfig } from "./config";
import { globMatch, type Principal, principalFromIdentity, selectorsFor } from "./principal";
import { knownStsEndpoints, type StsEndpoint } from "./sts-endpoints";
import { forwardToSts, STS_FORWARD_TIMEOUT_MS, type StsForwardTarget } from "./sts-forward";
import { verifySignedRequest } from "./verify-request";
import { CHALLENGE_BYTES, decodeHello, decodeSignedRequest } from "./wire";

export const IAM_PLUGIN_NAME = "aws_iam";
/** Teleport's iamJoinRequestTimeout and the "within 1 minute". */
export const CHALLENGE_TTL_MS = 60_000;

export interface IamServerPluginOptions {
  /** Where AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL are read from; process.env by default. */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  challengeTtlMs?: number;
  stsTimeoutMs?: number;
}

interface ActiveConfig {
  trustDomain: string;
  config: IamServerConfig;
  endpoints: Map<string, StsEndpoint>;
  forwardTarget: StsForwardTarget | undefined;
  /** verify_organization: the same cache aws_iid uses (single flight, TTL, miss budget). */
  orgCache: OrgMembershipCache | undefined;
}

export const createIamServerPlugin: ServerPluginFactory = (env: PluginEnvironment): ServerAttestorPlugin =>
  createIamServerPluginWith(env, {});

/** The factory with test seams (clock, env, timeouts). */
export function createIamServerPluginWith(
  env: PluginEnvironment,
  options: IamServerPluginOptions,
): ServerAttestorPlugin {
  return serverPluginShell(env, new IamMethod(env, options));
}

class IamMethod implements ServerMethod {
  readonly name = IAM_PLUGIN_NAME;

  constructor(
    private readonly env: PluginEnvironment,
    private readonly options: IamServerPluginOptions,
  ) {}

  async build(core: CoreConfig, hcl: string, live: boolean): Promise<ServerRuntime> {
    const active = await this.activeConfig(core, hcl);
    const { config, forwardTarget } = active;
    const org = config.organization;
    if (live && org !== undefined) {
      active.orgCache = await organizationCache(this.env, org, {
        partition: org.partition,
        credentials: undefined,
        callTimeoutMs: config.awsCallTimeoutMs,
      });
    }
    const notes: string[] = [];
    if (config.serverIdHeaderValue === undefined) {
      notes.push(
        "server_id_header_value is not set: a response made for another SPIRE server that trusts the same AWS principals could be replayed here within its minute",
      );
    }
    if (forwardTarget !== undefined) {
      notes.push(
        `forwarding STS requests to the endpoint override ${forwardTarget.protocol}//${forwardTarget.hostname}:${forwardTarget.port}, not to the signed STS host`,
      );
    }
    const challengeTtlMs = this.options.challengeTtlMs ?? CHALLENGE_TTL_MS;
    const stsTimeoutMs = this.options.stsTimeoutMs ?? STS_FORWARD_TIMEOUT_MS;
    return {
      logLevel: config.logLevel,
      // An attestation may wait for its challenge response, then for STS.
      graceMs: challengeTtlMs + stsTimeoutMs + 1000,
      org: active.orgCache,
      notes,
      summary: { partitions: config.partitions.join(", ") },
      admission: config.admission,
      attest: (ctx) => {
        const trace: LogFields = {};
        return decide(trace, () => this.attestWith(active, ctx, trace));
      },
      close: async () => active.orgCache?.close(),
    };
  }

  /** The hello's size (1 KiB) and shape, before the stream is admitted; attest decodes it again. */
  checkPayload(payload: Uint8Array): void {
    decodeHello(payload);
  }

  private async attestWith(
    active: ActiveConfig,
    ctx: AttestRequestContext,
    trace: LogFields,
  ): Promise<AgentAttributes> {
    const { config } = active;
    const hello = decodeHello(ctx.payload);
    trace.hello_region = hello.region;
    const challenge = randomBytes(CHALLENGE_BYTES);
    const response = await this.awaitResponse(ctx, challenge);
    const signed = decodeSignedRequest(response);
    const now = this.options.now ?? Date.now;
    const verified = verifySignedRequest(signed, {
      expectedChallenge: challenge.toString("base64"),
      serverId: config.serverIdHeaderValue,
      endpoints: active.endpoints,
      partitions: config.partitions,
      nowMs: now(),
    });
    trace.sts_host = verified.endpoint.host;
    const identity = await forwardToSts(
      verified,
      active.forwardTarget,
      ctx.signal,
      this.options.stsTimeoutMs,
    );
    const principal = principalFromIdentity(identity, verified.endpoint.partition);
    trace.account = principal.account;
    trace.principal_arn = principal.principalArn;
    checkPolicy(principal, config);
    await active.orgCache?.assertMember(principal.account, ctx.signal);
    // Default layout or agent_path_template; SPIFFE path rules re-checked either way.
    const spiffeId = iamAgentId(active.trustDomain, config.agentPathTemplate, principal);
    trace.agent_id = spiffeId;
    return { spiffeId, selectorValues: selectorsFor(principal), canReattest: true };
  }

  /** One response, within the challenge's lifetime; a late answer is never checked. */
  private async awaitResponse(ctx: AttestRequestContext, challenge: Uint8Array): Promise<Uint8Array> {
    const ttl = this.options.challengeTtlMs ?? CHALLENGE_TTL_MS;
    const expiry = startDeadline(
      ttl,
      () =>
        new PluginError(
          Code.DeadlineExceeded,
          `no challenge response within ${ttl / 1000} s; the challenge has expired`,
        ),
    );
    try {
      return await raceSignal(ctx.challenge(challenge), expiry.signal);
    } finally {
      expiry.dispose();
    }
  }

  private async activeConfig(core: CoreConfig, hcl: string): Promise<ActiveConfig> {
    const prepared = await prepareIamServerConfig(hcl, this.options.env ?? process.env);
    if (prepared.config === undefined) throw new ConfigurationError(prepared.problems);
    const { config, forwardTarget } = prepared.config;
    return {
      trustDomain: core.trustDomain,
      config,
      endpoints: knownStsEndpoints(config.partitions),
      forwardTarget,
      orgCache: undefined,
    };
  }
}

/** allowed_account_ids and allowed_role_arns both apply when both are set (Teleport's rule AND). */
export function checkPolicy(p: Principal, config: IamServerConfig): void {
  if (config.allowedAccountIds.size > 0 && !config.allowedAccountIds.has(p.account)) {
    throw permissionDenied(`account ${p.account} is not in allowed_account_ids`);
  }
  if (p.kind === "user") {
    if (!config.allowIamUsers) {
      throw permissionDenied(
        `caller ${p.principalArn} is an IAM user; set allow_iam_users = true to accept IAM users`,
      );
    }
    if (config.allowedRoleArns.length > 0) {
      throw permissionDenied(
        `caller ${p.principalArn} is an IAM user, and allowed_role_arns admits roles only`,
      );
    }
    return;
  }
  if (
    config.allowedRoleArns.length > 0 &&
    !config.allowedRoleArns.some((pattern) => globMatch(pattern, p.roleArn))
  ) {
    throw permissionDenied(`role ${p.roleArn} does not match allowed_role_arns`);
  }
}
