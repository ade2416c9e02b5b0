/**
 * Process faults with the real bundle: the host dying under an in-flight attestation (the
 * plugin must exit, not linger), SIGTERM during in-flight attestations, a broker that never
 * announces host services, and Configure racing Attest. The first three run under the Go
 * host (test/interop/host on go-plugin v1.8.0, which — unlike SPIRE's pluginCmd — sets no
 * Pdeathsig, so nothing but the plugin's own watch ends it when the host dies); the race
 * needs RPC interleavings the Go host's fixed modes cannot script and runs under the
 * TypeScript SPIRE-like host.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/common/errors";
import { type Scenario, type ScenarioNode, startScenario } from "../../src/testkit/scenario";
import { SpireHost } from "../../src/testkit/spire-host";
import { GO_BUILD_TIMEOUT_MS } from "../go-toolchain";
import { buildGoHost, GO_HOST } from "./go-host";

const root = resolve(__dirname, "../..");
const work = mkdtempSync(join(tmpdir(), "process-faults-"));
// A private copy: a concurrent `npm run build` must not swap the file under running processes.
const BUNDLE = join(work, "spire-aws-iid");
copyFileSync(join(root, "dist", "spire-aws-iid"), BUNDLE);
chmodSync(BUNDLE, 0o755);

interface HostEvent {
  event: string;
  [key: string]: unknown;
}

/** A Go host run we can watch event by event and kill. */
class GoHostRun {
  readonly events: HostEvent[] = [];
  readonly exited: Promise<number | null>;
  private waiters: { name: string; resolve: (e: HostEvent) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.trim() === "") return;
      const e = JSON.parse(line) as HostEvent;
      this.events.push(e);
      for (const w of this.waiters.filter((x) => x.name === e.event)) w.resolve(e);
      this.waiters = this.waiters.filter((x) => x.name !== e.event);
    });
    child.stderr?.resume();
    this.exited = new Promise((r) => child.once("exit", (code) => r(code)));
  }

  waitFor(name: string): Promise<HostEvent> {
    const seen = this.events.find((e) => e.event === name);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }
}

function startGoHost(args: string[], env: Record<string, string>): GoHostRun {
  return new GoHostRun(
    spawn(GO_HOST, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] }),
  );
}

/** Children of `parent`, from /proc (the plugin is the Go host's only child). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent) out.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** Alive = exists and not a zombie (an exited orphan may wait for a reaper that never comes). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

async function pluginPidOf(run: GoHostRun): Promise<number> {
  const hostPid = run.child.pid ?? 0;
  let pids: number[] = [];
  await eventually(() => {
    pids = childrenOf(hostPid);
    return pids.length > 0;
  }, 10_000);
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

let scenario: Scenario;
const killLater: number[] = [];

beforeAll(async () => {
  buildGoHost();
  scenario = await startScenario({ ec2RateLimits: [] });
}, GO_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const pid of killLater) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone: the point of the tests.
    }
  }
  await scenario?.close();
  rmSync(work, { recursive: true, force: true });
});

/** An attestation that stays in flight: EC2 never answers within the (long) call timeout. */
function hangingAttest(): { node: ScenarioNode; remove: () => void; args: string[] } {
  const node = scenario.addNode();
  const remove = scenario.aws.server.faults.add(
    { service: "ec2", action: "DescribeInstances" },
    { kind: "hang" },
  );
  const config = scenario.pluginData('aws_call_timeout = "5m"');
  return {
    node,
    remove,
    args: ["attest", "-config", config, "-payload", Buffer.from(node.payload).toString("base64")],
  };
}

describe("process faults under the go-plugin host", () => {
  it("the host is SIGKILLed during an in-flight Attest: the plugin exits by itself", async () => {
    const { remove, args } = hangingAttest();
    try {
      const run = startGoHost([...args, "--", BUNDLE, "server"], scenario.env());
      await run.waitFor("loaded");
      const plugin = await pluginPidOf(run);
      killLater.push(plugin);
      // Let the Attest reach the hanging DescribeInstances.
      await eventually(() => scenario.aws.server.calls.count({ action: "DescribeInstances" }) > 0, 10_000);
      run.child.kill("SIGKILL");
      await run.exited;
      expect(alive(plugin)).toBe(true);
      // Parent poll (1 s) or broker-closed grace (5 s); 30 s is a bound, not a measurement.
      expect(await eventually(() => !alive(plugin), 30_000)).toBe(true);
    } finally {
      remove();
    }
  });

  it("SIGTERM during an in-flight Attest: the stream gets Unavailable and the plugin exits", async () => {
    const { remove, args } = hangingAttest();
    try {
      const run = startGoHost([...args, "--", BUNDLE, "server"], scenario.env());
      await run.waitFor("loaded");
      const plugin = await pluginPidOf(run);
      killLater.push(plugin);
      const before = scenario.aws.server.calls.count({ action: "DescribeInstances" });
      await eventually(
        () => scenario.aws.server.calls.count({ action: "DescribeInstances" }) > before,
        10_000,
      );
      process.kill(plugin, "SIGTERM");
      const attest = await run.waitFor("attest");
      expect(attest.code).toMatch(/^(Unavailable|Canceled)$/);
      expect(await eventually(() => !alive(plugin), 10_000)).toBe(true);
      await run.exited;
    } finally {
      remove();
    }
  });

  it("a broker that never announces host services: Attest fails closed with a status, no hang", async () => {
    const node = scenario.addNode();
    const run = startGoHost(
      [
        "attest",
        "-no-host-services",
        "-config",
        scenario.pluginData(),
        "-payload",
        Buffer.from(node.payload).toString("base64"),
        "--",
        BUNDLE,
        "server",
      ],
      scenario.env(),
    );
    const attest = await run.waitFor("attest");
    // Without AgentStore the TOFU check cannot run: refusing to decide is the only safe answer,
    // and it must not be PermissionDenied (that would stop an honest agent for good).
    expect(attest.code).not.toBe("OK");
    expect(attest.code).not.toBe("PermissionDenied");
    expect(String(attest.message)).toMatch(/AgentStore|host service/i);
    const unloaded = await run.waitFor("unloaded");
    expect(unloaded.graceful).toBe(true);
  });
});

describe("Configure racing Attest (SPIRE-like host)", () => {
  it("Attests before, during and after Configure and reconfigures: only correct answers, never Internal", async () => {
    const host = await SpireHost.start({
      command: BUNDLE,
      args: ["server"],
      side: "server",
      env: scenario.env(),
    });
    try {
      await host.init();
      const nodes = Array.from({ length: 8 }, () => scenario.addNode({ tags: { role: "a" } }));
      const idA = (n: ScenarioNode): string =>
        `spiffe://example.org/spire/agent/aws_iid/A/${n.instance.instanceId}`;
      const idB = (n: ScenarioNode): string =>
        `spiffe://example.org/spire/agent/aws_iid/B/${n.instance.instanceId}`;
      const configA = scenario.pluginData('agent_path_template = "/{{ .PluginName }}/A/{{ .InstanceID }}"');
      const configB = scenario.pluginData('agent_path_template = "/{{ .PluginName }}/B/{{ .InstanceID }}"');

      const results: { node: ScenarioNode; ok: boolean; code?: number; id?: string; details?: string }[] = [];
      const attestAll = async (): Promise<void> => {
        await Promise.all(
          nodes.map(async (node) => {
            const r = await host.attest(node.payload);
            results.push(
              r.ok
                ? { node, ok: true, id: r.attributes.spiffeId }
                : { node, ok: false, code: r.code, details: r.details },
            );
          }),
        );
      };
      // First Configure races a burst of Attests; then reconfigures race more bursts.
      await Promise.all([attestAll(), host.configure(configA), attestAll()]);
      for (let i = 0; i < 4; i++) {
        await Promise.all([attestAll(), host.configure(i % 2 === 0 ? configB : configA), attestAll()]);
      }
      await attestAll();

      expect(results.length).toBe(nodes.length * 11);
      for (const r of results) {
        if (r.ok) {
          expect([idA(r.node), idB(r.node)]).toContain(r.id);
        } else {
          // Only before the first Configure completed: SPIRE's "not configured".
          expect({ code: r.code, details: r.details }).toEqual({
            code: Code.FailedPrecondition,
            details: "not configured",
          });
        }
      }
      // After everything settled the last configuration (A) is in force.
      const last = results.slice(-nodes.length);
      for (const r of last) expect(r.id).toBe(idA(r.node));
      expect((await host.unload()).graceful).toBe(true);
    } finally {
      await host.kill();
    }
  });
});
