/**
 * After the handshake line nothing may reach stdout: go-plugin reads stdout line by line and
 * discards it, stops reading at the first line of 64 KiB or more, and from then on a plugin
 * write to the undrained pipe blocks (Node writes pipes synchronously on Linux). Stray
 * console output from a dependency, and Node's own process warnings (raw text on stderr, which
 * SPIRE would log at DEBUG), are turned into hclog records instead.
 */
import { format } from "node:util";
import type { Logger, LogLevel } from "../common/logger";

export function guardStdout(logger: Logger): void {
  const toLog =
    (level: LogLevel) =>
    (...args: unknown[]): void => {
      logger[level](format(...args), { source: "console" });
    };
  console.log = toLog("debug");
  console.info = toLog("info");
  console.debug = toLog("debug");
  console.trace = toLog("debug");
  console.warn = toLog("warn");
  console.error = toLog("error");
  console.dir = toLog("debug");

  const swallow = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text =
      typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk);
    logger.debug(text.replace(/\n$/, ""), { source: "stdout" });
    const cb = rest.find((r): r is () => void => typeof r === "function");
    if (cb !== undefined) queueMicrotask(cb);
    return true;
  };
  process.stdout.write = swallow as typeof process.stdout.write;

  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    logger.warn(warning.message, { source: "node", warning: warning.name });
  });
}
