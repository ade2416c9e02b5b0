/**
 * The logging contract the domain code (server, agent, aws) sees. The only implementation
 * that reaches SPIRE lives in goplugin/hclog.ts and writes hclog JSON lines on stderr;
 * domain code must not know that.
 *
 * Field values are `unknown` on purpose: the implementation renders every value to a
 * string, because go-plugin crashes the SPIRE process on a non-string @message/@level/
 * @timestamp, and prints non-string fields as Go maps.
 */
export type LogFields = Record<string, unknown>;

/** hclog's levels, least to most severe: the `log_level` values every config accepts. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  with(fields: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

class SilentLogger implements Logger {
  trace(): void {}
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(): void {}
  with(): Logger {
    return this;
  }
  isEnabled(): boolean {
    return false;
  }
}

/** For unit tests and library use where nobody reads the logs. */
export const silentLogger: Logger = new SilentLogger();
