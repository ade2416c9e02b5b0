/**
 * The EC2 instance identity document, typed. Field names are AWS's (and the AWS SDK's
 * `InstanceIdentityDocument`, which SPIRE unmarshals into).
 *
 * The three identity fields flow into SPIFFE IDs, selectors and AWS API calls, so their shape
 * is checked even though AWS signed them: an operator-added certificate (or a future AWS bug)
 * must not be able to inject `../` or `:` into an agent path.
 */
import { isAccountId, isInstanceId, isRegionName } from "../aws/partition";

export interface InstanceIdentityDocument {
  readonly accountId: string;
  readonly region: string;
  readonly instanceId: string;
  readonly imageId?: string;
  readonly availabilityZone?: string;
  readonly instanceType?: string;
  readonly architecture?: string;
  readonly privateIp?: string;
  readonly kernelId?: string;
  readonly ramdiskId?: string;
  readonly version?: string;
  /** When the instance was launched (AWS: last start), from `pendingTime`. */
  readonly pendingTime?: Date;
  readonly billingProducts?: readonly string[];
  readonly marketplaceProductCodes?: readonly string[];
  readonly devpayProductCodes?: readonly string[];
}

/** RFC 3339 as Go's `time.Time` accepts it in JSON (SPIRE rejects other shapes). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const STRING_FIELDS = [
  "imageId",
  "availabilityZone",
  "instanceType",
  "architecture",
  "privateIp",
  "kernelId",
  "ramdiskId",
  "version",
] as const;
const LIST_FIELDS = ["billingProducts", "marketplaceProductCodes", "devpayProductCodes"] as const;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function requiredString(obj: Record<string, unknown>, key: string, valid: (v: string) => boolean): string {
  const value = obj[key];
  if (typeof value !== "string") throw new Error(`"${key}" must be a string`);
  if (!valid(value))
    throw new Error(`"${key}" has an unexpected format: ${JSON.stringify(value.slice(0, 64))}`);
  return value;
}

/**
 * Parses document bytes. Throws an `Error` whose message completes SPIRE's
 * "failed to unmarshal the IID: …".
 */
export function parseInstanceIdentityDocument(bytes: Uint8Array): InstanceIdentityDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw new Error(err instanceof Error ? err.message : "invalid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("the document is not a JSON object");
  }
  const obj = parsed as Record<string, unknown>;
  const doc: {
    -readonly [K in keyof InstanceIdentityDocument]: InstanceIdentityDocument[K];
  } = {
    accountId: requiredString(obj, "accountId", isAccountId),
    region: requiredString(obj, "region", isRegionName),
    instanceId: requiredString(obj, "instanceId", isInstanceId),
  };
  for (const key of STRING_FIELDS) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") throw new Error(`"${key}" must be a string or null`);
    doc[key] = value;
  }
  for (const key of LIST_FIELDS) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === "string")) {
      throw new Error(`"${key}" must be a list of strings or null`);
    }
    doc[key] = value;
  }
  const pending = obj.pendingTime;
  if (pending !== undefined && pending !== null) {
    const ms = typeof pending === "string" && RFC3339.test(pending) ? Date.parse(pending) : Number.NaN;
    if (Number.isNaN(ms)) throw new Error(`"pendingTime" is not an RFC 3339 time`);
    doc.pendingTime = new Date(ms);
  }
  return doc;
}
