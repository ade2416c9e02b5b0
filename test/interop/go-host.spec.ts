/**
 * Interop with a real go-plugin host: test/interop/host (hashicorp go-plugin v1.8.0 from the
 * Go module proxy, host services on broker id 1 like SPIRE's catalog) launching
 * dist/spire-aws-iid with SPIRE's handshake config, with and without plugin_args.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GO_BUILD_TIMEOUT_MS } from "../go-toolchain";
import { buildGoHost, GO_HOST } from "./go-host";

const root = resolve(__dirname, "../..");
const BIN_DIR = join(root, "test", "interop", "bin");
const HOST = GO_HOST;
// A private copy: a concurrent `npm run build` in the same tree must not swap the file under
// a running test (go-plugin hashes it on every launch).
const BUNDLE = join(mkdtempSync(join(tmpdir(), "bundle-")), "spire-aws-iid");
copyFileSync(join(root, "dist", "spire-aws-iid"), BUNDLE);
chmodSync(BUNDLE, 0o755);
const FIXTURE = join(BIN_DIR, "scripted-plugin");
const AGENT_STORE = "spire.hostservice.server.agentstore.v1.AgentStore";
const METRICS = "spire.hostservice.common.metrics.v1.Metrics";
const PLUGIN_MODULE = "host.spire-aws-iid";

interface HostEvent {
  event: string;
  [key: string]: unknown;
}

interface HostRun {
  status: number | null;
  events: HostEvent[];
  stderr: string;
}

function runHost(args: string[], env: Record<string, string> = {}): HostRun {
  const r = spawnSync(HOST, args, { env: { ...process.env, ...env }, encoding: "utf8", timeout: 300_000 });
  const events = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as HostEvent);
  return { status: r.status, events, stderr: r.stderr };
}

const of = (run: HostRun, name: string): HostEvent[] => run.events.filter((e) => e.event === name);
// go-plugin names the plugin's log records host.<file name>; host.stdio is go-plugin's own.
const pluginLogs = (run: HostRun): HostEvent[] =>
  run.events.filter(
    (e) => e.event === "log" && String(e.module).startsWith("host.") && e.module !== "host.stdio",
  );

beforeAll(() => {
  buildGoHost();
}, GO_BUILD_TIMEOUT_MS);

describe("go-plugin v1.8.0 host", () => {
  it("loads, configures and unloads gracefully 50 times in a row, with the checksum verified", () => {
    const run = runHost(["load", "-n", "50", "-checksum", "auto", "--", BUNDLE, "server"]);
    expect(run.status).toBe(0);
    expect(of(run, "configure").filter((e) => e.code === "OK")).toHaveLength(50);
    const unloaded = of(run, "unloaded");
    expect(unloaded).toHaveLength(50);
    expect(unloaded.every((e) => e.graceful === true)).toBe(true);
    expect(run.events.some((e) => e.message === "plugin failed to exit gracefully")).toBe(false);
    expect(of(run, "init")[0]?.services).toEqual([
      "spire.plugin.server.nodeattestor.v1.NodeAttestor",
      "spire.service.common.config.v1.Config",
    ]);
  });

  it("delivers plugin logs parsed at their level, never as raw lines", () => {
    const run = runHost(["load", "--", BUNDLE, "agent"]);
    expect(run.status).toBe(0);
    const logs = pluginLogs(run);
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) {
      expect(["trace", "debug", "info", "warn", "error"]).toContain(l.level);
      expect(String(l.message)).not.toMatch(/^\{/);
      expect(l.module).toBe(PLUGIN_MODULE);
    }
    const started = logs.find((l) => l.message === "Plugin started");
    expect(started?.level).toBe("debug");
    // Which build is running, in SPIRE's log (scripts/bundle.ts writes it in).
    const fields = started?.fields as Record<string, unknown> | undefined;
    expect(fields?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(fields?.commit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);

    const bad = runHost(["load", "--", BUNDLE, "bogus"]);
    expect(bad.status).toBe(1);
    const err = pluginLogs(bad).find((l) => String(l.message).includes("unknown plugin_args"));
    expect(err?.level).toBe("error");
  });

  it("refuses a checksum mismatch before starting the plugin", () => {
    const run = runHost(["load", "-checksum", "0".repeat(64), "--", BUNDLE, "server"]);
    expect(run.status).toBe(1);
    expect(of(run, "error")[0]?.message).toBe("checksums did not match");
    expect(of(run, "started")).toHaveLength(0);
  });

  it("loads under go-plugin AutoMTLS", () => {
    const run = runHost(["load", "-automtls", "--", BUNDLE, "server"]);
    expect(run.status).toBe(0);
    expect(of(run, "unloaded")[0]?.graceful).toBe(true);
  });

  it("drives both NodeAttestor streams of the bundle: failures arrive as statuses, unloads stay clean", () => {
    // No AWS here: whatever the attestors answer, it must be a gRPC status, not a dead plugin.
    const attest = runHost(["attest", "-payload", "aGVsbG8=", "--", BUNDLE, "server"]);
    expect(of(attest, "attest")[0]?.code).toMatch(/^(Unimplemented|InvalidArgument|PermissionDenied)$/);
    expect(of(attest, "unloaded")[0]?.graceful).toBe(true);
    const aid = runHost(["aid", "--", BUNDLE, "agent"]);
    expect(of(aid, "payload")[0]?.code).not.toBe("OK");
    expect(of(aid, "unloaded")[0]?.graceful).toBe(true);
  });

  it("scripted fixture: Attest with challenges and metadata, AidAttestation, agent -> server round trip", () => {
    const attest = runHost([
      "attest",
      "-payload",
      Buffer.from("challenges:2").toString("base64"),
      "-responses",
      ["r0", "r1"].map((s) => Buffer.from(s).toString("base64")).join(","),
      "-metadata",
      "x-forwarded-client-ip=10.9.8.7",
      "--",
      FIXTURE,
      "server",
    ]);
    expect(attest.status).toBe(0);
    expect(of(attest, "attest")[0]).toMatchObject({
      code: "OK",
      spiffe_id: "spiffe://example.org/spire/agent/scripted/1",
      selector_values: ["ip:10.9.8.7", "host:-", "turns:2"],
    });

    const aid = runHost(["aid", "-challenges", Buffer.from("c0").toString("base64"), "--", FIXTURE, "agent"]);
    expect(aid.status).toBe(0);
    expect(of(aid, "challenge_response")[0]).toMatchObject({
      code: "OK",
      response: Buffer.from("resp:c0").toString("base64"),
    });

    const roundtrip = runHost(["roundtrip", "--", FIXTURE]);
    expect(roundtrip.status).toBe(0);
    expect(of(roundtrip, "challenge")).toHaveLength(2);
    expect(of(roundtrip, "attest")[0]).toMatchObject({
      code: "OK",
      selector_values: ["ip:-", "host:-", "turns:2"],
    });
    expect(of(roundtrip, "unloaded").map((e) => e.graceful)).toEqual([true, true]);
  });
});

describe("plugin side and method without plugin_args", () => {
  const SERVER_SERVICES = [
    "spire.plugin.server.nodeattestor.v1.NodeAttestor",
    "spire.service.common.config.v1.Config",
  ];
  const AGENT_SERVICES = [
    "spire.plugin.agent.nodeattestor.v1.NodeAttestor",
    "spire.service.common.config.v1.Config",
  ];

  it.each([
    ["server", [], SERVER_SERVICES],
    ["server", ["server"], SERVER_SERVICES],
    ["agent", [], AGENT_SERVICES],
    ["agent", ["agent"], AGENT_SERVICES],
  ])(
    "a SPIRE %s host, plugin_args %j: Init names only that side's services, nothing unsupported",
    (side, args, services) => {
      const run = runHost(["load", "-side", side, "--", BUNDLE, ...args]);
      expect(run.status, run.stderr).toBe(0);
      const init = of(run, "init")[0];
      expect(init?.host_services).toContain(side === "server" ? AGENT_STORE : METRICS);
      expect(init?.services).toEqual(services);
      expect(init?.unsupported).toEqual([]);
      expect(run.events.some((e) => e.message === "Unsupported plugin service found")).toBe(false);
      expect(of(run, "configure")[0]?.code).toBe("OK");
      expect(of(run, "unloaded")[0]?.graceful).toBe(true);
      const started = pluginLogs(run).find((l) => l.message === "Plugin started");
      expect(started?.fields).toMatchObject({
        method: "aws_iid",
        side: args.length === 0 ? "chosen at Init" : side,
      });
    },
  );

  it("without plugin_args each SPIRE side's own NodeAttestor is bound and answers", () => {
    // No IMDS or AWS here: a status other than Unimplemented proves the side's attestor ran.
    const aid = runHost(["aid", "--", BUNDLE]);
    expect(of(aid, "init")[0]?.services).toEqual(AGENT_SERVICES);
    expect(of(aid, "payload")[0]?.code).not.toMatch(/^(OK|Unimplemented)$/);
    expect(of(aid, "unloaded")[0]?.graceful).toBe(true);

    const attest = runHost(["attest", "-payload", "aGVsbG8=", "--", BUNDLE]);
    expect(of(attest, "init")[0]?.services).toEqual(SERVER_SERVICES);
    expect(of(attest, "attest")[0]?.code).toMatch(/^(InvalidArgument|PermissionDenied)$/);
    expect(of(attest, "unloaded")[0]?.graceful).toBe(true);
  });

  it("scripted fixture without arguments: agent -> server round trip, each side chosen at Init", () => {
    const run = runHost(["roundtrip", "-no-args", "--", FIXTURE]);
    expect(run.status, run.stderr).toBe(0);
    expect(of(run, "init").map((e) => e.services)).toEqual([AGENT_SERVICES, SERVER_SERVICES]);
    expect(of(run, "attest")[0]).toMatchObject({
      code: "OK",
      selector_values: ["ip:-", "host:-", "turns:2"],
    });
    expect(of(run, "unloaded").map((e) => e.graceful)).toEqual([true, true]);
  });

  it("aws_iam by file name: a copy named spire-aws-iam runs aws_iam on both sides", () => {
    const dir = mkdtempSync(join(tmpdir(), "iam-name-"));
    const iam = join(dir, "spire-aws-iam");
    copyFileSync(BUNDLE, iam);
    chmodSync(iam, 0o755);
    try {
      for (const side of ["server", "agent"]) {
        // aws_iam's own required keys: Configure succeeds only if aws_iam was selected.
        const config =
          side === "server"
            ? 'allowed_account_ids = ["123456789012"]\nserver_id_header_value = "spire.example.org"'
            : 'region = "us-east-1"\nserver_id_header_value = "spire.example.org"';
        const run = runHost(["load", "-side", side, "-config", config, "--", iam]);
        expect(run.status, run.stderr).toBe(0);
        expect(pluginLogs(run).find((l) => l.message === "Plugin started")?.fields).toMatchObject({
          method: "aws_iam",
        });
        expect(of(run, "configure")[0]?.code).toBe("OK");
      }
      // An aws_iam-only key under the aws_iid name is refused: the name, not the config, decides.
      const iid = runHost([
        "load",
        "-side",
        "server",
        "-config",
        'server_id_header_value = "x"',
        "--",
        BUNDLE,
      ]);
      expect(of(iid, "configure")[0]).toMatchObject({ code: "InvalidArgument" });
      expect(String(of(iid, "configure")[0]?.message)).toContain('unknown key "server_id_header_value"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("plugin_args that contradict the host: loads as told, with a warning that names the host's side", () => {
    const run = runHost(["load", "-side", "server", "--", BUNDLE, "agent"]);
    const warn = pluginLogs(run).find((l) => String(l.message).includes("plugin_args say"));
    expect(warn?.level).toBe("warn");
    expect(String(warn?.message)).toContain("SPIRE server");
    // SPIRE's server binds nothing from an agent-side plugin: "no supported plugin interface".
    expect(of(run, "error")[0]?.message).toMatch(/no supported plugin interface/);
  });
});

describe("bad input under the go-plugin host", () => {
  it("unwritable socket dir: load fails fast with the reason logged at ERROR", () => {
    const dir = mkdtempSync(join(tmpdir(), "ro-"));
    chmodSync(dir, 0o500);
    try {
      const run = runHost(["load", "--", BUNDLE, "server"], { PLUGIN_UNIX_SOCKET_DIR: join(dir, "nope") });
      expect(run.status).toBe(1);
      expect(pluginLogs(run).find((l) => String(l.message).includes("cannot start"))?.level).toBe("error");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a host that never sends ConnInfo still loads and unloads (host services unused)", () => {
    const run = runHost(["load", "-no-host-services", "--", BUNDLE, "server"]);
    expect(run.status).toBe(0);
    expect(of(run, "unloaded")[0]?.graceful).toBe(true);
  });

  it("Shutdown during an in-flight RPC: the stream ends with a status, the unload is graceful", () => {
    const run = runHost(["load", "-inflight", "--", BUNDLE, "server"]);
    expect(run.status).toBe(0);
    expect(of(run, "inflight_done")[0]?.code).toMatch(/Unavailable|Canceled/);
    expect(of(run, "unloaded")[0]?.graceful).toBe(true);
  });
});
