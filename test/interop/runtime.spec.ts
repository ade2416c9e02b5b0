/**
 * The plugin runtime as a process, driven by the TypeScript SPIRE-like host: the real bundle
 * (interim attestors) and a scripted fixture built on the same runtime.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code } from "../../src/common/errors";
import { loadPlugin, RpcError, SpireHost } from "../../src/testkit/spire-host";

const root = resolve(__dirname, "../..");
// A private copy: a concurrent `npm run build` in the same tree must not swap the file under
// a running test (go-plugin hashes it on every launch).
const BUNDLE = join(mkdtempSync(join(tmpdir(), "bundle-")), "spire-aws-iid");
copyFileSync(join(root, "dist", "spire-aws-iid"), BUNDLE);
chmodSync(BUNDLE, 0o755);
const FIXTURE = join(root, "test", "interop", "bin", "scripted-plugin");
const enc = new TextEncoder();
const dec = new TextDecoder();

const hosts: SpireHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.kill()));
});
function track(h: SpireHost): SpireHost {
  hosts.push(h);
  return h;
}

describe("bundle", () => {
  it("loads, configures and unloads gracefully on both sides, silent on stdout", async () => {
    for (const side of ["server", "agent"] as const) {
      const host = track(await SpireHost.start({ command: BUNDLE, args: [side], side }));
      expect(host.handshake.line).toMatch(/^1\|1\|unix\|\/.+\/plugin\.sock\|grpc\|$/);
      const names = await host.init();
      expect(names).toEqual([
        `spire.plugin.${side}.nodeattestor.v1.NodeAttestor`,
        "spire.service.common.config.v1.Config",
      ]);
      await host.configure("");
      const exit = await host.unload();
      expect(exit).toMatchObject({ graceful: true, exitCode: 0, deinitError: undefined });
      expect(host.stdoutAfterHandshake).toEqual([]);
      expect(host.stdioMessages).toBe(0);
      expect(host.logs.filter((l) => l.problem !== undefined)).toEqual([]);
      expect(existsSync(dirname(host.handshake.socketPath))).toBe(false);
    }
  });

  it("answers FailedPrecondition before Configure, and the attestor's own status after", async () => {
    const host = track(await SpireHost.start({ command: BUNDLE, args: ["server"], side: "server" }));
    await host.init();
    const before = await host.attest(enc.encode("x"));
    expect(before).toMatchObject({ ok: false, code: Code.FailedPrecondition, details: "not configured" });
    const validated = await host.validate("");
    expect(validated.valid).toBe(true);
    await host.configure("");
    // "x" is no attestation payload: whatever the attestor says, it is not "not configured".
    const after = await host.attest(enc.encode("x"));
    expect(after.ok).toBe(false);
    expect(after.ok ? 0 : after.code).not.toBe(Code.FailedPrecondition);
  });

  it("honours PLUGIN_UNIX_SOCKET_DIR and removes the socket on exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sockdir-"));
    try {
      const host = track(
        await SpireHost.start({
          command: BUNDLE,
          args: ["agent"],
          side: "agent",
          env: { PLUGIN_UNIX_SOCKET_DIR: dir },
        }),
      );
      expect(host.handshake.socketPath.startsWith(`${dir}/`)).toBe(true);
      await host.init();
      expect((await host.unload()).graceful).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("serves go-plugin AutoMTLS when PLUGIN_CLIENT_CERT is set (certificate in field 6)", async () => {
    const host = track(
      await SpireHost.start({
        command: BUNDLE,
        args: ["server"],
        side: "server",
        env: { PLUGIN_CLIENT_CERT: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
        sendConnInfo: false,
      }),
    ).handshake;
    expect(host.serverCert.length).toBeGreaterThan(50);
    expect(host.serverCert).not.toContain("=");
    const der = Buffer.from(host.serverCert, "base64");
    const { X509Certificate } = await import("node:crypto");
    const cert = new X509Certificate(der);
    expect(cert.subjectAltName).toContain("DNS:localhost");
  });
});

describe("bad input", () => {
  const run = (args: string[], env: Record<string, string | undefined>) =>
    spawnSync(BUNDLE, args, {
      env: { ...process.env, NodeAttestor: undefined, ...env },
      encoding: "utf8",
      timeout: 30_000,
    });

  it("missing magic cookie: go-plugin's message, exit 1, nothing on stdout", () => {
    const r = run(["server"], {});
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("This binary is a plugin. These are not meant to be executed directly.");
  });

  it("unknown plugin_args: an hclog error line, exit 2", () => {
    const r = run(["bogus"], { NodeAttestor: "NodeAttestor" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    const line = JSON.parse(r.stderr.trim().split("\n")[0] ?? "{}") as Record<string, string>;
    expect(line["@level"]).toBe("error");
    expect(line["@message"]).toContain('unknown plugin_args "bogus"');
  });

  it("unwritable socket dir: an hclog error line, exit 1, no stack", () => {
    const dir = mkdtempSync(join(tmpdir(), "ro-"));
    chmodSync(dir, 0o500);
    try {
      const r = run(["server"], {
        NodeAttestor: "NodeAttestor",
        PLUGIN_UNIX_SOCKET_DIR: join(dir, "missing"),
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      const line = JSON.parse(r.stderr.trim()) as Record<string, string>;
      expect(line["@level"]).toBe("error");
      expect(line["@message"]).toContain("cannot start the aws_iid plugin");
      expect(r.stderr).not.toContain("    at ");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a host that never sends ConnInfo: AgentStore fails with a clear Internal, no hang", async () => {
    const host = track(
      await loadPlugin({ command: FIXTURE, args: ["server"], side: "server", sendConnInfo: false }),
    );
    const r = await host.attest(enc.encode("agentstore:spiffe://example.org/spire/agent/x"));
    expect(r).toMatchObject({ ok: false, code: Code.Internal });
    expect(r.ok ? "" : r.details).toContain("no broker ConnInfo");
    expect((await host.unload()).graceful).toBe(true);
  });

  it("Shutdown during an in-flight Attest: the stream gets a status, the process exits gracefully", async () => {
    const host = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    const pending = host.attest(enc.encode("hang"));
    await new Promise((r) => setTimeout(r, 200));
    const exit = await host.unload();
    expect(exit.graceful).toBe(true);
    const outcome = await pending;
    expect(outcome.ok).toBe(false);
  });
});

describe("scripted attestors over the runtime", () => {
  it("round-trips challenges and maps SPIRE's metadata", async () => {
    const host = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    const r = await host.attest(enc.encode("challenges:3"), {
      respond: (c) => enc.encode(dec.decode(c).replace("c", "r")),
      metadata: { "x-forwarded-client-ip": "10.1.2.3", "x-untrusted-forwarded-host": "spire.example" },
    });
    expect(r).toMatchObject({
      ok: true,
      attributes: {
        spiffeId: "spiffe://example.org/spire/agent/scripted/1",
        selectorValues: ["ip:10.1.2.3", "host:spire.example", "turns:3"],
      },
    });
    expect(r.challenges.map((c) => dec.decode(c))).toEqual(["c0", "c1", "c2"]);
  });

  it("agent -> server round trip with relayed challenges", async () => {
    const agent = track(await loadPlugin({ command: FIXTURE, args: ["agent"], side: "agent" }));
    const server = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    const session = await agent.aidAttestation();
    expect(dec.decode(session.payload)).toBe("agent-payload");
    const r = await server.attest(enc.encode("challenges:2"), { respond: (c) => session.respond(c) });
    session.close();
    expect(r.ok).toBe(true);
    expect((await agent.unload()).graceful).toBe(true);
    expect((await server.unload()).graceful).toBe(true);
  });

  it("maps errors: PluginError keeps its code, anything else is Internal without details", async () => {
    const host = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    expect(await host.attest(enc.encode("deny"))).toMatchObject({ ok: false, code: Code.PermissionDenied });
    const thrown = await host.attest(enc.encode("throw"));
    expect(thrown).toMatchObject({ ok: false, code: Code.Internal });
    expect(thrown.ok ? "" : thrown.details).not.toContain("secret");
    expect(host.logs.some((l) => l.level === "error" && l.fields.error === "boom: secret detail")).toBe(true);
    const double = await host.attest(enc.encode("double-challenge"), { respond: () => enc.encode("r0") });
    expect(double).toMatchObject({ ok: true });
    expect(double.ok && double.attributes.selectorValues).toEqual([
      "answer:r0",
      `second:refused:${Code.Internal}`,
    ]);
  });

  it("AgentStore over broker id 1: OK, NotFound, FailedPrecondition passthrough", async () => {
    const id = "spiffe://example.org/spire/agent/scripted/known";
    const host = track(
      await loadPlugin({ command: FIXTURE, args: ["server"], side: "server", agents: [id] }),
    );
    expect(await host.attest(enc.encode(`agentstore:${id}`))).toMatchObject({
      ok: true,
      attributes: { selectorValues: ["exists:true"] },
    });
    expect(await host.attest(enc.encode("agentstore:other"))).toMatchObject({
      ok: true,
      attributes: { selectorValues: ["exists:false"] },
    });
    host.agentStore.initialized = false;
    expect(await host.attest(enc.encode(`agentstore:${id}`))).toMatchObject({
      ok: false,
      code: Code.FailedPrecondition,
    });
    expect(host.agentStore.calls).toEqual([id, "other", id]);
  });

  it("Metrics reach the host service", async () => {
    const host = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    expect((await host.attest(enc.encode("metrics"))).ok).toBe(true);
    // Aggregated in the plugin and flushed every second (METRICS_FLUSH_INTERVAL_MS).
    for (let i = 0; i < 500 && host.metrics.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(host.metrics.map((m) => m.method).sort()).toEqual([
      "AddSample",
      "IncrCounter",
      "MeasureSince",
      "SetGauge",
    ]);
    const counter = host.metrics.find((m) => m.method === "IncrCounter");
    expect(counter).toMatchObject({
      key: ["attest", "count"],
      value: 1,
      labels: [{ name: "result", value: "ok" }],
    });
  });

  it("config: failed reconfigure keeps the plugin configured; Validate works without Configure", async () => {
    const host = track(await SpireHost.start({ command: FIXTURE, args: ["server"], side: "server" }));
    await host.init();
    expect(await host.validate("bad")).toEqual({ valid: false, notes: ["bad"] });
    await expect(host.configure("fail")).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(await host.attest(enc.encode("deny"))).toMatchObject({ code: Code.FailedPrecondition });
    await host.configure("");
    await expect(host.configure("fail")).rejects.toBeInstanceOf(RpcError);
    expect(await host.attest(enc.encode("deny"))).toMatchObject({ code: Code.PermissionDenied });
  });

  it("hostile log calls produce only lines SPIRE parses at their level; log_level applies at runtime", async () => {
    const host = track(await loadPlugin({ command: FIXTURE, args: ["server"], side: "server" }));
    expect((await host.attest(enc.encode("log"))).ok).toBe(true);
    await host.configure('log_level = "WARN"');
    expect((await host.attest(enc.encode("log"))).ok).toBe(true);
    await host.unload();
    const bad = host.logs.filter((l) => l.problem !== undefined);
    expect(bad).toEqual([]);
    const levels = host.logs.filter(
      (l) => ["t", "d", "i", "w"].includes(l.message) || l.message.startsWith("eee"),
    );
    expect(levels.map((l) => l.level)).toEqual(["trace", "debug", "info", "warn", "error", "warn", "error"]);
    const info = host.logs.find((l) => l.message === "i");
    expect(info?.fields).toMatchObject({
      "field@level": "42",
      n: "1.5",
      big: "10",
      nul: "null",
      err: "inner",
    });
    expect(host.stdoutAfterHandshake).toEqual([]);
    expect(host.logs.some((l) => l.message === "stray console.log" && l.level === "debug")).toBe(true);
  });
});
