/**
 * The loopback guard (test/loopback-guard.cjs) trips: in this worker, in a Node child spawned
 * the ordinary way, for the agent's default IMDS address and for the AWS SDK's credential
 * chain — and loopback traffic still flows. Each deliberate refusal is logged to a private
 * file, not the run's, so it does not fail the run (test/global-setup.ts).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImdsClient } from "../src/agent/imds-client";

let dir: string;
let log: string;
let runLog: string | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "loopback-guard-spec-"));
  log = join(dir, "refusals.jsonl");
  writeFileSync(log, "");
  runLog = process.env.LOOPBACK_GUARD_LOG;
  process.env.LOOPBACK_GUARD_LOG = log;
});
afterEach(() => {
  if (runLog === undefined) delete process.env.LOOPBACK_GUARD_LOG;
  else process.env.LOOPBACK_GUARD_LOG = runLog;
  rmSync(dir, { recursive: true, force: true });
});

const refusals = (): string[] =>
  readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as { refused: string }).refused);

function connectError(host: string, port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      reject(new Error(`connected to ${host}:${port}`));
    });
    socket.once("error", resolve);
  });
}

describe("loopback guard", () => {
  it("is armed in this worker and exported to children through NODE_OPTIONS", () => {
    expect(process.env.NODE_OPTIONS).toContain("loopback-guard.cjs");
    expect(process.env.AWS_EC2_METADATA_DISABLED).toBe("true");
  });

  it("refuses TCP to a non-loopback address before any packet leaves, and logs it", async () => {
    const err = await connectError("192.0.2.1", 9);
    expect(err.code).toBe("ELOOPBACKGUARD");
    expect(err.message).toContain("192.0.2.1:9");
    expect(refusals()).toEqual(["a TCP connection to 192.0.2.1:9"]);
  });

  it("refuses fetch to instance metadata and to a named AWS endpoint (no DNS query either)", async () => {
    const imds = await fetch("http://169.254.169.254/latest/api/token", { method: "PUT" }).catch(
      (e: Error) => e,
    );
    expect((imds as Error & { cause?: { code?: string } }).cause?.code).toBe("ELOOPBACKGUARD");
    const sts = await fetch("https://sts.amazonaws.com/").catch((e: Error) => e);
    expect((sts as Error & { cause?: { code?: string } }).cause?.code).toBe("ELOOPBACKGUARD");
    expect(refusals()).toEqual([
      "a TCP connection to 169.254.169.254:80",
      "a TCP connection to sts.amazonaws.com:443",
    ]);
    const lookup = await import("node:dns")
      .then((dns) => dns.promises.lookup("sts.amazonaws.com"))
      .catch((e: NodeJS.ErrnoException) => e);
    expect((lookup as NodeJS.ErrnoException).code).toBe("ELOOPBACKGUARD");
    expect(refusals()[2]).toBe("a DNS lookup of sts.amazonaws.com");
  });

  it("lets loopback through", async () => {
    const server: Server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as { port: number };
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
      expect(await (await fetch(`http://localhost:${port}/`).catch(() => undefined))?.text()).toBe("ok");
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(refusals()).toEqual([]);
  });

  it("trips in a Node child spawned with the inherited environment", async () => {
    const script =
      "require('node:net').connect(80, '169.254.169.254').on('error', (e) => { console.log(e.code); });";
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["-e", script], { env: process.env, timeout: 30_000 }, (err, out) =>
        err ? reject(err) : resolve(out.trim()),
      ),
    );
    expect(stdout).toBe("ELOOPBACKGUARD");
    expect(refusals()).toEqual(["a TCP connection to 169.254.169.254:80"]);
  });

  it("stops the agent's IMDS client at its default address (169.254.169.254)", async () => {
    // An empty environment: no endpoint override, IMDS not disabled; the default address is used.
    const client = new ImdsClient({ env: {}, maxAttempts: 1, timeoutMs: 5_000, disableV1Fallback: false });
    expect(client.endpoint.baseUrl).toContain("169.254.169.254");
    await expect(client.fetchInstanceIdentity()).rejects.toThrow();
    expect(refusals()[0]).toBe("a TCP connection to 169.254.169.254:80");
  });

  it("keeps the AWS SDK's credential chain away from instance metadata", async () => {
    const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) {
      if (k.startsWith("AWS_") && k !== "AWS_EC2_METADATA_DISABLED" && !k.endsWith("_FILE")) {
        delete process.env[k];
      }
    }
    try {
      await expect(fromNodeProviderChain()()).rejects.toThrow();
    } finally {
      Object.assign(process.env, saved);
    }
    // AWS_EC2_METADATA_DISABLED: the chain gave up without even trying the address.
    expect(refusals()).toEqual([]);
  });
});
