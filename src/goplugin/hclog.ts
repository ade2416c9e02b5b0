/**
 * hclog-compatible JSON lines on stderr: the only log channel SPIRE reads from a plugin.
 *
 * go-plugin (1.0.1 and 1.8.0 alike) reads stderr line by line with a 64 KiB buffer and treats
 * a line that parses as a JSON object as an hclog record:
 * - `@message`, `@level`, `@timestamp` that are present but not JSON strings make go-plugin's
 *   parser panic in a goroutine, which kills the SPIRE server/agent process;
 * - `@timestamp` must have exactly six fractional digits (`2006-01-02T15:04:05.000000Z07:00`),
 *   else the whole line is logged raw at DEBUG (invisible at SPIRE's default INFO);
 * - `@level` outside trace|debug|info|warn|error also demotes the raw line to DEBUG;
 * - any other key becomes a logrus field; non-string values are printed as Go maps/floats;
 * - lines of 64 KiB or more are chopped into raw DEBUG pieces.
 *
 * So every line here has string `@level`/`@message`/`@timestamp`, every field value is
 * rendered to a string, and a line never exceeds MAX_LINE_CHARS.
 */
import { LOG_LEVELS, type LogFields, type Logger, type LogLevel } from "../common/logger";

const LEVEL_RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** Well below go-plugin's 64 KiB line buffer, counted in UTF-16 units of the final JSON. */
export const MAX_LINE_CHARS = 16 * 1024;
/** Per value, before JSON escaping (an escape is at most 6 chars per unit). */
const MAX_VALUE_CHARS = 2048;
const MAX_MESSAGE_CHARS = 2048;
const MAX_KEY_CHARS = 128;
const MAX_FIELDS = 64;
const RESERVED_KEYS = new Set(["@level", "@message", "@timestamp"]);

/** Accepts SPIRE's spellings (`INFO`, `WARN`, `warning`) as well as hclog's. */
export function parseLogLevel(value: string): LogLevel | undefined {
  const v = value.trim().toLowerCase();
  if (v === "warning") return "warn";
  return (LOG_LEVELS as readonly string[]).includes(v) ? (v as LogLevel) : undefined;
}

/**
 * `2025-01-02T03:04:05.678901Z`. JavaScript's toISOString() gives three digits, which
 * go-plugin rejects; the extra three come from the monotonic clock so lines keep their order.
 */
export function hclogTimestamp(epochMicros: number): string {
  const micros = Math.floor(epochMicros);
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sub = String(micros - ms * 1000).padStart(3, "0");
  return `${iso.slice(0, 23)}${sub}Z`;
}

function nowMicros(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(truncated ${s.length - max} chars)`;
}

/** Renders any value to a string without throwing (hostile toString, cycles, bigint). */
export function renderValue(value: unknown): string {
  try {
    switch (typeof value) {
      case "string":
        return value;
      case "number":
      case "bigint":
      case "boolean":
      case "symbol":
        return value.toString();
      case "undefined":
        return "undefined";
      case "function":
        return `[function ${value.name || "anonymous"}]`;
    }
    if (value === null) return "null";
    // Messages only: a stack trace in a field turns into one unreadable escaped blob.
    if (value instanceof Error) return value.message || value.name;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
    const seen = new WeakSet<object>();
    const json = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[circular]";
        seen.add(v);
      }
      return v;
    });
    return json ?? String(value);
  } catch {
    return "[unrenderable value]";
  }
}

function renderMessage(message: unknown): string {
  return typeof message === "string" ? message : renderValue(message);
}

export type LineSink = (line: string) => void;

/** Writes to fd 2; a failing stderr must never take the plugin down. */
export const stderrSink: LineSink = (line) => {
  try {
    process.stderr.write(line);
  } catch {
    // Nothing sensible to do: stderr is the only channel SPIRE gives us.
  }
};

interface LoggerState {
  level: LogLevel;
  sink: LineSink;
  clock: () => number;
}

export interface HclogLoggerOptions {
  level?: LogLevel;
  sink?: LineSink;
  /** Microseconds since the epoch; injectable for tests. */
  clock?: () => number;
}

export class HclogLogger implements Logger {
  private readonly state: LoggerState;
  private readonly fields: ReadonlyArray<readonly [string, string]>;

  constructor(
    options: HclogLoggerOptions = {},
    inherited?: { state: LoggerState; fields: ReadonlyArray<readonly [string, string]> },
  ) {
    this.state = inherited?.state ?? {
      // Until Configure applies log_level (default info): the few start-up lines stay
      // visible to a SPIRE running at debug; per-attestation lines come after Configure.
      level: options.level ?? "debug",
      sink: options.sink ?? stderrSink,
      clock: options.clock ?? nowMicros,
    };
    this.fields = inherited?.fields ?? [];
  }

  /** Shared by every logger derived with with(): one runtime level for the process. */
  setLevel(level: LogLevel): void {
    this.state.level = level;
  }

  get level(): LogLevel {
    return this.state.level;
  }

  isEnabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= LEVEL_RANK[this.state.level];
  }

  with(fields: LogFields): Logger {
    return new HclogLogger({}, { state: this.state, fields: [...this.fields, ...renderFields(fields)] });
  }

  trace(message: string, fields?: LogFields): void {
    this.log("trace", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }

  private log(level: LogLevel, message: unknown, fields: LogFields | undefined): void {
    if (!this.isEnabled(level)) return;
    try {
      this.state.sink(`${formatLine(level, message, this.fields, fields, this.state.clock())}\n`);
    } catch {
      // A logger must never throw into the code that called it.
    }
  }
}

function renderFields(fields: LogFields | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (fields === undefined || fields === null || typeof fields !== "object") return out;
  let keys: string[];
  try {
    keys = Object.keys(fields);
  } catch {
    return out;
  }
  for (const rawKey of keys) {
    if (out.length >= MAX_FIELDS) {
      out.push(["fields_dropped", String(keys.length - MAX_FIELDS)]);
      break;
    }
    let value: unknown;
    try {
      value = fields[rawKey];
    } catch {
      value = "[unreadable field]";
    }
    // A caller's "@level" must not replace the record's own: a non-string there crashes SPIRE.
    const key = RESERVED_KEYS.has(rawKey) ? `field${rawKey}` : truncate(rawKey, MAX_KEY_CHARS);
    out.push([key, truncate(renderValue(value), MAX_VALUE_CHARS)]);
  }
  return out;
}

/** One hclog JSON record, without the trailing newline. Exported for tests. */
export function formatLine(
  level: LogLevel,
  message: unknown,
  baseFields: ReadonlyArray<readonly [string, string]>,
  fields: LogFields | undefined,
  epochMicros: number,
): string {
  // Null prototype: a field named "__proto__" must become a key, not replace the prototype.
  const record: Record<string, string> = Object.create(null);
  record["@level"] = level;
  record["@message"] = truncate(renderMessage(message), MAX_MESSAGE_CHARS);
  record["@timestamp"] = hclogTimestamp(epochMicros);
  for (const [k, v] of baseFields) record[k] = v;
  for (const [k, v] of renderFields(fields)) record[k] = v;
  const line = JSON.stringify(record);
  if (line.length <= MAX_LINE_CHARS) return line;
  // Escaping can grow a value up to six-fold; rather than chop JSON (which go-plugin would
  // log as raw DEBUG pieces) drop the fields and keep a short message.
  return JSON.stringify({
    "@level": level,
    "@message": truncate(renderMessage(message), 1024),
    "@timestamp": hclogTimestamp(epochMicros),
    log_truncated: "true",
  });
}
