import { describe, expect, it } from "vitest";
import { Code, type PluginError } from "../common/errors";
import { signGetCallerIdentity } from "./sign-request";
import { knownStsEndpoints, type StsEndpoint } from "./sts-endpoints";
import { MAX_SIGNING_SKEW_MS, verifySignedRequest } from "./verify-request";
import { GET_CALLER_IDENTITY_BODY, type SignedStsRequest } from "./wire";

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

/** The request with its Authorization header rewritten (STS would refuse the signature; we refuse first). */
function withAuthorization(req: SignedStsRequest, edit: (auth: string) => string): SignedStsRequest {
  const headers = new Map(req.headers);
  headers.set("authorization", edit(headers.get("authorization")!));
  return { ...req, headers };
}

function withHeader(req: SignedStsRequest, name: string, value: string | undefined): SignedStsRequest {
  const headers = new Map(req.headers);
  if (value === undefined) headers.delete(name);
  else headers.set(name, value);
  return { ...req, headers };
}

/** Adds a name to SignedHeaders (kept sorted is not needed: we never recompute the signature). */
function signing(req: SignedStsRequest, name: string, value: string): SignedStsRequest {
  return withAuthorization(withHeader(req, name, value), (a) =>
    a.replace("SignedHeaders=", `SignedHeaders=${name};`),
  );
}

function unsigning(req: SignedStsRequest, name: string): SignedStsRequest {
  return withAuthorization(req, (a) =>
    a.replace(/SignedHeaders=([^,]*)/, (_, list: string) => {
      return `SignedHeaders=${list
        .split(";")
        .filter((h) => h !== name)
        .join(";")}`;
    }),
  );
}

describe("verifySignedRequest: each check refuses on its own", () => {
  // Every case starts from a genuine request (accepted below) and changes one thing.
  const cases: Array<[string, (r: SignedStsRequest) => SignedStsRequest, string | RegExp]> = [
    ["method GET", (r) => ({ ...r, method: "GET" }), 'signed request must use method POST, not "GET"'],
    [
      "text before the URL",
      (r) => ({ ...r, url: `x${r.url}` }),
      /is not of the form https:\/\/<sts host>\/$/,
    ],
    [
      "a path after the host",
      (r) => ({ ...r, url: `${r.url}x` }),
      /is not of the form https:\/\/<sts host>\/$/,
    ],
    [
      "a Host header other than the URL's",
      (r) => withHeader(r, "host", "sts.amazonaws.com"),
      "signed request Host header does not match its URL host sts.eu-west-1.amazonaws.com",
    ],
    ["no Host header", (r) => withHeader(r, "host", undefined), /Host header does not match/],
    [
      "a body with one more parameter",
      (r) => ({ ...r, body: `${r.body}&RoleArn=x` }),
      /^signed request body must be exactly "Action=GetCallerIdentity&Version=2011-06-15"$/,
    ],
    [
      "no Authorization",
      (r) => withHeader(r, "authorization", undefined),
      "signed request has no Authorization header",
    ],
    [
      "an Authorization that is not SigV4",
      (r) => withAuthorization(r, (a) => a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")),
      "Authorization header is not a SigV4 (AWS4-HMAC-SHA256) signature",
    ],
    [
      "a signature that is not 64 hex digits",
      (r) => withAuthorization(r, (a) => `${a}0`),
      "Authorization header is not a SigV4 (AWS4-HMAC-SHA256) signature",
    ],
    [
      "text before the Authorization scheme",
      (r) => withAuthorization(r, (a) => ` ${a}`),
      "Authorization header is not a SigV4 (AWS4-HMAC-SHA256) signature",
    ],
    [
      "a scope for another service",
      (r) => withAuthorization(r, (a) => a.replace("/sts/aws4_request", "/iam/aws4_request")),
      'signed request is scoped to service "iam", not sts',
    ],
    [
      "an empty name in SignedHeaders",
      (r) => withAuthorization(r, (a) => a.replace("SignedHeaders=", "SignedHeaders=;")),
      "Authorization header has an empty signed header name",
    ],
    ...(["host", "x-amz-date", "x-spire-challenge"] as const).map(
      (name): [string, (r: SignedStsRequest) => SignedStsRequest, string] => [
        `${name} not signed`,
        (r) => unsigning(r, name),
        `header ${name} is not covered by the request signature`,
      ],
    ),
    [
      "another challenge",
      (r) => withHeader(r, "x-spire-challenge", Buffer.alloc(32, 8).toString("base64")),
      "signed request does not carry the challenge this server issued",
    ],
    [
      "no X-Amz-Date",
      (r) => withHeader(r, "x-amz-date", undefined),
      "signed request has no valid X-Amz-Date",
    ],
    [
      "an X-Amz-Date in another format",
      (r) => withHeader(r, "x-amz-date", "2026-11-20T10:00:00Z"),
      "signed request has no valid X-Amz-Date",
    ],
    [
      "an X-Amz-Date with the scope's date before it",
      (r) => withHeader(r, "x-amz-date", `20261120${r.headers.get("x-amz-date")}`),
      "signed request has no valid X-Amz-Date",
    ],
    [
      "an X-Amz-Date with text after it",
      (r) => withHeader(r, "x-amz-date", "20261120T100000Zx"),
      "signed request has no valid X-Amz-Date",
    ],
    [
      "a credential scope dated the day before",
      (r) => withAuthorization(r, (a) => a.replace("/20261120/", "/20261119/")),
      "signed request credential scope date does not match X-Amz-Date",
    ],
    [
      "a signed header the request lacks",
      (r) => withAuthorization(r, (a) => a.replace("SignedHeaders=", "SignedHeaders=x-absent;")),
      "signed header x-absent is missing from the request",
    ],
    ...(["transfer-encoding", "te", "upgrade", "proxy-authorization", "proxy-anything"] as const).map(
      (name): [string, (r: SignedStsRequest) => SignedStsRequest, string] => [
        `${name}, even signed`,
        (r) => signing(r, name, "x"),
        `signed request may not carry header ${name}`,
      ],
    ),
    [
      "a signed Content-Length other than the body's",
      (r) => signing(r, "content-length", "44"),
      "signed Content-Length does not match the body",
    ],
  ];

  it.each(cases)("%s", async (_, alter, message) => {
    const req = await signed(regional);
    verify(req);
    const err = refusal(alter(req));
    expect(err.code).toBe(Code.PermissionDenied);
    if (typeof message === "string") expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it("takes an Authorization without the optional spaces after its commas", async () => {
    const req = withAuthorization(await signed(regional), (a) => a.replace(/, /g, ","));
    expect(req.headers.get("authorization")).not.toContain(", ");
    expect(verify(req).accessKeyId).toBe(credentials.accessKeyId);
  });

  it("forwards the signed headers and Authorization only, and takes a Content-Length equal to the body's", async () => {
    const req = signing(
      withHeader(await signed(regional), "x-unsigned", "1"),
      "content-length",
      String(GET_CALLER_IDENTITY_BODY.length),
    );
    const out = verify(req);
    expect(out.accessKeyId).toBe(credentials.accessKeyId);
    expect(out.body).toBe(GET_CALLER_IDENTITY_BODY);
    expect([...out.headers.keys()].sort()).toEqual(
      ["authorization", "content-length", "content-type", "host", "x-amz-date", "x-spire-challenge"].sort(),
    );
    expect(out.headers.get("authorization")).toBe(req.headers.get("authorization"));
  });
});

describe("verifySignedRequest: the server ID", () => {
  const SERVER_ID = "spire-prod";
  const withServerId = (req: SignedStsRequest) =>
    verifySignedRequest(req, {
      expectedChallenge,
      serverId: SERVER_ID,
      endpoints,
      partitions: ["aws"],
      nowMs: NOW,
    });
  const signedFor = (serverId: string | undefined) =>
    signGetCallerIdentity({
      endpoint: regional,
      credentials,
      challenge,
      serverId,
      signingDate: new Date(NOW),
    });

  it("without a configured server ID, accepts a request that carries one (an agent configured for it)", async () => {
    const req = await signedFor(SERVER_ID);
    expect(verify(req).headers.get("x-spire-server-id")).toBe(SERVER_ID);
  });

  it("accepts a request signed for this server ID", async () => {
    expect(withServerId(await signedFor(SERVER_ID)).headers.get("x-spire-server-id")).toBe(SERVER_ID);
  });

  it("refuses one signed for another server, one without it, and one where it is present but unsigned", async () => {
    const other = await signedFor("spire-staging");
    expect(() => withServerId(other)).toThrow(
      "signed request was made for a different server ID (x-spire-server-id)",
    );
    expect(() => withServerId(other)).toThrow(expect.objectContaining({ code: Code.PermissionDenied }));
    expect(() => withServerId(withHeader(other, "x-spire-server-id", undefined))).toThrow(
      "signed request was made for a different server ID",
    );
    const none = await signedFor(undefined);
    expect(() => withServerId(none)).toThrow(
      "header x-spire-server-id is not covered by the request signature",
    );
    expect(() => withServerId(withHeader(none, "x-spire-server-id", SERVER_ID))).toThrow(
      "header x-spire-server-id is not covered by the request signature",
    );
  });
});
