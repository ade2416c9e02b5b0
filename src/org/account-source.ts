/**
 * Where the organization's accounts come from: the Organizations API through the role in the
 * management account (src/aws/organizations.ts), or the operator's account_list_file. The
 * membership cache decides when to ask and how fast; a source only answers one page or one
 * account, and fails with a PluginError (Unavailable) whose cause says what went wrong.
 */

import type { AccountPage, DescribedAccount, OrganizationsAccess } from "../aws/organizations";
import { unavailable } from "../common/errors";
import { readAccountListFile } from "./account-list-file";

export type { AccountPage, DescribedAccount, OrgAccount } from "../aws/organizations";

export interface AccountSource {
  /** For log lines and messages: "role arn:… (region)", "file /etc/…". */
  readonly description: string;
  /** Whether calls draw from AWS's shared Organizations quota (pacing and budgets apply). */
  readonly paced: boolean;
  /** One page of the listing; `nextToken` undefined on the last one. */
  listPage(nextToken: string | undefined, signal: AbortSignal): Promise<AccountPage>;
  /** One account without a listing. */
  describeAccount(accountId: string, signal: AbortSignal): Promise<DescribedAccount>;
  close(): Promise<void>;
}

export class OrganizationsAccountSource implements AccountSource {
  readonly paced = true;
  readonly description: string;

  constructor(
    private readonly access: OrganizationsAccess,
    region: string,
  ) {
    this.description = `role ${access.roleArn} (${region})`;
  }

  listPage(nextToken: string | undefined, signal: AbortSignal): Promise<AccountPage> {
    return this.access.listAccountsPage(nextToken, signal);
  }

  describeAccount(accountId: string, signal: AbortSignal): Promise<DescribedAccount> {
    return this.access.describeAccount(accountId, signal);
  }

  close(): Promise<void> {
    return this.access.close();
  }
}

/**
 * The file is the whole list in one page; a lookup re-reads it (SPIRE re-reads it on a miss
 * too). Concurrent reads share one.
 */
export class FileAccountSource implements AccountSource {
  readonly paced = false;
  readonly description: string;
  private reading: Promise<string[]> | undefined;

  constructor(private readonly path: string) {
    this.description = `file ${path}`;
  }

  async listPage(): Promise<AccountPage> {
    // The operator promises the file lists only eligible accounts (SPIRE doc).
    const ids = await this.read();
    return { accounts: ids.map((id) => ({ id, state: "ACTIVE" })), nextToken: undefined };
  }

  async describeAccount(accountId: string): Promise<DescribedAccount> {
    const ids = await this.read();
    return ids.includes(accountId) ? { found: true, state: "ACTIVE" } : { found: false };
  }

  async close(): Promise<void> {}

  private read(): Promise<string[]> {
    this.reading ??= readAccountListFile(this.path)
      .catch((err: unknown) => {
        throw unavailable(
          `failed to load org account list: ${err instanceof Error ? err.message : String(err)}`,
          err,
        );
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
