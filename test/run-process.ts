/** Child processes for the process-level specs: run to the end, output collected. */
import { spawn } from "node:child_process";

export interface ProcessResult {
  /** The exit status; null when a signal ended the process, -1 when it could not start. */
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunProcessOptions {
  /** The whole environment (entries set to undefined are left out); this process's by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** SIGTERM after this long, so a stuck process fails its test instead of hanging it. */
  timeoutMs?: number;
}

/**
 * Runs a command to its end without blocking the event loop: the loopback fakes it talks to
 * live in this process. A command that cannot start resolves with status -1 and the reason
 * in stderr.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<ProcessResult> {
  const env =
    options.env === undefined
      ? process.env
      : (Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >);
  return new Promise((resolveRun) => {
    const child = spawn(command, args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.once("error", (err) => resolveRun({ status: -1, stdout, stderr: `${stderr}${err.message}` }));
    child.once("close", (status) => resolveRun({ status, stdout, stderr }));
  });
}
