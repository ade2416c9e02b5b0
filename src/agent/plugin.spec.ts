import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, PluginError } from "../common/errors";
import { silentLogger } from "../common/logger";
import { noopMetrics } from "../common/metrics";
import { decodeAttestationPayload } from "../iid/payload";
import { verifyInstanceIdentity } from "../iid/verify";
import type { AgentAttestorPlugin, PluginEnvironment } from "../spire/contracts";
import { type FakeImds, startFakeImds } from "../testkit/fake-imds";
import { buildIidDocument, getTestCa } from "../testkit/test-ca";
import { createAgentPlugin, createAgentPluginWith } from "./plugin";
import { realIdentity, realPayloadGolden } from "./testdata/vectors";

const core = { trustDomain: "example.org" };

let imds: FakeImds;
const levels: string[] = [];

const env: PluginEnvironment = {
  logger: silentLogger,
  hostServices: { agentStore: undefined, metrics: noopMetrics },
  setLogLevel: (level) => levels.push(level),
};

beforeAll(async () => {
  imds = await startFakeImds({ identity: realIdentity });
});

afterAll(async () => {
  await imds.close();
});

function plugin(processEnv: Record<string, string> = {}): AgentAttestorPlugin {
  return createAgentPluginWith(env, { processEnv });
}

async function failure(p: Promise<unknown>): Promise<PluginError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PluginError) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("agent plugin", () => {
  it("sends SPIRE's exact payload for the instance, read from IMDS", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}/latest"`);
    const payload = await p.payload(new AbortController().signal);
    expect(Buffer.from(payload).equals(Buffer.from(realPayloadGolden))).toBe(true);
    // What the server side decodes is the served document, byte for byte.
    const decoded = decodeAttestationPayload(payload);
    expect(Buffer.from(decoded.document, "utf8").equals(Buffer.from(realIdentity.document))).toBe(true);
    await p.close();
  });

  it("takes the endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT when the config has none", async () => {
    const p = plugin({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url });
    await p.configure(core, "");
    expect((await p.payload(new AbortController().signal)).length).toBeGreaterThan(0);
  });

  it("refuses to attest before configure", async () => {
    const err = await failure(plugin().payload(new AbortController().signal));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toBe("not configured");
  });

  it("rejects bad configuration with InvalidArgument and keeps the previous one", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}"`);
    const err = await failure(p.configure(core, `ec2_metadata_endpoint = "ftp://x"\nimds_retries = "many"`));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain("ec2_metadata_endpoint");
    expect((await p.payload(new AbortController().signal)).length).toBeGreaterThan(0);
  });

  it("rejects an unknown AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE at configure time", async () => {
    const err = await failure(plugin({ AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "dual" }).configure(core, ""));
    expect(err.code).toBe(Code.InvalidArgument);
  });

  it("validates without applying", async () => {
    const p = plugin();
    expect(await p.validate(core, `disable_imdsv1_fallback = true`)).toEqual({ valid: true, notes: [] });
    const bad = await p.validate(core, `imds_timeout = "soon"`);
    expect(bad.valid).toBe(false);
    expect(bad.notes.join(" ")).toContain("imds_timeout");
    const env = await plugin({ AWS_EC2_METADATA_V1_DISABLED: "maybe" }).validate(core, "");
    expect(env.valid).toBe(false);
    expect((await failure(p.payload(new AbortController().signal))).message).toBe("not configured");
  });

  it("applies imds_retries, imds_timeout and log_level", async () => {
    const p = plugin();
    await p.configure(
      core,
      `ec2_metadata_endpoint = "${imds.url}"\nimds_retries = 1\nimds_timeout = "200ms"\nlog_level = "warn"`,
    );
    expect(levels.at(-1)).toBe("warn");
    imds.resetLog();
    const undo = imds.faults.add({ service: "imds", action: "document" }, { kind: "hang" });
    try {
      const err = await failure(p.payload(new AbortController().signal));
      expect(err.code).toBe(Code.Unavailable);
      expect(imds.count("document")).toBe(2);
    } finally {
      undo();
    }
  });

  it("makes 3 attempts per IMDS request by default, like aws-sdk-go-v2's IMDS client", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}"`);
    imds.resetLog();
    const undo = imds.faults.add({ service: "imds", action: "document" }, { kind: "status", status: 500 });
    try {
      const err = await failure(p.payload(new AbortController().signal));
      expect(err.code).toBe(Code.Unavailable);
      expect(imds.count("document")).toBe(3);
    } finally {
      undo();
    }
  });

  it("honours disable_imdsv1_fallback", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}"\ndisable_imdsv1_fallback = true`);
    imds.setMode("v1-allowed");
    const undo = imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 404 });
    try {
      const err = await failure(p.payload(new AbortController().signal));
      expect(err.message).toContain("IMDSv1 fallback is disabled");
    } finally {
      undo();
      imds.setMode("v2-required");
    }
  });

  it("ends with Cancelled when SPIRE cancels the stream", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}"\nimds_timeout = "30s"`);
    const undo = imds.faults.add({ service: "imds", action: "rsa2048" }, { kind: "hang" });
    try {
      const controller = new AbortController();
      const pending = p.payload(controller.signal);
      setTimeout(() => controller.abort(), 50);
      expect((await failure(pending)).code).toBe(Code.Cancelled);
    } finally {
      undo();
    }
  });

  it("refuses a challenge: aws_iid has no challenge step", async () => {
    const p = createAgentPlugin(env);
    await p.configure(core, "");
    const err = await failure(p.respondToChallenge(new Uint8Array([1]), new AbortController().signal));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("no challenge");
  });
});

describe("agent payload verified by the server-side verifier", () => {
  it("verifies for an identity signed by the test CA, in both signature kinds", async () => {
    const ca = getTestCa();
    const document = buildIidDocument({ region: "eu-west-1" });
    const signed = ca.sign(document);
    const own = await startFakeImds({ identity: signed });
    try {
      const p = plugin();
      await p.configure(core, `ec2_metadata_endpoint = "${own.url}"`);
      const payload = await p.payload(new AbortController().signal);
      const store = ca.store(["eu-west-1"], { embedded: false });
      for (const kind of ["rsa2048", "rsa"] as const) {
        const verified = await verifyInstanceIdentity(payload, { store, kind });
        expect(Buffer.from(verified.documentBytes).toString("utf8")).toBe(document);
      }
      expect(own.count("pkcs7")).toBe(0);
    } finally {
      await own.close();
    }
  });

  it("verifies for the real AWS vector against the embedded AWS certificates", async () => {
    const p = plugin();
    await p.configure(core, `ec2_metadata_endpoint = "${imds.url}"`);
    const payload = await p.payload(new AbortController().signal);
    const store = getTestCa().store([], { embedded: true });
    const verified = await verifyInstanceIdentity(payload, { store, kind: "rsa2048" });
    expect(verified.document.instanceId).toBe("i-0a30e04d85e6f8793");
  });
});
