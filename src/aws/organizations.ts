/**
 * AWS Organizations as the management account sees it: one ListAccounts page, or one
 * DescribeAccount, through the organization role.
 *
 * The role `arn:<partition>:iam::<management_account_id>:role/<assume_org_role>` is assumed
 * with the server's *base* credentials (static keys or the SDK's default chain), as SPIRE
 * does, not through `assume_role`; the session cache is the one every AssumeRole of the plugin
 * uses (credentials.ts). Clients come from a client pool (clients.ts) and failures are
 * classified by errors.ts like every other AWS call, so a throttled page and a throttled
 * DescribeInstances read the same to operators and to metrics.
 *
 * Each call makes exactly one attempt (maxAttempts 1): the organization cache retries pages
 * and lookups itself, on its own clock and inside its own pacing, so that a retry spends a
 * token of the shared bucket like any other call and tests can run minutes of backoff on a
 * manual clock. Each call is bounded by `callTimeoutMs` and by the caller's signal.
 */
import type {
  DescribeAccountCommandOutput,
  ListAccountsCommandOutput,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { isPluginError, unavailable } from "../common/errors";
import { type Logger, silentLogger } from "../common/logger";
import { type Metrics, noopMetrics } from "../common/metrics";
import { raceSignal, startDeadline } from "../common/signals";
import { AwsClientPool } from "./clients";
import { AssumedRoleCredentials, baseCredentialProvider, type StaticKeys } from "./credentials";
import { awsErrorCode, classifyAwsError, failureKind } from "./errors";
import { type Partition, roleArn } from "./partition";
import { loadOrganizations } from "./sdk";

export interface OrganizationsAccessOptions {
  managementAccountId: string;
  /** assume_org_role: a role name in the management account. */
  roleName: string;
  /** management_account_region: where the STS and Organizations clients are created. */
  region: string;
  partition: Partition;
  /** Static base keys; undefined = the SDK's default chain. */
  credentials: StaticKeys | undefined;
  /** Bound on one call (aws_call_timeout). */
  callTimeoutMs: number;
  /** Only for in-process tests; production uses AWS_ENDPOINT_URL_ORGANIZATIONS and friends. */
  endpoint?: string;
  logger?: Logger;
  metrics?: Metrics;
}

/** Account id and its state (ACTIVE, SUSPENDED, …) as AWS reported it. */
export interface OrgAccount {
  id: string;
  state: string;
}

export interface AccountPage {
  accounts: OrgAccount[];
  /** undefined on the last page. */
  nextToken: string | undefined;
}

export type DescribedAccount = { found: true; state: string } | { found: false };

export interface OrganizationsAccess {
  readonly roleArn: string;
  listAccountsPage(nextToken: string | undefined, signal?: AbortSignal): Promise<AccountPage>;
  describeAccount(accountId: string, signal?: AbortSignal): Promise<DescribedAccount>;
  close(): Promise<void>;
}

/**
 * ListAccounts refused the NextToken of a listing in progress: the caller must list again from
 * the first page (the cause is the SDK's InvalidInputException).
 */
export class PageTokenRejected extends Error {
  override readonly name = "PageTokenRejected";
  constructor(override readonly cause: unknown) {
    super("ListAccounts refused the pagination token");
  }
}

export function createOrganizationsAccess(options: OrganizationsAccessOptions): OrganizationsAccess {
  return new OrganizationsAccessImpl(options);
}

/** The pool's scope for every client: the management account is the only one. */
const SCOPE = "management";

class OrganizationsAccessImpl implements OrganizationsAccess {
  readonly roleArn: string;
  private readonly pool: AwsClientPool;
  private readonly role: AssumedRoleCredentials;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private closed = false;

  constructor(private readonly options: OrganizationsAccessOptions) {
    this.roleArn = roleArn(options.partition, options.managementAccountId, options.roleName);
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noopMetrics;
    this.pool = new AwsClientPool({
      credentialsFor: (account, region) => this.role.provider(account, region),
      scopeOf: () => SCOPE,
      callTimeoutMs: options.callTimeoutMs,
      maxAttempts: 1,
      retryMode: "standard",
      maxClients: 2,
      maxSockets: 8,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    });
    this.role = new AssumedRoleCredentials({
      base: baseCredentialProvider(options.credentials ?? {}),
      partition: options.partition,
      roleName: options.roleName,
      stsConfig: (region) => this.pool.config(undefined, region),
      timeoutMs: options.callTimeoutMs,
      sessionName: "spire-server-org-membership",
      deniedMeans: "server",
      logger: this.logger,
      metrics: this.metrics,
    });
  }

  async listAccountsPage(nextToken: string | undefined, signal?: AbortSignal): Promise<AccountPage> {
    const { ListAccountsCommand } = await loadOrganizations();
    let out: ListAccountsCommandOutput;
    try {
      out = await this.send("ListAccounts", signal, (client, abortSignal) =>
        client.send(new ListAccountsCommand(nextToken === undefined ? {} : { NextToken: nextToken }), {
          abortSignal,
        }),
      );
    } catch (err) {
      // NextToken is the only input we send, so an InvalidInputException on a later page is
      // about the token (reason INVALID_PAGINATION_TOKEN: it expired during a long pause, or
      // AWS no longer knows it). Retrying it cannot succeed; the listing must start over.
      const cause = isPluginError(err) ? err.cause : err;
      if (nextToken !== undefined && awsErrorCode(cause) === "InvalidInputException") {
        throw unavailable(
          `AWS ListAccounts in account ${this.options.managementAccountId} refused the pagination token (${reasonOf(cause)}); the listing starts over`,
          new PageTokenRejected(cause),
        );
      }
      throw err;
    }
    // AWS always sends the Accounts list (empty at worst). Without it the answer is not a
    // listing, and reading it as "no accounts" would turn an AWS fault into PermissionDenied.
    if (out.Accounts === undefined) throw this.malformed("ListAccounts", "no Accounts");
    const accounts: OrgAccount[] = [];
    for (const a of out.Accounts) {
      if (a.Id !== undefined) accounts.push({ id: a.Id, state: accountState(a.State, a.Status) });
    }
    const token = out.NextToken === undefined || out.NextToken === "" ? undefined : out.NextToken;
    if (token !== undefined && token === nextToken) {
      throw this.malformed("ListAccounts", "the same NextToken again (pagination would not end)");
    }
    return { accounts, nextToken: token };
  }

  async describeAccount(accountId: string, signal?: AbortSignal): Promise<DescribedAccount> {
    const { DescribeAccountCommand } = await loadOrganizations();
    let out: DescribeAccountCommandOutput;
    try {
      out = await this.send("DescribeAccount", signal, (client, abortSignal) =>
        client.send(new DescribeAccountCommand({ AccountId: accountId }), { abortSignal }),
      );
    } catch (err) {
      if (awsErrorCode(isPluginError(err) ? err.cause : err) === "AccountNotFoundException") {
        return { found: false };
      }
      throw err;
    }
    // A found account always comes back with its Id; anything else is not an answer about this
    // account, and must not become a PermissionDenied "not in organization".
    if (out.Account?.Id !== accountId) {
      throw this.malformed(
        "DescribeAccount",
        out.Account === undefined ? "no Account" : "another account's Id",
      );
    }
    return { found: true, state: accountState(out.Account.State, out.Account.Status) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.role.close();
    await this.pool.close();
  }

  /** One call: deadline, metrics, and classification of its failure (errors.ts). */
  private async send<T>(
    api: "ListAccounts" | "DescribeAccount",
    signal: AbortSignal | undefined,
    call: (client: OrganizationsClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.closed)
      throw unavailable("organization access is closed (plugin reconfigured or shutting down)");
    const deadline = startDeadline(
      this.options.callTimeoutMs,
      () =>
        unavailable(
          `AWS ${api} in account ${this.options.managementAccountId} region ${this.options.region} did not complete within aws_call_timeout (${this.options.callTimeoutMs} ms)`,
        ),
      signal,
    );
    const labels = [{ name: "api", value: api }];
    const started = Date.now();
    try {
      const client = await this.pool.organizations(this.options.managementAccountId, this.options.region);
      const out = await raceSignal(call(client, deadline.signal), deadline.signal);
      this.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: "ok" }]);
      this.metrics.measureSince(["aws", "call", "duration"], started, labels);
      return out;
    } catch (err) {
      if (isPluginError(err)) {
        if (deadline.signal.aborted) {
          this.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: "timeout" }]);
        }
        throw err;
      }
      const kind = awsErrorCode(err) === "AccountNotFoundException" ? "not-found" : failureKind(err);
      this.metrics.incrCounter(["aws", "call"], 1, [...labels, { name: "outcome", value: kind }]);
      this.logger.debug("AWS call failed", { api, role_arn: this.roleArn, code: awsErrorCode(err) });
      throw classifyAwsError(err, {
        api,
        permission: `organizations:${api}`,
        account: this.options.managementAccountId,
        region: this.options.region,
        principal: `the organization role ${this.roleArn}`,
        timeoutMs: this.options.callTimeoutMs,
      });
    } finally {
      deadline.dispose();
    }
  }

  private malformed(api: string, what: string): Error {
    this.metrics.incrCounter(["aws", "call"], 1, [
      { name: "api", value: api },
      { name: "outcome", value: "malformed" },
    ]);
    return unavailable(
      `malformed response from AWS ${api} in account ${this.options.managementAccountId} region ${this.options.region}: ${what}`,
    );
  }
}

/**
 * `State` is the field AWS keeps; `Status` was retired on 2026-09-09 and is only a fallback
 * for responses that lack `State` (SPIRE's organization.go reads `Status` only).
 */
export function accountState(state: string | undefined, status: string | undefined): string {
  return state ?? status ?? "UNKNOWN";
}

/** "InvalidInputException: INVALID_PAGINATION_TOKEN …" from the SDK's exception. */
function reasonOf(err: unknown): string {
  const e = typeof err === "object" && err !== null ? (err as { Reason?: unknown; message?: unknown }) : {};
  const reason = typeof e.Reason === "string" ? ` ${e.Reason}` : "";
  const message = typeof e.message === "string" ? `: ${e.message.slice(0, 200)}` : "";
  return `InvalidInputException${reason}${message}`;
}
