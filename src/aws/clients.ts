/**
 * SDK clients per (credentials scope, region), created lazily and kept in a bounded LRU.
 *
 * The credentials scope is the account when `assume_role` is set (each account has its own
 * session) and a single shared scope otherwise. All clients share one HTTP handler: keep-alive
 * sockets, a connection timeout, and a request timeout equal to `aws_call_timeout` (the
 * per-call AbortSignal is the primary bound; the handler's timeouts also end stalled sockets).
 *
 * We never set `endpoint` unless the caller asks (tests): the SDK's own settings —
 * AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, profiles with endpoint_url, FIPS/dual-stack —
 * must keep working for operators with VPC endpoints.
 *
 * Retries: the SDK's "standard" mode with `maxAttempts` (default 4). Standard mode backs off
 * throttling with jittered exponential delays from a 1 s base and gives up through its retry
 * quota, so a throttled account is not hammered. We do not use "adaptive": its client-side
 * rate limiter added ~2 s of delay after only two throttles when we measured it against the
 * loopback EC2 fake (SDK 3.1169), and with batching the plugin makes few calls, so a limiter has nothing to smooth. Every
 * attempt and every backoff happens inside the aws_call_timeout deadline.
 */

import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { EKSClient } from "@aws-sdk/client-eks";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { OrganizationsClient } from "@aws-sdk/client-organizations";
import type { NodeHttpHandler } from "@smithy/node-http-handler";
import type { CredentialProvider } from "./credentials";
import { loadAutoScaling, loadEc2, loadEks, loadHttpHandler, loadIam, loadOrganizations } from "./sdk";

export type RetryMode = "standard" | "adaptive";

export interface ClientPoolOptions {
  /** Credentials for calls about nodes in `account`, with STS (if any) in `region`. */
  credentialsFor(account: string, region: string): CredentialProvider;
  /** Clients are shared by accounts with the same scope (all of them without assume_role). */
  scopeOf(account: string): string;
  callTimeoutMs: number;
  maxAttempts: number;
  retryMode: RetryMode;
  /** Explicit endpoint for every service (in-process tests only). */
  endpoint?: string;
  maxClients?: number;
  maxSockets?: number;
}

interface ClientSet {
  ec2?: EC2Client;
  iam?: IAMClient;
  eks?: EKSClient;
  autoscaling?: AutoScalingClient;
  organizations?: OrganizationsClient;
}

export interface CommonClientConfig {
  region: string;
  credentials?: CredentialProvider;
  requestHandler: NodeHttpHandler;
  maxAttempts: number;
  retryMode: RetryMode;
  endpoint?: string;
}

export class AwsClientPool {
  private readonly sets = new Map<string, ClientSet>();
  private handler: Promise<NodeHttpHandler> | undefined;
  private readonly maxClients: number;

  constructor(private readonly options: ClientPoolOptions) {
    this.maxClients = options.maxClients ?? 256;
  }

  ec2(account: string, region: string): Promise<EC2Client> {
    return this.client("ec2", account, region, async () => (await loadEc2()).EC2Client);
  }

  iam(account: string, region: string): Promise<IAMClient> {
    return this.client("iam", account, region, async () => (await loadIam()).IAMClient);
  }

  eks(account: string, region: string): Promise<EKSClient> {
    return this.client("eks", account, region, async () => (await loadEks()).EKSClient);
  }

  autoscaling(account: string, region: string): Promise<AutoScalingClient> {
    return this.client(
      "autoscaling",
      account,
      region,
      async () => (await loadAutoScaling()).AutoScalingClient,
    );
  }

  organizations(account: string, region: string): Promise<OrganizationsClient> {
    return this.client(
      "organizations",
      account,
      region,
      async () => (await loadOrganizations()).OrganizationsClient,
    );
  }

  /** The scope's client of one service, created on first use (its SDK module loaded then). */
  private async client<K extends keyof ClientSet>(
    service: K,
    account: string,
    region: string,
    load: () => Promise<new (config: CommonClientConfig) => NonNullable<ClientSet[K]>>,
  ): Promise<NonNullable<ClientSet[K]>> {
    const set = this.setFor(account, region);
    const existing = set[service];
    if (existing !== undefined) return existing;
    const Client = await load();
    const config = await this.config(account, region);
    // Another call may have created it while this one loaded.
    set[service] ??= new Client(config);
    return set[service] as NonNullable<ClientSet[K]>;
  }

  /** Client config shared by every service (also used for STS). */
  async config(account: string | undefined, region: string): Promise<CommonClientConfig> {
    return {
      region,
      ...(account === undefined ? {} : { credentials: this.options.credentialsFor(account, region) }),
      requestHandler: await this.httpHandler(),
      maxAttempts: this.options.maxAttempts,
      retryMode: this.options.retryMode,
      ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
    };
  }

  get size(): number {
    return this.sets.size;
  }

  async close(): Promise<void> {
    this.sets.clear();
    const handler = this.handler;
    this.handler = undefined;
    if (handler !== undefined) (await handler).destroy();
  }

  httpHandler(): Promise<NodeHttpHandler> {
    this.handler ??= loadHttpHandler().then(({ NodeHttpHandler }) => {
      const maxSockets = this.options.maxSockets ?? 128;
      return new NodeHttpHandler({
        connectionTimeout: Math.min(this.options.callTimeoutMs, 5_000),
        requestTimeout: this.options.callTimeoutMs,
        throwOnRequestTimeout: true,
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      });
    });
    return this.handler;
  }

  private setFor(account: string, region: string): ClientSet {
    const key = `${this.options.scopeOf(account)}|${region}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = {};
    } else {
      this.sets.delete(key);
    }
    // Re-insert to mark as most recently used; evicted clients are left to GC, never
    // destroyed, because destroying one would close the shared HTTP handler.
    this.sets.set(key, set);
    while (this.sets.size > this.maxClients) {
      const oldest = this.sets.keys().next();
      if (oldest.done === true) break;
      this.sets.delete(oldest.value);
    }
    return set;
  }
}
