/**
 * Who signed the GetCallerIdentity, as STS reported it, and what SPIRE gets from that:
 * the principal kinds we accept, the role ARN policy matches against, agent ID and selectors.
 */
import { permissionDenied } from "../common/errors";
import type { CallerIdentity } from "./sts-forward";

export type Principal =
  | {
      kind: "assumed-role";
      partition: string;
      account: string;
      roleName: string;
      sessionName: string;
      /**
       * arn:<partition>:iam::<account>:role/<name>. STS's assumed-role ARN drops the role's path
       * (a role /team/app/ called "app" appears as assumed-role/app/<session>), so this ARN has
       * no path either; Vault documents the same loss. Policy patterns are matched against it.
       */
      roleArn: string;
      principalArn: string;
      userId: string;
    }
  | {
      kind: "user";
      partition: string;
      account: string;
      userName: string;
      principalArn: string;
      userId: string;
    };

const PARTITION = "(aws|aws-cn|aws-us-gov)";
// IAM name characters: [\w+=,.@-]; role session names use the same set.
const NAME = "[\\w+=,.@-]{1,128}";
const ASSUMED_ROLE = new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):assumed-role/(${NAME})/(${NAME})$`);
const IAM_USER = new RegExp(`^arn:${PARTITION}:iam::(\\d{12}):user/(?:[\\w+=,.@-]+/)*(${NAME})$`);

export function principalFromIdentity(id: CallerIdentity, expectedPartition: string): Principal {
  if (!/^\d{12}$/.test(id.account)) throw permissionDenied("STS returned an invalid account ID");
  const role = ASSUMED_ROLE.exec(id.arn);
  const user = role === null ? IAM_USER.exec(id.arn) : null;
  const m = role ?? user;
  if (m === null) {
    // Root, federated-user and anything new: not an identity a SPIRE node should have.
    throw permissionDenied(
      `caller ${JSON.stringify(id.arn.slice(0, 256))} is not an assumed role or IAM user; aws_iam accepts only those`,
    );
  }
  const [, partition, account] = m as unknown as [string, string, string];
  if (account !== id.account)
    throw permissionDenied("STS returned an ARN whose account differs from Account");
  if (partition !== expectedPartition) {
    throw permissionDenied(
      `caller partition ${partition} does not match the STS endpoint's ${expectedPartition}`,
    );
  }
  if (role !== null) {
    const roleName = role[3]!;
    return {
      kind: "assumed-role",
      partition,
      account,
      roleName,
      sessionName: role[4]!,
      roleArn: `arn:${partition}:iam::${account}:role/${roleName}`,
      principalArn: id.arn,
      userId: id.userId,
    };
  }
  return { kind: "user", partition, account, userName: m[3]!, principalArn: id.arn, userId: id.userId };
}

/**
 * Glob with `*` (any run, including `/` and `:`) and `?` (one character), as Teleport's
 * aws_arn. Iterative two-pointer match: linear backtracking, so no pattern can make an
 * attestation take exponential time (the ReDoS a naive glob-to-RegExp invites).
 */
export function globMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = v;
    } else if (star !== -1) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Makes an IAM name a valid SPIFFE path segment ([A-Za-z0-9._-], not "." or "..") without
 * collisions: `_` escapes itself as `__` and any other character as `_XX` (hex). IAM names
 * allow `+=,@` (SSO session names are e-mail addresses), and a lossy mapping would let
 * "a@b" and "a_b" share an agent ID.
 */
export function escapeSegment(value: string): string {
  if (value === "." || value === "..") return value.replace(/\./g, "_2E");
  let out = "";
  for (const ch of value) {
    if (ch === "_") out += "__";
    else if (/[A-Za-z0-9.-]/.test(ch)) out += ch;
    else out += `_${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Path segments after /spire/agent/aws_iam/. A role has three (account/role/session), a user
 * four (account/user/name/user ID), so the two kinds never share an ID whatever the names.
 */
export function defaultAgentPathSegments(p: Principal): string[] {
  if (p.kind === "assumed-role") return [p.account, escapeSegment(p.roleName), escapeSegment(p.sessionName)];
  return [p.account, "user", escapeSegment(p.userName), escapeSegment(p.userId)];
}

export function selectorsFor(p: Principal): string[] {
  const out = [`account_id:${p.account}`, `principal_arn:${p.principalArn}`];
  if (p.kind === "assumed-role") {
    out.push(`role:${p.roleName}`, `role_arn:${p.roleArn}`, `session_name:${p.sessionName}`);
  }
  return [...new Set(out)].sort();
}
