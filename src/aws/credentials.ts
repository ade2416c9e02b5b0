/**
 * Credentials for the plugin's AWS calls.
 *
 * Base credentials: the static `access_key_id`/`secret_access_key`, else the SDK's default
 * Node chain (env, shared config/profiles, web identity/IRSA, ECS, instance role), created
 * once and loaded lazily.
 *
 * `assume_role`: every call for a node in account A uses `sts:AssumeRole` on
 * `arn:<partition>:iam::A:role/<assume_role>` with the base credentials, even for the
 * server's own account (SPIRE #2387). We run AssumeRole ourselves instead of
 * fromTemporaryCredentials so that we control caching (one session per account, shared by
 * every client of that account; AWS asks callers to cache because STS limits cannot be
 * raised), single flight, refresh before expiry, the timeout, and above all the error: a role
 * the node's account does not let us assume is a definitive rejection (PermissionDenied
 * naming the role and account), while throttling or an STS outage is Unavailable.
 *
 * A refusal is remembered per account for a short TTL: documents from an account that never
 * granted us its role (anyone can send one) would otherwise cost one STS call per
 * attestation, on the same STS quota honest accounts need. Throttling and outages are not
 * remembered: they say nothing about the account, and the next attempt may succeed.
 */

import type { AssumeRoleCommandOutput, STSClient, STSClientConfig } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { permissionDenied, unavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { awsErrorCode, classifyAwsError, failureKind } from "./errors";
import { type Partition, roleArn } from "./partition";
import { loadCredentialProviders, loadSts } from "./sdk";

export type CredentialProvider = AwsCredentialIdentityProvider;

export interface StaticKeys {
  accessKeyId?: string;
  secretAccessKey?: string;
}

export function baseCredentialProvider(keys: StaticKeys): CredentialProvider {
  if (keys.accessKeyId && keys.secretAccessKey) {
    const identity: AwsCredentialIdentity = {
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
    };
    return async () => identity;
  }
  let chain: CredentialProvider | undefined;
  return async (props) => {
    if (chain === undefined) {
      const { fromNodeProviderChain } = await loadCredentialProviders();
      chain = fromNodeProviderChain();
    }
    return chain(props);
  };
}

export function describePrincipal(
  keys: StaticKeys,
  assumeRole: string | undefined,
  account?: string,
  partition?: Partition,
): string {
  if (assumeRole !== undefined && account !== undefined && partition !== undefined) {
    return `role ${roleArn(partition, account, assumeRole)}`;
  }
  return keys.accessKeyId ? "the configured access_key_id" : "the credentials from the AWS SDK default chain";
}

export interface BaseAccountOptions {
  base: CredentialProvider;
  stsConfig(region: string): Promise<STSClientConfig>;
  timeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
}

/** How long the base credentials' account is kept once known, and "unknown" after a failure. */
const BASE_ACCOUNT_TTL_MS = 3_600_000;
const BASE_ACCOUNT_RETRY_MS = 60_000;

/**
 * The account the base credentials belong to, from sts:GetCallerIdentity (which needs no IAM
 * permission). Asked lazily (only when an instance was not found without assume_role), once
 * per hour at most, single flight; undefined when STS cannot say, asked again a minute later.
 */
export class BaseCredentialsAccount {
  private known: { account: string | undefined; until: number } | undefined;
  private pending: Promise<string | undefined> | undefined;
  private client: STSClient | undefined;

  constructor(private readonly options: BaseAccountOptions) {}

  async get(region: string): Promise<string | undefined> {
    const now = this.options.now?.() ?? Date.now();
    if (this.known !== undefined && now < this.known.until) return this.known.account;
    this.pending ??= this.ask(region).then((account) => {
      this.known = {
        account,
        until: now + (account === undefined ? BASE_ACCOUNT_RETRY_MS : BASE_ACCOUNT_TTL_MS),
      };
      this.pending = undefined;
      return account;
    });
    return this.pending;
  }

  private async ask(region: string): Promise<string | undefined> {
    const labels = [{ name: "api", value: "GetCallerIdentity" }];
    try {
      const { STSClient, GetCallerIdentityCommand } = await loadSts();
      // Kept, not destroyed: destroying a client closes the HTTP handler every client shares.
      this.client ??= new STSClient({
        ...(await this.options.stsConfig(region)),
        credentials: this.options.base,
      });
      const out = await this.client.send(new GetCallerIdentityCommand({}), {
        abortSignal: AbortSignal.timeout(this.options.timeoutMs),
      });
      this.options.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: "ok" }]);
      return out.Account;
    } catch (err) {
      this.options.metrics.incrCounter(["aws", "call"], 1, [
        ...labels,
        { name: "outcome", value: failureKind(err) },
      ]);
      this.options.logger.debug("AWS call failed", {
        api: "GetCallerIdentity",
        region,
        code: awsErrorCode(err),
      });
      return undefined;
    }
  }
}

interface CachedSession {
  identity: AwsCredentialIdentity;
  refreshAt: number;
}

export interface AssumeRoleOptions {
  base: CredentialProvider;
  partition: Partition;
  roleName: string;
  /** Builds the STS client config for a region (shared handler, retries, optional endpoint). */
  stsConfig(region: string): Promise<STSClientConfig>;
  timeoutMs: number;
  sessionName?: string;
  /**
   * Whose fault a denied AssumeRole is. "node" (assume_role in the node's account): the node's
   * account has not granted access, a definitive rejection (PermissionDenied). "server" (the
   * organization role in the management account): the server is misconfigured, and agents
   * must keep retrying until the operator fixes it (Unavailable).
   */
  deniedMeans: "node" | "server";
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  /** How long a refused AssumeRole is remembered per account; default 30 s. */
  refusalTtlMs?: number;
}

/** Long enough that a flood from a foreign account costs one STS call per 30 s; short enough
 * that an account which has just created the role attests half a minute later. */
export const DEFAULT_ASSUME_ROLE_REFUSAL_TTL_MS = 30_000;

/** Refresh when less than this much lifetime is left: 5 min, like the SDK, or half of a short session. */
function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(300_000, lifetimeMs / 2);
}

export class AssumedRoleCredentials {
  private readonly sessions = new Map<string, CachedSession>();
  private readonly inFlight = new Map<string, Promise<AwsCredentialIdentity>>();
  private readonly stsClients = new Map<string, STSClient>();
  /** account -> the refusal and when it is forgotten; oldest first, bounded like sessions. */
  private readonly refusals = new Map<string, { message: string; until: number }>();
  private static readonly MAX_SESSIONS = 1024;

  constructor(private readonly options: AssumeRoleOptions) {}

  roleArn(account: string): string {
    return roleArn(this.options.partition, account, this.options.roleName);
  }

  /** A provider for SDK clients acting in `account`; STS is called in `region`. */
  provider(account: string, region: string): CredentialProvider {
    return () => this.credentialsFor(account, region);
  }

  async credentialsFor(account: string, region: string): Promise<AwsCredentialIdentity> {
    const now = this.now();
    const cached = this.sessions.get(account);
    if (cached !== undefined && now < cached.refreshAt) return cached.identity;
    const refused = this.refusals.get(account);
    if (refused !== undefined) {
      if (now < refused.until) throw permissionDenied(refused.message);
      this.refusals.delete(account);
    }
    const pending = this.inFlight.get(account);
    if (pending !== undefined) return pending;
    const started = this.assume(account, region).finally(() => this.inFlight.delete(account));
    this.inFlight.set(account, started);
    return started;
  }

  close(): void {
    for (const client of this.stsClients.values()) client.destroy();
    this.stsClients.clear();
    this.sessions.clear();
    this.refusals.clear();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private async stsClient(region: string): Promise<STSClient> {
    let client = this.stsClients.get(region);
    if (client === undefined) {
      const { STSClient } = await loadSts();
      client = new STSClient({ ...(await this.options.stsConfig(region)), credentials: this.options.base });
      this.stsClients.set(region, client);
    }
    return client;
  }

  private rememberRefusal(account: string, message: string): void {
    const ttl = this.options.refusalTtlMs ?? DEFAULT_ASSUME_ROLE_REFUSAL_TTL_MS;
    this.refusals.delete(account);
    this.refusals.set(account, { message, until: this.now() + ttl });
    while (this.refusals.size > AssumedRoleCredentials.MAX_SESSIONS) {
      const oldest = this.refusals.keys().next();
      if (oldest.done === true) break;
      this.refusals.delete(oldest.value);
    }
  }

  private async assume(account: string, region: string): Promise<AwsCredentialIdentity> {
    const arn = this.roleArn(account);
    const { AssumeRoleCommand } = await loadSts();
    const client = await this.stsClient(region);
    const started = this.now();
    const labels = [{ name: "api", value: "AssumeRole" }];
    let out: AssumeRoleCommandOutput;
    try {
      out = await client.send(
        new AssumeRoleCommand({
          RoleArn: arn,
          RoleSessionName: this.options.sessionName ?? "spire-server-aws-iid",
          // The minimum every role accepts; a session is renewed before it ends (refreshMarginMs).
          DurationSeconds: 900,
        }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs) },
      );
    } catch (err) {
      const kind = failureKind(err);
      this.options.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: kind }]);
      const code = awsErrorCode(err);
      this.options.logger.debug("AWS call failed", {
        api: "AssumeRole",
        account,
        region,
        role_arn: arn,
        code,
      });
      // The base credentials may not assume this role: the node's account has not granted the
      // server access (or the role does not exist). Nothing will change by retrying.
      if (kind === "access-denied" && this.options.deniedMeans === "server") {
        throw unavailable(
          `the server's credentials may not assume the role ${arn} (${code}): allow sts:AssumeRole on it for the server's identity and trust that identity in the role's trust policy`,
          err,
        );
      }
      if (kind === "access-denied") {
        const message = `cannot assume role ${arn} in account ${account} (${code}): the node's account must have a role named "${this.options.roleName}" that trusts the SPIRE server's credentials with sts:AssumeRole`;
        this.rememberRefusal(account, message);
        throw permissionDenied(message, err);
      }
      throw classifyAwsError(err, {
        api: "AssumeRole",
        permission: "sts:AssumeRole",
        account,
        region,
        principal: "the server's base credentials",
        timeoutMs: this.options.timeoutMs,
      });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date)) {
      this.options.metrics.incrCounter(["aws", "call"], 1, [
        ...labels,
        { name: "outcome", value: "malformed" },
      ]);
      throw unavailable(
        `malformed AssumeRole response for role ${arn} in account ${account}: credentials missing`,
      );
    }
    this.options.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: "ok" }]);
    const identity: AwsCredentialIdentity = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    const expiresAt = c.Expiration.getTime();
    const now = this.now();
    this.sessions.delete(account);
    this.sessions.set(account, { identity, refreshAt: expiresAt - refreshMarginMs(expiresAt - now) });
    while (this.sessions.size > AssumedRoleCredentials.MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (oldest.done === true) break;
      this.sessions.delete(oldest.value);
    }
    this.options.logger.debug("assumed role", {
      account,
      region,
      role_arn: arn,
      expires: c.Expiration.toISOString(),
      ms: now - started,
    });
    return identity;
  }
}
