/**
 * Where the organization's account list comes from: the Organizations API through a role in
 * the management account, or the operator's account_list_file. The cache above decides when
 * to ask; a source only answers, classifies its failures and bounds its own calls in time.
 */
import { readAccountListFile } from "./account-list-file";

/** Account id → account state (ACTIVE, SUSPENDED, …) as the source reported it. */
export type AccountStates = Map<string, string>;

export interface AccountListing {
  accounts: AccountStates;
  /** ListAccounts pages read (0 for the file). */
  pages: number;
}

export type DescribeResult = { found: true; state: string } | { found: false };

/**
 * Why a source call failed. The cache turns every kind into Unavailable (the node is not at
 * fault) and uses the kind for metrics, backoff and the operator-facing message.
 */
export type SourceErrorKind =
  | "throttled"
  | "role-denied"
  | "permission-denied"
  | "not-in-organization"
  | "timeout"
  | "file"
  | "other";

export class AccountSourceError extends Error {
  override readonly name = "AccountSourceError";
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface AccountSource {
  /** Human-readable origin for log lines ("role arn:…", "file /etc/…"). */
  readonly description: string;
  /** The role ARN or file path, to avoid repeating it in messages that already name it. */
  readonly identity: string;
  listAccounts(): Promise<AccountListing>;
  /**
   * Whether describeAccount exists. The file has no such thing; a role that lacks
   * organizations:DescribeAccount answers permission-denied and the cache re-lists instead
   * (SPIRE's roles only grant ListAccounts).
   */
  readonly canDescribe: boolean;
  /** One account without a full listing (DescribeAccount: 20 req/s, no paging). */
  describeAccount(accountId: string): Promise<DescribeResult>;
  close(): void;
}

export class FileAccountSource implements AccountSource {
  readonly canDescribe = false;
  readonly description: string;
  readonly identity: string;

  constructor(private readonly path: string) {
    this.description = `file ${path}`;
    this.identity = path;
  }

  async listAccounts(): Promise<AccountListing> {
    try {
      const ids = await readAccountListFile(this.path);
      // The operator promises the file lists only eligible accounts (SPIRE doc).
      return { accounts: new Map(ids.map((id) => [id, "ACTIVE"])), pages: 0 };
    } catch (err) {
      throw new AccountSourceError(
        "file",
        `failed to load org account list: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  describeAccount(): Promise<DescribeResult> {
    return Promise.reject(new AccountSourceError("other", "an account list file cannot describe accounts"));
  }

  close(): void {}
}
