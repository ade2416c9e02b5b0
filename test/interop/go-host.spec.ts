/**
 * Interop with a real go-plugin host: test/interop/host (hashicorp go-plugin 1.0.1 from
 * Debian, plus the GRPCStdio stream go-plugin 1.8.0 opens, host services on broker id 1 like
 * SPIRE) launching dist/spire-aws-iid with SPIRE's handshake config.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = resolve(__dirname, "../..");
const BIN_DIR = join(root, "test", "interop", "bin");
const HOST = join(BIN_DIR, "spire-host-go");
// A private copy: a concurrent `npm run build` in the same tree must not swap the file under
// a running test (go-plugin hashes it on every launch).
const BUNDLE = join(mkdtempSync(join(tmpdir(), "bundle-")), "spire-aws-iid");
copyFileSync(join(root, "dist", "spire-aws-iid"), BUNDLE);
chmodSync(BUNDLE, 0o755);
const FIXTURE = join(BIN_DIR, "scripted-plugin");
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
const pluginLogs = (run: HostRun): HostEvent[] =>
  run.events.filter((e) => e.event === "log" && String(e.module).startsWith("host.") && e.module !== "host");

beforeAll(() => {
  mkdirSync(BIN_DIR, { recursive: true });
  const build = spawnSync("go", ["build", "-o", HOST, "./test/interop/host"], {
    cwd: root,
    env: { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "" },
    encoding: "utf8",
  });
  if (build.status !== 0) {
    throw new Error(
      `building the Go host failed (needs golang-go, golang-github-hashicorp-go-plugin-dev, golang-google-grpc-dev):\n${build.stderr}${build.error ?? ""}`,
    );
  }
});

describe("go-plugin host (Debian 1.0.1 + 1.8.0 stdio)", () => {
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
    const err = pluginLogs(bad).find((l) => String(l.message).includes("unknown plugin side"));
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
