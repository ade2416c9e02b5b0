/**
 * Fault injection through the agent attestor: every IMDS request the agent makes (token PUT,
 * document, both signatures) against each way the loopback IMDS can misbehave, on an
 * instance that requires IMDSv2. For each case the agent plugin fails within the configured
 * imds_timeout × attempts with a status naming the failed request — Unavailable for the
 * identity documents; for the token, FailedPrecondition, because like the AWS SDK the client
 * then falls back to IMDSv1, which a v2-only instance refuses with 401, and the message
 * explains both — and the same plugin instance then produces the signed document again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentPluginWith } from "../../src/agent/plugin";
import { Code, isPluginError } from "../../src/common/errors";
import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { decodeAttestationPayload } from "../../src/iid/payload";
import type { PluginEnvironment } from "../../src/spire/contracts";
import type { Fault } from "../../src/testkit/aws-fake/faults";
import { type FakeImds, type FakeImdsAction, startFakeImds } from "../../src/testkit/fake-imds";
import { buildIidDocument, getTestCa } from "../../src/testkit/test-ca";

const env: PluginEnvironment = {
  logger: silentLogger,
  hostServices: { agentStore: undefined, metrics: noopMetrics },
  setLogLevel: () => {},
};
const core = { trustDomain: "example.org" };

const document = buildIidDocument({ region: "us-west-2", pendingTime: "2026-01-01T00:00:00Z" });
const signed = getTestCa().sign(document);

let imds: FakeImds;
beforeAll(async () => {
  imds = await startFakeImds({
    identity: { document, signature: signed.signature, rsa2048: signed.rsa2048 },
    mode: "v2-required",
  });
});
afterAll(async () => {
  await imds?.close();
});

const ACTIONS: FakeImdsAction[] = ["token", "document", "signature", "rsa2048"];
const FAULTS: { name: string; fault: Fault }[] = [
  { name: "throttling", fault: { kind: "throttle" } },
  { name: "500", fault: { kind: "error", status: 500, code: "InternalError" } },
  { name: "bare 503", fault: { kind: "status", status: 503 } },
  { name: "hang", fault: { kind: "hang" } },
  { name: "slow drip", fault: { kind: "drip", bytesPerChunk: 1, intervalMs: 200 } },
  { name: "truncated body", fault: { kind: "truncate" } },
  { name: "connection reset", fault: { kind: "reset" } },
];

async function outcome(
  p: Promise<Uint8Array>,
): Promise<{ code: number; message: string; payload?: Uint8Array }> {
  try {
    return { code: Code.OK, message: "", payload: await p };
  } catch (err) {
    if (isPluginError(err)) return { code: err.code, message: err.message };
    throw err;
  }
}

describe("agent attestor under IMDS faults", () => {
  it.each(ACTIONS.flatMap((a) => FAULTS.map((f) => [a, f.name, f.fault] as const)))(
    "%s / %s: a status naming the request, then a good payload from the same plugin",
    async (action, _name, fault) => {
      const plugin = createAgentPluginWith(env, { processEnv: {} });
      try {
        await plugin.configure(
          core,
          `ec2_metadata_endpoint = "${imds.url}"\nimds_timeout = "300ms"\nimds_retries = 1`,
        );
        const remove = imds.faults.add({ service: "imds", action }, fault);
        let failed: Awaited<ReturnType<typeof outcome>>;
        try {
          failed = await outcome(plugin.payload(new AbortController().signal));
        } finally {
          remove();
        }
        if (action === "token") {
          expect(failed.code, failed.message).toBe(Code.FailedPrecondition);
          expect(failed.message).toMatch(/IMDSv2 token could not be obtained/);
        } else {
          expect(failed.code, failed.message).toBe(Code.Unavailable);
          expect(failed.message).toMatch(/IMDS/);
        }

        const after = await outcome(plugin.payload(new AbortController().signal));
        expect(after.code, after.message).toBe(Code.OK);
        const decoded = decodeAttestationPayload(after.payload ?? new Uint8Array());
        expect(decoded.document).toBe(document);
      } finally {
        await plugin.close();
      }
    },
  );

  it("a malformed 200 document is passed through unchanged: the server's signature check refuses it", async () => {
    const plugin = createAgentPluginWith(env, { processEnv: {} });
    try {
      await plugin.configure(core, `ec2_metadata_endpoint = "${imds.url}"\nimds_timeout = "300ms"`);
      const remove = imds.faults.add({ service: "imds", action: "document" }, { kind: "malformed" });
      let r: Awaited<ReturnType<typeof outcome>>;
      try {
        r = await outcome(plugin.payload(new AbortController().signal));
      } finally {
        remove();
      }
      // The agent cannot judge the document (it holds no AWS certificates); it must not crash,
      // and whatever it sends is not the signed document.
      if (r.code === Code.OK) {
        expect(decodeAttestationPayload(r.payload ?? new Uint8Array()).document).not.toBe(document);
      } else {
        expect([Code.Unavailable, Code.FailedPrecondition]).toContain(r.code);
      }
      const after = await outcome(plugin.payload(new AbortController().signal));
      expect(after.code, after.message).toBe(Code.OK);
    } finally {
      await plugin.close();
    }
  });
});
