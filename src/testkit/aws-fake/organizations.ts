/**
 * AWS Organizations (awsJson1_1): ListAccounts and DescribeAccount, as the management
 * account sees them. Enough of the real service for the organization membership cache:
 *
 * - pages of at most 20 accounts with an opaque NextToken (MaxResults above 20 is an
 *   InvalidInputException, as AWS answers); optionally, tokens that expire some time after they
 *   were issued, answered with InvalidInputException, reason INVALID_PAGINATION_TOKEN (AWS
 *   does not document how long an Organizations token lives, only that a bad one gets this);
 * - the account `State` field, and optionally the legacy `Status` field AWS retired on
 *   2026-09-09 (SPIRE's pkg/server/plugin/nodeattestor/awsiid/organization.go filters on
 *   `Status` only);
 * - AWSOrganizationsNotInUseException for a caller outside any organization and
 *   AccessDeniedException for a member account or a caller whose policy lacks the action;
 * - AWS's token buckets per API and calling account (whatever the region: Organizations is a
 *   global service): ListAccounts 8 req/s burst 12, DescribeAccount 20 req/s burst 30
 *   (Organizations quotas, "Throttling limits"); a throttled call gets
 *   TooManyRequestsException, as from AWS.
 *
 * Accounts live in one array plus an index, so 50,000 accounts cost a few megabytes and a
 * page is a slice.
 */
import { FakeAwsError, jsonResponse, type RenderedResponse } from "./protocol";
import type { FakeRequest, RateLimit, ServiceFake } from "./server";

export type FakeAccountState = "PENDING_ACTIVATION" | "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED";
export type FakeAccountStatus = "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE";

export interface FakeAccount {
  id: string;
  state: FakeAccountState;
  /** Legacy field; derived from `state` unless set explicitly. */
  status?: FakeAccountStatus;
  name?: string;
}

/**
 * Which account fields the fake returns:
 * - "state": today's API (Status retired on 2026-09-09),
 * - "both": the transition period,
 * - "status": an API from before `State` existed (exercises the Status fallback).
 */
export type AccountFieldMode = "state" | "both" | "status";

export interface FakeOrganizationsOptions {
  managementAccountId: string;
  /** The caller's account from its access key (FakeSts.accountOf). Unknown keys are denied. */
  accountOf: (accessKeyId: string) => string | undefined;
  /** Apply AWS's per-account token buckets (default true). */
  rateLimited?: boolean;
  fields?: AccountFieldMode;
  organizationId?: string;
  /** A NextToken older than this is refused (default: tokens never expire). */
  pageTokenMaxAgeMs?: number;
  /** Clock of the token ages, in ms (tests pass their manual clock). Default: the wall clock. */
  now?: () => number;
}

/** AWS Organizations quotas, "Throttling limits", per calling account. */
export const ORGANIZATIONS_RATE_LIMITS: readonly RateLimit[] = [
  { actions: ["ListAccounts"], capacity: 12, refillPerSecond: 8, per: "account" },
  { actions: ["DescribeAccount"], capacity: 30, refillPerSecond: 20, per: "account" },
];

const PAGE_MAX = 20;

export class FakeOrganizations implements ServiceFake {
  readonly service = "organizations";
  readonly protocol = "json" as const;
  readonly rateLimits: readonly RateLimit[];
  /** Accounts (of the organization or not) whose callers lack permission for these actions. */
  readonly deniedActions = new Map<string, Set<string>>();
  fields: AccountFieldMode;
  pageTokenMaxAgeMs: number;
  readonly managementAccountId: string;
  readonly organizationId: string;
  private readonly accounts: FakeAccount[] = [];
  private readonly index = new Map<string, number>();
  private readonly accountOf: (accessKeyId: string) => string | undefined;
  private readonly now: () => number;

  constructor(options: FakeOrganizationsOptions) {
    this.managementAccountId = options.managementAccountId;
    this.organizationId = options.organizationId ?? "o-exampleorgid";
    this.accountOf = options.accountOf;
    this.rateLimits = options.rateLimited === false ? [] : ORGANIZATIONS_RATE_LIMITS;
    this.fields = options.fields ?? "state";
    this.pageTokenMaxAgeMs = options.pageTokenMaxAgeMs ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
    this.addAccount(options.managementAccountId);
  }

  /** Adds (or updates) an account. */
  addAccount(id: string, state: FakeAccountState = "ACTIVE", status?: FakeAccountStatus): this {
    const account: FakeAccount = { id, state, ...(status === undefined ? {} : { status }) };
    const at = this.index.get(id);
    if (at === undefined) {
      this.index.set(id, this.accounts.length);
      this.accounts.push(account);
    } else {
      this.accounts[at] = account;
    }
    return this;
  }

  /** Adds `count` ACTIVE accounts with ids first, first+1, … (zero-padded to 12 digits). */
  addAccountRange(first: number, count: number): this {
    for (let i = 0; i < count; i++) this.addAccount(String(first + i).padStart(12, "0"));
    return this;
  }

  removeAccount(id: string): this {
    const at = this.index.get(id);
    if (at === undefined) return this;
    this.accounts.splice(at, 1);
    this.index.clear();
    for (let i = 0; i < this.accounts.length; i++) this.index.set(this.accounts[i]!.id, i);
    return this;
  }

  get size(): number {
    return this.accounts.length;
  }

  /** Makes `action` answer AccessDeniedException for callers in `account`. */
  deny(account: string, action: string): this {
    const set = this.deniedActions.get(account) ?? new Set<string>();
    set.add(action);
    this.deniedActions.set(account, set);
    return this;
  }

  handle(req: FakeRequest): RenderedResponse {
    const caller = this.accountOf(req.accessKeyId);
    if (caller === undefined) {
      throw new FakeAwsError(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    }
    if (this.deniedActions.get(caller)?.has(req.action)) throw accessDenied();
    if (caller !== this.managementAccountId) {
      // A member account may not list the organization; an account outside it gets the
      // "not in use" error, which is how a wrong management_account_id shows up.
      if (this.index.has(caller)) throw accessDenied();
      throw new FakeAwsError(
        400,
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
      );
    }
    const input = isRecord(req.json) ? req.json : {};
    switch (req.action) {
      case "ListAccounts":
        return this.listAccounts(input);
      case "DescribeAccount":
        return this.describeAccount(input);
      default:
        throw new FakeAwsError(400, "UnknownOperationException", `Unknown operation ${req.action}`);
    }
  }

  private listAccounts(input: Record<string, unknown>): RenderedResponse {
    const max = input.MaxResults ?? PAGE_MAX;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > PAGE_MAX) {
      throw new FakeAwsError(
        400,
        "InvalidInputException",
        `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${PAGE_MAX}`,
      );
    }
    let start = 0;
    if (input.NextToken !== undefined) {
      const token = decodeToken(input.NextToken);
      if (
        token === undefined ||
        token.offset > this.accounts.length ||
        this.now() - token.issuedAt > this.pageTokenMaxAgeMs
      ) {
        throw new FakeAwsError(400, "InvalidInputException", "The provided pagination token is invalid.", {
          Reason: "INVALID_PAGINATION_TOKEN",
        });
      }
      start = token.offset;
    }
    const end = Math.min(start + max, this.accounts.length);
    const page: Record<string, unknown>[] = [];
    for (let i = start; i < end; i++) page.push(this.render(this.accounts[i]!));
    return jsonResponse(
      end < this.accounts.length
        ? { Accounts: page, NextToken: encodeToken(end, this.now()) }
        : { Accounts: page },
    );
  }

  private describeAccount(input: Record<string, unknown>): RenderedResponse {
    const id = input.AccountId;
    if (typeof id !== "string" || !/^\d{12}$/.test(id)) {
      throw new FakeAwsError(400, "InvalidInputException", "You provided an invalid value for AccountId.");
    }
    const at = this.index.get(id);
    if (at === undefined) {
      throw new FakeAwsError(400, "AccountNotFoundException", "You specified an account that doesn't exist.");
    }
    return jsonResponse({ Account: this.render(this.accounts[at]!) });
  }

  private render(a: FakeAccount): Record<string, unknown> {
    const out: Record<string, unknown> = {
      Id: a.id,
      Arn: `arn:aws:organizations::${this.managementAccountId}:account/${this.organizationId}/${a.id}`,
      Email: `${a.id}@example.com`,
      Name: a.name ?? `account-${a.id}`,
      JoinedMethod: a.id === this.managementAccountId ? "CREATED" : "INVITED",
      JoinedTimestamp: 1_700_000_000,
    };
    if (this.fields !== "status") out.State = a.state;
    if (this.fields !== "state") out.Status = a.status ?? legacyStatus(a.state);
    return out;
  }
}

function legacyStatus(state: FakeAccountState): FakeAccountStatus {
  switch (state) {
    case "ACTIVE":
    case "PENDING_ACTIVATION":
      return "ACTIVE";
    case "PENDING_CLOSURE":
      return "PENDING_CLOSURE";
    case "SUSPENDED":
    case "CLOSED":
      return "SUSPENDED";
  }
}

function accessDenied(): FakeAwsError {
  return new FakeAwsError(
    400,
    "AccessDeniedException",
    "You don't have permissions to access this resource.",
  );
}

function encodeToken(offset: number, issuedAt: number): string {
  return Buffer.from(`offset:${offset}:issued:${Math.floor(issuedAt)}`).toString("base64");
}

function decodeToken(token: unknown): { offset: number; issuedAt: number } | undefined {
  if (typeof token !== "string") return undefined;
  const match = /^offset:(\d+):issued:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
  return match === null ? undefined : { offset: Number(match[1]), issuedAt: Number(match[2]) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
