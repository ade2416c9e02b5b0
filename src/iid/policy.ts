/**
 * Server-side policy on a verified identity. Every knob defaults to SPIRE's behaviour (accept);
 * every rejection is PermissionDenied and names the rule, so an operator reading the agent's
 * error knows which setting refused it.
 */
import { permissionDenied } from "../common/errors";
import type { InstanceIdentityDocument } from "./document";

export type SignatureKind = "rsa2048" | "rsa" | "pkcs7";

export interface VerificationPolicy {
  /**
   * Refuse the legacy `signature` and DSA `pkcs7` forms. SPIRE silently falls back to the
   * legacy RSA-1024 signature when `rsa2048` is missing, so a peer can downgrade.
   */
  readonly requireRsa2048Signature?: boolean;
  /** `allowed_regions`; undefined or empty = any region. */
  readonly allowedRegions?: readonly string[];
  /** `allowed_account_ids`; undefined or empty = any account. */
  readonly allowedAccountIds?: readonly string[];
  /**
   * `max_launch_age` in milliseconds, checked on `pendingTime` (Teleport's `aws_iid_ttl`). An IID
   * never expires, so without it a document copied off a long-running instance attests forever.
   */
  readonly maxLaunchAgeMs?: number;
}

/** Teleport allows the same: clocks of instances and servers drift. */
export const LAUNCH_TIME_CLOCK_SKEW_MS = 60_000;

/** Go-style duration text for messages (`5m0s`, `1h0m0s`, `90ms`), like Teleport's. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = Number((totalSeconds % 60).toFixed(3));
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

export function checkSignatureKindAllowed(kind: SignatureKind, policy: VerificationPolicy): void {
  if (policy.requireRsa2048Signature && kind !== "rsa2048") {
    throw permissionDenied(
      `require_rsa2048_signature is set: the payload carries no rsa2048 signature (the ${kind === "rsa" ? "legacy RSA signature" : "DSA pkcs7"} form is refused)`,
    );
  }
}

export function checkDocumentPolicy(
  doc: InstanceIdentityDocument,
  policy: VerificationPolicy,
  now: Date,
): void {
  if (policy.allowedRegions !== undefined && policy.allowedRegions.length > 0) {
    if (!policy.allowedRegions.includes(doc.region)) {
      throw permissionDenied(`instance identity document region "${doc.region}" is not in allowed_regions`);
    }
  }
  if (policy.allowedAccountIds !== undefined && policy.allowedAccountIds.length > 0) {
    if (!policy.allowedAccountIds.includes(doc.accountId)) {
      throw permissionDenied(
        `instance identity document account "${doc.accountId}" is not in allowed_account_ids`,
      );
    }
  }
  if (policy.maxLaunchAgeMs !== undefined) {
    const pending = doc.pendingTime;
    if (pending === undefined) {
      throw permissionDenied("instance identity document has no pendingTime, which max_launch_age requires");
    }
    const age = now.getTime() - pending.getTime();
    if (age > policy.maxLaunchAgeMs) {
      throw permissionDenied(
        `Instance Identity Document with PendingTime ${pending.toISOString()} is older than configured max_launch_age of ${formatDuration(policy.maxLaunchAgeMs)}`,
      );
    }
    if (-age > LAUNCH_TIME_CLOCK_SKEW_MS) {
      throw permissionDenied(
        `Instance Identity Document with PendingTime ${pending.toISOString()} is in the future (more than ${formatDuration(LAUNCH_TIME_CLOCK_SKEW_MS)} of allowed clock skew)`,
      );
    }
  }
}
