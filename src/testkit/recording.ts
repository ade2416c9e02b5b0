/**
 * Test doubles that only record (a logger, metrics) and the helpers that unwrap a PluginError,
 * shared by every spec instead of a copy in each.
 */
import { isPluginError, type PluginError } from "../common/errors";
import type { LogFields, Logger, LogLevel } from "../common/logger";
import type { MetricLabel, Metrics } from "../common/metrics";

export interface LogLine {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A Logger that keeps every line (with the fields of `with`) for assertions. */
export function recordingLogger(lines: LogLine[] = [], base: LogFields = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLevel) =>
    (message: string, fields: LogFields = {}): void => {
      lines.push({ level, message, fields: { ...base, ...fields } });
    };
  return {
    lines,
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    with: (fields) => recordingLogger(lines, { ...base, ...fields }),
    isEnabled: () => true,
  };
}

export interface MetricCall {
  kind: "counter" | "gauge" | "sample" | "timer";
  key: string;
  value: number;
  labels: Record<string, string>;
}

/** Metrics that keep every call, keys joined with "." and labels as an object. */
export function recordingMetrics(calls: MetricCall[] = []): Metrics & { calls: MetricCall[] } {
  const at =
    (kind: MetricCall["kind"]) =>
    (key: readonly string[], value = 1, labels: readonly MetricLabel[] = []): void => {
      calls.push({
        kind,
        key: key.join("."),
        value,
        labels: Object.fromEntries(labels.map((l) => [l.name, l.value])),
      });
    };
  return {
    calls,
    incrCounter: at("counter"),
    setGauge: at("gauge"),
    addSample: at("sample"),
    measureSince: (key, _startMs, labels) => at("timer")(key, 0, labels),
  };
}

/** The PluginError `fn` throws; fails the test if it returns or throws anything else. */
export function caught(fn: () => unknown): PluginError {
  try {
    fn();
  } catch (err) {
    if (isPluginError(err)) return err;
    throw err;
  }
  throw new Error("expected a PluginError");
}

/** The code and message of a PluginError rejection; fails if `p` resolves or throws anything else. */
export async function rejection(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isPluginError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected a rejection");
}
