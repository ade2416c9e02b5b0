import { describe, expect, it } from "vitest";
import { Code, type PluginError } from "../common/errors";
import { signGetCallerIdentity } from "./sign-request";
import { knownStsEndpoints, type StsEndpoint } from "./sts-endpoints";
import { MAX_SIGNING_SKEW_MS, verifySignedRequest } from "./verify-request";
import type { SignedStsRequest } from "./wire";

const endpoints = knownStsEndpoints(["aws"]);
const regional = endpoints.get("sts.eu-west-1.amazonaws.com")!;
const challenge = new Uint8Array(32).fill(7);
const expectedChallenge = Buffer.from(challenge).toString("base64");
const credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};
const NOW = Date.parse("2026-11-20T10:00:00Z");

async function signed(endpoint: StsEndpoint, signingDate = new Date(NOW)): Promise<SignedStsRequest> {
  return signGetCallerIdentity({ endpoint, credentials, challenge, serverId: undefined, signingDate });
}

function verify(req: SignedStsRequest, nowMs = NOW) {
  return verifySignedRequest(req, {
    expectedChallenge,
    serverId: undefined,
    endpoints,
    partitions: ["aws"],
    nowMs,
  });
}

function refusal(req: SignedStsRequest, nowMs = NOW): PluginError {
  try {
    verify(req, nowMs);
  } catch (err) {
    return err as PluginError;
  }
  throw new Error("expected a refusal");
}

describe("verifySignedRequest: the signing time window is symmetric", () => {
  it("accepts a request signed now, and at the edge of the window on either side", async () => {
    expect(verify(await signed(regional)).endpoint.host).toBe("sts.eu-west-1.amazonaws.com");
    verify(await signed(regional, new Date(NOW - MAX_SIGNING_SKEW_MS)));
    verify(await signed(regional, new Date(NOW + MAX_SIGNING_SKEW_MS)));
  });

  it("refuses an X-Amz-Date 10 minutes in the past", async () => {
    const err = refusal(await signed(regional, new Date(NOW - 10 * 60_000)));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/X-Amz-Date 20261120T095000Z is more than 5 minutes from the server's clock/);
  });

  it("refuses an X-Amz-Date 10 minutes in the future (a pre-signed request kept for later)", async () => {
    const err = refusal(await signed(regional, new Date(NOW + 10 * 60_000)));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/X-Amz-Date 20261120T101000Z is more than 5 minutes from the server's clock/);
  });
});

describe("verifySignedRequest: the credential scope must be the host's signing region", () => {
  it("refuses a request for sts.eu-west-1 whose signature is scoped to us-east-1", async () => {
    // STS verifies the signature against its own region; a scope that differs from the host's
    // means the request was made for some other endpoint, so it is refused before it is sent.
    const req = await signed({ ...regional, signingRegion: "us-east-1" });
    expect(req.headers.get("authorization")).toMatch(/\/us-east-1\/sts\/aws4_request/);
    const err = refusal(req);
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toBe(
      'signed request is scoped to region "us-east-1" but sts.eu-west-1.amazonaws.com expects eu-west-1',
    );
  });

  it("accepts the global endpoint scoped to us-east-1", async () => {
    expect(verify(await signed(endpoints.get("sts.amazonaws.com")!)).endpoint.kind).toBe("global");
  });
});
