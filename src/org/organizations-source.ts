/**
 * The Organizations API as an account source: assume
 * `arn:<partition>:iam::<management_account_id>:role/<assume_org_role>` with the *base*
 * credentials (as SPIRE does, not chained through `assume_role`), then ListAccounts /
 * DescribeAccount in `management_account_region`.
 *
 * The SDK is imported lazily: the plugin prints its go-plugin handshake before any heavy
 * module loads. No `endpoint` is set unless an option asks for it, so the SDK's own
 * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_ORGANIZATIONS / AWS_ENDPOINT_URL_STS settings work.
 */
import type { DescribeAccountCommandOutput, ListAccountsCommandOutput } from "@aws-sdk/client-organizations";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import {
  type AccountListing,
  type AccountSource,
  AccountSourceError,
  type AccountStates,
  type DescribeResult,
} from "./account-source";
import { RequestPacer } from "./request-pacer";

export interface OrganizationsSourceOptions {
  managementAccountId: string;
  roleName: string;
  partition: string;
  region: string;
  /** Bound on one AWS call (AssumeRole, one ListAccounts page, DescribeAccount). */
  callTimeoutMs: number;
  /** Bound on a full listing, all pages included. */
  listTimeoutMs: number;
  /** Static keys or a provider; undefined = the SDK's default chain. */
  baseCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Only for in-process tests; production uses the SDK's endpoint settings. */
  endpoint?: string;
  stsEndpoint?: string;
  /** SDK attempts per call (default 3); the cache adds its own backoff between refreshes. */
  maxAttempts?: number;
  /** Client-side pacing of ListAccounts pages (see RequestPacer); undefined = unpaced. */
  listPacing?: { perSecond: number; burst: number };
  roleSessionName?: string;
}

interface Clients {
  organizations: import("@aws-sdk/client-organizations").OrganizationsClient;
  sts: import("@aws-sdk/client-sts").STSClient;
  org: typeof import("@aws-sdk/client-organizations");
  stsModule: typeof import("@aws-sdk/client-sts");
}

/** Refresh assumed-role credentials this long before they expire. */
const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;

export class OrganizationsAccountSource implements AccountSource {
  canDescribe = true;
  readonly description: string;
  readonly roleArn: string;
  readonly identity: string;
  private clients: Promise<Clients> | undefined;
  private credentials: AwsCredentialIdentity | undefined;
  private credentialsInFlight: Promise<AwsCredentialIdentity> | undefined;
  private readonly pacer: RequestPacer | undefined;
  private closed = false;

  constructor(private readonly options: OrganizationsSourceOptions) {
    this.roleArn = `arn:${options.partition}:iam::${options.managementAccountId}:role/${options.roleName}`;
    this.description = `role ${this.roleArn} (${options.region})`;
    this.identity = this.roleArn;
    this.pacer =
      options.listPacing === undefined
        ? undefined
        : new RequestPacer(options.listPacing.perSecond, options.listPacing.burst);
  }

  async listAccounts(): Promise<AccountListing> {
    const deadline = AbortSignal.timeout(this.options.listTimeoutMs);
    return await raceAbort(this.listAll(deadline), deadline, () => this.timeoutError("ListAccounts"));
  }

  async describeAccount(accountId: string): Promise<DescribeResult> {
    const deadline = AbortSignal.timeout(this.options.callTimeoutMs);
    return await raceAbort(this.describe(accountId, deadline), deadline, () =>
      this.timeoutError("DescribeAccount"),
    );
  }

  close(): void {
    this.closed = true;
    const clients = this.clients;
    this.clients = undefined;
    void clients?.then(
      (c) => {
        c.organizations.destroy();
        c.sts.destroy();
      },
      () => {},
    );
  }

  private async listAll(signal: AbortSignal): Promise<AccountListing> {
    const c = await this.ready(signal);
    const accounts: AccountStates = new Map();
    let pages = 0;
    let token: string | undefined;
    do {
      await this.pacer?.take(signal);
      let out: ListAccountsCommandOutput;
      try {
        out = await c.organizations.send(
          new c.org.ListAccountsCommand(token === undefined ? {} : { NextToken: token }),
          { abortSignal: signal },
        );
      } catch (err) {
        throw this.classify(err, "organizations:ListAccounts", signal);
      }
      pages += 1;
      // AWS always sends the Accounts list (empty at worst). Without it the answer is not
      // a listing, and treating it as "no accounts" would turn an AWS fault into
      // PermissionDenied for every node.
      if (out.Accounts === undefined) {
        throw new AccountSourceError(
          "other",
          "organizations:ListAccounts returned a malformed answer (no Accounts)",
        );
      }
      for (const account of out.Accounts) {
        if (account.Id === undefined) continue;
        accounts.set(account.Id, accountState(account.State, account.Status));
      }
      token = out.NextToken;
    } while (token !== undefined && token !== "");
    return { accounts, pages };
  }

  private async describe(accountId: string, signal: AbortSignal): Promise<DescribeResult> {
    const c = await this.ready(signal);
    let out: DescribeAccountCommandOutput;
    try {
      out = await c.organizations.send(new c.org.DescribeAccountCommand({ AccountId: accountId }), {
        abortSignal: signal,
      });
    } catch (err) {
      if (errorName(err) === "AccountNotFoundException") return { found: false };
      throw this.classify(err, "organizations:DescribeAccount", signal);
    }
    // A found account always comes back with its Id; anything else is not an answer about
    // this account, and must not become a PermissionDenied "not in organization".
    if (out.Account?.Id !== accountId) {
      throw new AccountSourceError(
        "other",
        `organizations:DescribeAccount returned a malformed answer (${out.Account === undefined ? "no Account" : "another account's Id"})`,
      );
    }
    return { found: true, state: accountState(out.Account.State, out.Account.Status) };
  }

  /** Clients plus valid role credentials; AssumeRole failures are reported as such. */
  private async ready(signal: AbortSignal): Promise<Clients> {
    if (this.closed) throw new AccountSourceError("other", "organization account source is closed");
    this.clients ??= this.createClients();
    const clients = await this.clients;
    await this.roleCredentials(clients, signal);
    return clients;
  }

  private async createClients(): Promise<Clients> {
    const [org, stsModule, http] = await Promise.all([
      import("@aws-sdk/client-organizations"),
      import("@aws-sdk/client-sts"),
      import("@smithy/node-http-handler"),
    ]);
    const handler = (): InstanceType<typeof http.NodeHttpHandler> =>
      new http.NodeHttpHandler({
        connectionTimeout: Math.min(this.options.callTimeoutMs, 5_000),
        requestTimeout: this.options.callTimeoutMs,
        throwOnRequestTimeout: true,
      });
    const maxAttempts = this.options.maxAttempts ?? 3;
    const sts = new stsModule.STSClient({
      region: this.options.region,
      maxAttempts,
      requestHandler: handler(),
      ...(this.options.baseCredentials === undefined ? {} : { credentials: this.options.baseCredentials }),
      ...(this.options.stsEndpoint === undefined ? {} : { endpoint: this.options.stsEndpoint }),
    });
    const organizations = new org.OrganizationsClient({
      region: this.options.region,
      maxAttempts,
      requestHandler: handler(),
      // Our own provider, so the SDK's refresh and ours are the same AssumeRole (single flight).
      credentials: () =>
        this.roleCredentials({ sts, stsModule }, AbortSignal.timeout(this.options.callTimeoutMs)),
      ...(this.options.endpoint === undefined ? {} : { endpoint: this.options.endpoint }),
    });
    return { organizations, sts, org, stsModule };
  }

  private async roleCredentials(
    c: Pick<Clients, "sts" | "stsModule">,
    signal: AbortSignal,
  ): Promise<AwsCredentialIdentity> {
    const current = this.credentials;
    if (current !== undefined && !expiresSoon(current)) return current;
    // One AssumeRole however many callers need credentials at once.
    this.credentialsInFlight ??= this.assumeRole(c, signal).finally(() => {
      this.credentialsInFlight = undefined;
    });
    return await this.credentialsInFlight;
  }

  private async assumeRole(
    c: Pick<Clients, "sts" | "stsModule">,
    signal: AbortSignal,
  ): Promise<AwsCredentialIdentity> {
    try {
      const out = await c.sts.send(
        new c.stsModule.AssumeRoleCommand({
          RoleArn: this.roleArn,
          RoleSessionName: this.options.roleSessionName ?? "spire-server-org-membership",
        }),
        { abortSignal: signal },
      );
      const k = out.Credentials;
      if (k?.AccessKeyId === undefined || k.SecretAccessKey === undefined) {
        throw new AccountSourceError("other", `sts:AssumeRole on ${this.roleArn} returned no credentials`);
      }
      const creds: AwsCredentialIdentity = {
        accessKeyId: k.AccessKeyId,
        secretAccessKey: k.SecretAccessKey,
        ...(k.SessionToken === undefined ? {} : { sessionToken: k.SessionToken }),
        ...(k.Expiration === undefined ? {} : { expiration: k.Expiration }),
      };
      this.credentials = creds;
      return creds;
    } catch (err) {
      if (err instanceof AccountSourceError) throw err;
      if (signal.aborted) throw this.timeoutError("sts:AssumeRole");
      const name = errorName(err);
      if (isThrottle(name)) {
        throw new AccountSourceError("throttled", `sts:AssumeRole on ${this.roleArn} was throttled`, {
          cause: err,
        });
      }
      if (name === "AccessDenied" || name === "AccessDeniedException") {
        throw new AccountSourceError(
          "role-denied",
          `the server's credentials may not assume the organization role ${this.roleArn}: sts:AssumeRole was denied ` +
            `(allow sts:AssumeRole on it for the server's identity and trust that identity in the role's trust policy): ${safeMessage(err)}`,
          { cause: err },
        );
      }
      throw new AccountSourceError("other", `sts:AssumeRole on ${this.roleArn} failed: ${safeMessage(err)}`, {
        cause: err,
      });
    }
  }

  private classify(err: unknown, permission: string, signal: AbortSignal): AccountSourceError {
    if (err instanceof AccountSourceError) return err;
    if (signal.aborted) return this.timeoutError(permission);
    const name = errorName(err);
    if (isThrottle(name)) {
      return new AccountSourceError(
        "throttled",
        `${permission} was throttled (TooManyRequestsException; the management account allows ListAccounts 8 req/s, DescribeAccount 20 req/s)`,
        { cause: err },
      );
    }
    if (name === "AccessDeniedException" || name === "AccessDenied") {
      return new AccountSourceError(
        "permission-denied",
        `the organization role ${this.roleArn} is not allowed ${permission}: ${safeMessage(err)}`,
        { cause: err },
      );
    }
    if (name === "AWSOrganizationsNotInUseException") {
      return new AccountSourceError(
        "not-in-organization",
        `account ${this.options.managementAccountId} is not in an organization (check management_account_id): ${safeMessage(err)}`,
        { cause: err },
      );
    }
    return new AccountSourceError("other", `${permission} failed: ${safeMessage(err)}`, { cause: err });
  }

  private timeoutError(what: string): AccountSourceError {
    return new AccountSourceError(
      "timeout",
      `${what} did not complete within ${what.includes("ListAccounts") ? this.options.listTimeoutMs : this.options.callTimeoutMs} ms`,
    );
  }
}

/**
 * `State` is the field AWS keeps; `Status` was retired on 2026-09-09 and is only a fallback
 * for responses that lack `State` (SPIRE reads `Status` only, aws-iid-reference.md §b2).
 */
export function accountState(state: string | undefined, status: string | undefined): string {
  return state ?? status ?? "UNKNOWN";
}

function expiresSoon(creds: AwsCredentialIdentity): boolean {
  return (
    creds.expiration !== undefined && creds.expiration.getTime() - Date.now() < CREDENTIAL_REFRESH_MARGIN_MS
  );
}

function isThrottle(name: string): boolean {
  return (
    name === "TooManyRequestsException" ||
    name === "ThrottlingException" ||
    name === "Throttling" ||
    name === "RequestLimitExceeded"
  );
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : "";
}

/** AWS error messages name resources, never secrets; still, cap their length. */
function safeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Settles with `work`, or rejects with `onAbort()` as soon as `signal` fires. */
async function raceAbort<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    throw onAbort();
  }
  let cleanup = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    const listener = (): void => reject(onAbort());
    signal.addEventListener("abort", listener, { once: true });
    cleanup = () => signal.removeEventListener("abort", listener);
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    cleanup();
    work.catch(() => {});
  }
}
