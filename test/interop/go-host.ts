/** The Go interop host (test/interop/host, go-plugin v1.8.0), built once per test process. */
import { join, resolve } from "node:path";
import { goBuild } from "../go-toolchain";
import { runProcess } from "../run-process";

const root = resolve(__dirname, "../..");
export const GO_HOST = join(root, "test", "interop", "bin", "spire-host-go");

export function buildGoHost(): string {
  return goBuild(join(root, "test", "interop", "host"), GO_HOST);
}

/** One line of the host's stdout: {"event": ..., ...}. */
export interface HostEvent {
  event: string;
  [key: string]: unknown;
}

export interface HostRun {
  status: number | null;
  events: HostEvent[];
  stderr: string;
}

/**
 * Runs a command that ends in the Go host (the host itself, or chroot(8) in front of it)
 * without blocking this process, where the loopback fakes it talks to live. `env` is the whole
 * environment; entries set to undefined are left out.
 */
export async function runGoHostAsync(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<HostRun> {
  const { status, stdout, stderr } = await runProcess(command, args, { env });
  const events = stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as HostEvent);
  return { status, events, stderr };
}
