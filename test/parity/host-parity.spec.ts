/**
 * SPIRE aws_iid behaviours at the process boundary (docs/parity.md): the built bundle under
 * the SPIRE-like host, one plugin process for the file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/common/errors";
import { type Scenario, startScenario } from "../../src/testkit/scenario";
import { loadPlugin, type SpireHost } from "../../src/testkit/spire-host";
import { type PrivateBundle, privateBundle } from "../e2e/bundle";

let bundle: PrivateBundle;
let scenario: Scenario;
let server: SpireHost;

beforeAll(async () => {
  bundle = privateBundle();
  scenario = await startScenario();
  server = await loadPlugin({
    command: bundle.path,
    args: ["server"],
    side: "server",
    env: scenario.env(),
    trustDomain: "example.org",
    config: scenario.pluginData(),
  });
});

afterAll(async () => {
  await server?.unload();
  await scenario?.close();
  bundle?.remove();
});

describe("parity at the plugin's gRPC boundary", () => {
  it("a first message with an empty payload: InvalidArgument 'missing attestation payload' (SPIRE flow step 1)", async () => {
    expect(await server.attest(new Uint8Array())).toMatchObject({
      ok: false,
      code: Code.InvalidArgument,
      details: "missing attestation payload",
    });
  });

  it("AgentStore not ready (SPIRE still loading): the host's FailedPrecondition as 'unable to get agent info: …'", async () => {
    server.agentStore.initialized = false;
    try {
      const outcome = await server.attest(scenario.addNode().payload);
      expect(outcome).toMatchObject({ ok: false, code: Code.FailedPrecondition });
      expect(outcome.ok ? "" : outcome.details).toMatch(/^unable to get agent info: /);
    } finally {
      server.agentStore.initialized = true;
    }
    // Once SPIRE is ready the same node attests (the TOFU lookup failure recorded nothing).
    await expect(server.attest(scenario.addNode().payload)).resolves.toMatchObject({ ok: true });
  });
});
