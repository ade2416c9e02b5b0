/**
 * How go-plugin (and so SPIRE) reads a plugin's stderr line: JSON objects are hclog records,
 * anything else is raw text logged at DEBUG. checkHclogLine says what SPIRE would do with a
 * line our logger produced, so tests can assert "parsed at its level", not just "is JSON".
 */
export interface PluginLogLine {
  /** trace|debug|info|warn|error when go-plugin would parse the line, else "raw". */
  level: string;
  message: string;
  timestamp: string | undefined;
  /** Every key other than @level/@message/@timestamp, as written. */
  fields: Record<string, unknown>;
  raw: string;
  /** Why go-plugin would not treat it as the record it claims to be (undefined: fine). */
  problem: string | undefined;
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "error"]);
/** Go layout 2006-01-02T15:04:05.000000Z07:00. */
const GO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
/** go-plugin's stderr buffer; longer lines are chopped into raw pieces. */
const LINE_BUFFER = 64 * 1024;

export function checkHclogLine(raw: string): PluginLogLine {
  const base: PluginLogLine = {
    level: "raw",
    message: raw,
    timestamp: undefined,
    fields: {},
    raw,
    problem: undefined,
  };
  if (Buffer.byteLength(raw) >= LINE_BUFFER) return { ...base, problem: "line of 64 KiB or more" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ...base, problem: "not JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ...base, problem: "not a JSON object" };
  }
  const rec = parsed as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) {
    if (k !== "@level" && k !== "@message" && k !== "@timestamp") fields[k] = v;
  }
  for (const key of ["@level", "@message", "@timestamp"]) {
    if (key in rec && typeof rec[key] !== "string") {
      return { ...base, fields, problem: `${key} is not a string (go-plugin panics: SPIRE crashes)` };
    }
  }
  const level = typeof rec["@level"] === "string" ? rec["@level"].toLowerCase() : "";
  const message = typeof rec["@message"] === "string" ? rec["@message"] : "";
  const timestamp = typeof rec["@timestamp"] === "string" ? rec["@timestamp"] : undefined;
  if (timestamp !== undefined && !GO_TIMESTAMP.test(timestamp)) {
    return { ...base, fields, problem: "@timestamp without six fractional digits (logged raw at DEBUG)" };
  }
  if (!LEVELS.has(level)) {
    return {
      ...base,
      fields,
      problem: `@level ${JSON.stringify(rec["@level"])} unknown (logged raw at DEBUG)`,
    };
  }
  const nonString = Object.entries(fields).find(([, v]) => typeof v !== "string");
  return {
    level,
    message,
    timestamp,
    fields,
    raw,
    problem: nonString ? `field ${nonString[0]} is not a string (printed as a Go value)` : undefined,
  };
}
