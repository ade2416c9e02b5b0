/**
 * `verify_organization { account_list_file = "…" }`: a JSON array of 12-digit account IDs
 * that replaces ListAccounts (SPIRE PR #7092, the answer to the #7079 throttling report).
 * The messages are SPIRE's, because operators grep for them and the config parser wraps them
 * in SPIRE's configure-time prefix.
 */
import { readBoundedFile } from "../common/bounded-read";
import { describeError, invalidArgument, type PluginError } from "../common/errors";
import type { Pos } from "../hcl/ast";
import type { ConfigProblem } from "../hcl/schema";
import type { OrgConfig } from "../server/config";

/** A 50,000-account list is ~800 KB; anything far larger is not an account list. */
export const ACCOUNT_LIST_FILE_MAX_BYTES = 8 * 1024 * 1024;

const ACCOUNT_ID = /^\d{12}$/;

/** The inner message is SPIRE's text (without the configure-time prefix). */
export class AccountListFileError extends Error {
  override readonly name = "AccountListFileError";
}

/**
 * Reads and validates the file. Throws AccountListFileError with one of SPIRE's messages:
 * `unable to read account list file: …`, `unable to parse account list file "<path>",
 * expected a JSON array of account IDs: …`, `invalid account id "<id>" in account list file
 * "<path>", expected a 12-digit AWS account id`.
 */
export async function readAccountListFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = readBoundedFile(path, ACCOUNT_LIST_FILE_MAX_BYTES).toString("utf8");
  } catch (err) {
    throw new AccountListFileError(
      `unable to read account list file: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const ids = parseAccountList(text, path);
  for (const id of ids) {
    if (!ACCOUNT_ID.test(id)) {
      throw new AccountListFileError(
        `invalid account id "${id}" in account list file "${path}", expected a 12-digit AWS account id`,
      );
    }
  }
  return ids;
}

/**
 * Configure-time check: SPIRE fails Configure on a missing or malformed file, with this
 * exact prefix. Returns the IDs so the caller can warn about an empty list.
 */
export async function validateAccountListFile(path: string): Promise<string[]> {
  try {
    return await readAccountListFile(path);
  } catch (err) {
    throw configureError(err);
  }
}

/**
 * Configure's check of verify_organization's account_list_file, the same for both methods:
 * the problem at its key (`at` finds positions), or undefined when the file reads as an
 * account list or the block names none.
 */
export async function accountListFileProblem(
  org: OrgConfig | undefined,
  at: (path: string) => Pos | undefined,
): Promise<ConfigProblem | undefined> {
  if (org?.mode !== "file") return undefined;
  try {
    await validateAccountListFile(org.accountListFile);
    return undefined;
  } catch (err) {
    const path = "verify_organization.account_list_file";
    return { path, pos: at(path), message: describeError(err) };
  }
}

function configureError(err: unknown): PluginError {
  const inner = err instanceof Error ? err.message : String(err);
  return invalidArgument(`invalid "account_list_file" in the block: "verify_organization": ${inner}`, err);
}

function parseAccountList(text: string, path: string): string[] {
  const fail = (detail: string): AccountListFileError =>
    new AccountListFileError(
      `unable to parse account list file "${path}", expected a JSON array of account IDs: ${detail}`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(err instanceof Error ? err.message : String(err));
  }
  // Go's json.Unmarshal into []string: `null` is an empty list, other kinds are type errors.
  if (value === null) return [];
  if (!Array.isArray(value))
    throw fail(`json: cannot unmarshal ${jsonKind(value)} into Go value of type []string`);
  const ids: string[] = [];
  for (const item of value) {
    if (typeof item !== "string") {
      throw fail(`json: cannot unmarshal ${jsonKind(item)} into Go value of type string`);
    }
    ids.push(item);
  }
  return ids;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}
