/**
 * In-process aws_iam rig: the agent plugin and the server plugin talk through the contracts
 * (AttestRequestContext.challenge <-> AgentAttestorPlugin.respondToChallenge) and the server
 * forwards to a loopback fake STS that verifies SigV4 for real.
 */

import { silentLogger } from "../../src/common/logger";
import { noopMetrics } from "../../src/common/metrics";
import { createIamAgentPluginWith, type IamAgentPluginOptions } from "../../src/iam/agent-plugin";
import { createIamServerPluginWith, type IamServerPluginOptions } from "../../src/iam/server-plugin";
import type { SignedStsRequest } from "../../src/iam/wire";
import { decodeSignedRequest, encodeSignedRequest } from "../../src/iam/wire";
import type {
  AgentAttestorPlugin,
  AgentAttributes,
  AttestRequestContext,
  PluginEnvironment,
  ServerAttestorPlugin,
} from "../../src/spire/contracts";
import { AwsFakeServer } from "../../src/testkit/aws-fake/server";
import { FakeSts, type IssuedCredentials } from "../../src/testkit/aws-fake/sts";

export const ACCOUNT = "111122223333";
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/spire-node`;
export const TRUST_DOMAIN = "example.org";

export function testEnvironment(): PluginEnvironment {
  return {
    logger: silentLogger,
    hostServices: { agentStore: undefined, metrics: noopMetrics },
    setLogLevel(): void {},
  };
}

export interface Rig {
  fake: AwsFakeServer;
  sts: FakeSts;
  creds: IssuedCredentials;
  close(): Promise<void>;
}

export async function startRig(): Promise<Rig> {
  const sts = new FakeSts();
  sts.verifySignatures = true;
  const fake = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
  fake.register(sts);
  const creds = sts.issueRoleCredentials(ROLE_ARN, "i-0123456789abcdef0");
  return { fake, sts, creds, close: () => fake.close() };
}

export async function serverPlugin(
  rig: Rig,
  hcl: string,
  options: IamServerPluginOptions = {},
): Promise<ServerAttestorPlugin> {
  const plugin = createIamServerPluginWith(testEnvironment(), {
    env: { AWS_ENDPOINT_URL_STS: rig.fake.url },
    ...options,
  });
  await plugin.configure({ trustDomain: TRUST_DOMAIN }, hcl);
  return plugin;
}

export async function agentPlugin(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  hcl = 'region = "us-east-1"',
  options: IamAgentPluginOptions = {},
): Promise<AgentAttestorPlugin> {
  const plugin = createIamAgentPluginWith(testEnvironment(), {
    env: {},
    credentials: async () => creds,
    ...options,
  });
  await plugin.configure({ trustDomain: TRUST_DOMAIN }, hcl);
  return plugin;
}

export type Tamper = (req: SignedStsRequest) => void;

export interface AttestOptions {
  /** Edit the agent's signed request before the server sees it. */
  tamper?: Tamper;
  /** Replace the response bytes entirely. */
  respond?: (challenge: Uint8Array) => Promise<Uint8Array>;
  /** Give the agent other bytes than the server's challenge. */
  challengeForAgent?: (challenge: Uint8Array) => Uint8Array;
  payload?: Uint8Array;
  /** Receives the response bytes the server got (for replay tests). */
  capture?: (bytes: Uint8Array) => void;
}

export async function attest(
  server: ServerAttestorPlugin,
  agent: AgentAttestorPlugin,
  opts: AttestOptions = {},
): Promise<AgentAttributes> {
  const controller = new AbortController();
  const payload = opts.payload ?? (await agent.payload(controller.signal));
  const ctx: AttestRequestContext = {
    payload,
    metadata: { forwardedClientIp: undefined, untrustedForwardedHost: undefined },
    signal: controller.signal,
    async challenge(data: Uint8Array): Promise<Uint8Array> {
      let bytes: Uint8Array;
      if (opts.respond !== undefined) {
        bytes = await opts.respond(data);
      } else {
        const forAgent = opts.challengeForAgent?.(data) ?? data;
        bytes = await agent.respondToChallenge(forAgent, controller.signal);
        if (opts.tamper !== undefined) {
          const req = decodeSignedRequest(bytes);
          opts.tamper(req);
          bytes = encodeSignedRequest(req);
        }
      }
      opts.capture?.(bytes);
      return bytes;
    },
  };
  try {
    return await server.attest(ctx);
  } finally {
    controller.abort();
  }
}
