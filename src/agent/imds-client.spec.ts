import { createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, PluginError } from "../common/errors";
import { type FakeImds, startFakeImds } from "../testkit/fake-imds";
import {
  IMDS_IPV4_ENDPOINT,
  IMDS_IPV6_ENDPOINT,
  ImdsClient,
  type ImdsClientOptions,
  type ImdsEnv,
  normaliseImdsBaseUrl,
  resolveImdsEndpoint,
  resolveV1FallbackDisabled,
} from "./imds-client";
import { realIdentity } from "./testdata/vectors";

let imds: FakeImds;

// A fresh fake per test: a failed read cancels its sibling reads, but requests already on the
// wire still reach the fake, and on a shared one they landed in the next test's request log
// (seen as 2 stray data requests on Node 26).
beforeEach(async () => {
  imds = await startFakeImds({ identity: realIdentity });
});

afterEach(async () => {
  await imds.close();
});

/** Short deadlines keep hung-endpoint cases quick; no assertion depends on them. */
function client(options: Partial<ImdsClientOptions> = {}): ImdsClient {
  return new ImdsClient({
    endpoint: imds.url,
    env: {},
    timeoutMs: 300,
    maxAttempts: 2,
    disableV1Fallback: false,
    backoffMs: () => 0,
    ...options,
  });
}

async function failure(p: Promise<unknown>): Promise<PluginError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PluginError) return err;
    throw new Error(`expected a PluginError, got ${String(err)}`);
  }
  throw new Error("expected a failure, got a result");
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

const dataRequests = (): number => imds.count("document") + imds.count("signature") + imds.count("rsa2048");

describe("IMDSv2 flow", () => {
  it("gets a token, then the document and both signatures with it, byte for byte", async () => {
    const id = await client().fetchInstanceIdentity();
    expect(id.imdsVersion).toBe("v2");
    expect(same(id.document, realIdentity.document)).toBe(true);
    expect(same(id.signature, realIdentity.signature)).toBe(true);
    expect(same(id.rsa2048, realIdentity.rsa2048)).toBe(true);
    expect(imds.count("token")).toBe(1);
    expect(
      imds.requests.filter((r) => r.action !== "token").every((r) => r.withToken && r.status === 200),
    ).toBe(true);
    expect(imds.count("pkcs7")).toBe(0);
  });

  it("reuses the token until shortly before its TTL", async () => {
    let now = 1_000_000;
    const c = client({ now: () => now, tokenTtlSeconds: 600 });
    await c.fetchInstanceIdentity();
    now += 500_000;
    await c.fetchInstanceIdentity();
    expect(imds.count("token")).toBe(1);
    now += 60_000; // 560 s into a 600 s token: inside the refresh margin
    await c.fetchInstanceIdentity();
    expect(imds.count("token")).toBe(2);
  });

  it("gets a fresh token once when IMDS answers 401 to a cached one", async () => {
    const c = client();
    await c.fetchInstanceIdentity();
    imds.revokeTokens();
    const id = await c.fetchInstanceIdentity();
    expect(id.imdsVersion).toBe("v2");
    expect(imds.count("token")).toBe(2);
  });

  it.each(["/latest", "/latest/", "/", ""])("accepts the endpoint with suffix %j", async (suffix) => {
    const id = await client({ endpoint: `${imds.url}${suffix}` }).fetchInstanceIdentity();
    expect(same(id.document, realIdentity.document)).toBe(true);
    expect(
      imds.requests.every((r) => r.path.startsWith("/latest/") && !r.path.startsWith("/latest/latest")),
    ).toBe(true);
  });
});

describe("IMDSv1 fallback", () => {
  it.each([403, 404, 405])("falls back when the token PUT answers %i", async (status) => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status });
    const id = await client().fetchInstanceIdentity();
    expect(id.imdsVersion).toBe("v1");
    expect(same(id.document, realIdentity.document)).toBe(true);
    expect(imds.requests.filter((r) => r.action !== "token").every((r) => !r.withToken)).toBe(true);
  });

  it("falls back after a token PUT that keeps failing with 5xx, like the SDK", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 503 });
    const id = await client().fetchInstanceIdentity();
    expect(id.imdsVersion).toBe("v1");
    expect(imds.count("token")).toBe(2);
  });

  it("does not fall back on 400: that is the SDK's terminal case", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 400 });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HTTP 400");
    expect(dataRequests()).toBe(0);
  });

  it("tries IMDSv2 again on the next call after a fallback", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token", times: 1 }, { kind: "status", status: 404 });
    const c = client();
    expect((await c.fetchInstanceIdentity()).imdsVersion).toBe("v1");
    expect((await c.fetchInstanceIdentity()).imdsVersion).toBe("v2");
  });

  it("is refused by disable_imdsv1_fallback", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 404 });
    const err = await failure(client({ disableV1Fallback: true }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("IMDSv1 fallback is disabled");
    expect(dataRequests()).toBe(0);
  });

  it.each(["true", "TRUE", " True "])("is refused by AWS_EC2_METADATA_V1_DISABLED=%j", async (value) => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 403 });
    const c = client({ env: { AWS_EC2_METADATA_V1_DISABLED: value } });
    expect(c.v1FallbackDisabled).toBe(true);
    const err = await failure(c.fetchInstanceIdentity());
    expect(err.message).toContain("IMDSv1 fallback is disabled");
    expect(dataRequests()).toBe(0);
  });

  it("explains an instance that requires IMDSv2 when the fallback gets 401", async () => {
    imds.faults.add({ service: "imds", action: "token" }, { kind: "status", status: 404 });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HttpTokens=required");
    expect(err.message).toContain("HTTP 404");
  });
});

describe("classic traps", () => {
  it("names the hop limit when the token PUT never answers and IMDSv1 is refused", async () => {
    imds.setMode("hop-limit-1");
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HttpPutResponseHopLimit");
    expect(err.message).toContain("--http-put-response-hop-limit 2");
  });

  it("names the hop limit when the fallback is disabled and the token PUT never answers", async () => {
    imds.setMode("hop-limit-1");
    const err = await failure(client({ disableV1Fallback: true }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HttpPutResponseHopLimit is probably 1");
    expect(dataRequests()).toBe(0);
  });

  it("succeeds through IMDSv1 behind a hop limit of 1 when the instance allows it", async () => {
    imds.setMetadataOptions({ httpTokens: "optional", tokenPutUnreachable: true });
    const id = await client().fetchInstanceIdentity();
    expect(id.imdsVersion).toBe("v1");
  });

  it("says IMDS is turned off (HttpEndpoint=disabled) on 403", async () => {
    imds.setMode("disabled");
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HttpEndpoint=disabled");
    expect(err.message).toContain("--http-endpoint enabled");
  });

  it("says this is not EC2 when nothing listens at the endpoint", async () => {
    const port = await closedPort();
    const err = await failure(client({ endpoint: `http://127.0.0.1:${port}` }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("connection refused");
    expect(err.message).toContain("EC2 instance");
  });

  it("honours AWS_EC2_METADATA_DISABLED=true without sending anything", async () => {
    const err = await failure(client({ env: { AWS_EC2_METADATA_DISABLED: "true" } }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("AWS_EC2_METADATA_DISABLED");
    expect(imds.count()).toBe(0);
  });
});

describe("status codes", () => {
  it("retries a 500 and succeeds", async () => {
    imds.faults.add({ service: "imds", action: "document", times: 1 }, { kind: "status", status: 500 });
    const id = await client().fetchInstanceIdentity();
    expect(same(id.document, realIdentity.document)).toBe(true);
    expect(imds.count("document")).toBe(2);
  });

  it("retries a 429 (IMDS throttling) and succeeds", async () => {
    imds.faults.add({ service: "imds", action: "rsa2048", times: 1 }, { kind: "throttle" });
    await client().fetchInstanceIdentity();
    expect(imds.count("rsa2048")).toBe(2);
  });

  it("reports a persistent 500 as Unavailable after all attempts", async () => {
    imds.faults.add({ service: "imds", action: "signature" }, { kind: "status", status: 500 });
    const err = await failure(client({ maxAttempts: 3 }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("HTTP 500");
    expect(imds.count("signature")).toBe(3);
  });

  it("does not retry a 404 and points at the endpoint setting", async () => {
    imds.faults.add({ service: "imds", action: "rsa2048" }, { kind: "status", status: 404 });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("HTTP 404");
    expect(err.message).toContain("ec2_metadata_endpoint");
    expect(imds.count("rsa2048")).toBe(1);
  });

  it("does not retry a 403 on data", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "status", status: 403 });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(imds.count("document")).toBe(1);
  });

  it("reports a 401 on a fresh token twice without looping", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "status", status: 401 });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(imds.count("document")).toBe(2);
  });

  it("rejects an empty 200 body", async () => {
    imds.setIdentity({ ...realIdentity, signature: "" });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain("empty instance identity signature");
  });

  it("falls back when the token is unusable, like any non-400 token failure", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "malformed" });
    expect((await client().fetchInstanceIdentity()).imdsVersion).toBe("v1");
  });
});

describe("slow, hung and broken endpoints (bounded by the per-attempt deadline)", () => {
  it("gives up on a hung document with Unavailable", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "hang" });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toContain("did not answer");
    expect(imds.count("document")).toBe(2);
  });

  it("gives up on an answer slower than the deadline", async () => {
    imds.faults.add({ service: "imds", action: "signature" }, { kind: "latency", ms: 2_000 });
    const err = await failure(client({ timeoutMs: 200, maxAttempts: 1 }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
  });

  it("accepts an answer within the deadline", async () => {
    imds.faults.add({ service: "imds", action: "signature" }, { kind: "latency", ms: 20 });
    await client({ timeoutMs: 5_000 }).fetchInstanceIdentity();
  });

  it("applies the deadline to the body too (a dripping body)", async () => {
    imds.faults.add(
      { service: "imds", action: "document" },
      { kind: "drip", bytesPerChunk: 1, intervalMs: 50 },
    );
    const err = await failure(client({ timeoutMs: 300, maxAttempts: 1 }).fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
  });

  it("reads a body that arrives in pieces within the deadline", async () => {
    imds.faults.add(
      { service: "imds", action: "document" },
      { kind: "drip", bytesPerChunk: 200, intervalMs: 5 },
    );
    const id = await client({ timeoutMs: 5_000 }).fetchInstanceIdentity();
    expect(same(id.document, realIdentity.document)).toBe(true);
  });

  it("retries a truncated body and uses the complete one", async () => {
    imds.faults.add({ service: "imds", action: "document", times: 1 }, { kind: "truncate" });
    const id = await client().fetchInstanceIdentity();
    expect(same(id.document, realIdentity.document)).toBe(true);
  });

  it("never returns a truncated body", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "truncate" });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
  });

  it("reports connection resets as Unavailable", async () => {
    imds.faults.add({ service: "imds", action: "rsa2048" }, { kind: "reset" });
    const err = await failure(client().fetchInstanceIdentity());
    expect(err.code).toBe(Code.Unavailable);
  });

  it("treats a hung token PUT on a v1-allowed instance as a fallback, like the SDK", async () => {
    imds.setMode("v1-allowed");
    imds.faults.add({ service: "imds", action: "token" }, { kind: "hang" });
    expect((await client().fetchInstanceIdentity()).imdsVersion).toBe("v1");
  });

  it("stops at once with Cancelled when the caller aborts", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "hang" });
    const controller = new AbortController();
    const pending = client({ timeoutMs: 30_000 }).fetchInstanceIdentity(controller.signal);
    setTimeout(() => controller.abort(), 50);
    const err = await failure(pending);
    expect(err.code).toBe(Code.Cancelled);
  });

  it("stops with Cancelled when the client is closed", async () => {
    imds.faults.add({ service: "imds", action: "document" }, { kind: "hang" });
    const c = client({ timeoutMs: 30_000 });
    const pending = c.fetchInstanceIdentity();
    setTimeout(() => c.close(), 50);
    expect((await failure(pending)).code).toBe(Code.Cancelled);
  });
});

describe("body cap", () => {
  const big = "x".repeat(70 * 1024);

  it("refuses an oversize body announced by Content-Length", async () => {
    const undo = imds.respondWith("document", { status: 200, body: big });
    try {
      const err = await failure(client().fetchInstanceIdentity());
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.message).toContain("exceeds 65536 bytes");
      expect(imds.count("document")).toBe(1);
    } finally {
      undo();
    }
  });

  it("stops reading a chunked body at the cap", async () => {
    const undo = imds.respondWith("signature", { status: 200, body: big, omitContentLength: true });
    try {
      const err = await failure(client().fetchInstanceIdentity());
      expect(err.message).toContain("exceeds 65536 bytes");
    } finally {
      undo();
    }
  });

  it("honours a smaller configured cap", async () => {
    const err = await failure(client({ maxBodyBytes: 100 }).fetchInstanceIdentity());
    expect(err.message).toContain("exceeds 100 bytes");
  });
});

describe("endpoint selection", () => {
  const resolve = (configured: string | undefined, env: ImdsEnv): string =>
    resolveImdsEndpoint(configured, env).baseUrl;

  it("defaults to the IPv4 link-local address", () => {
    expect(resolve(undefined, {})).toBe(IMDS_IPV4_ENDPOINT);
    expect(resolve("", { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv4" })).toBe(IMDS_IPV4_ENDPOINT);
  });

  it("uses [fd00:ec2::254] in IPv6 endpoint mode (any case)", () => {
    expect(resolve(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" })).toBe(IMDS_IPV6_ENDPOINT);
    expect(resolve(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "ipv6" })).toBe(
      "http://[fd00:ec2::254]",
    );
    const c = client({ endpoint: undefined, env: { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6" } });
    expect(c.endpoint).toEqual({ baseUrl: "http://[fd00:ec2::254]", source: "IPv6 endpoint mode" });
  });

  it("rejects an unknown endpoint mode like the SDK", () => {
    expect(() => resolve(undefined, { AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "dual" })).toThrow(
      /IPv4 or IPv6/,
    );
  });

  it("prefers AWS_EC2_METADATA_SERVICE_ENDPOINT over the mode, and the config over both", () => {
    const env = {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://[::1]:8080/latest",
      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: "IPv6",
    };
    expect(resolveImdsEndpoint(undefined, env)).toEqual({
      baseUrl: "http://[::1]:8080",
      source: "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    });
    expect(resolve("http://10.0.0.1/latest/", env)).toBe("http://10.0.0.1");
  });

  it("keeps a proxy path prefix but drops a trailing /latest", () => {
    expect(normaliseImdsBaseUrl("http://proxy:9/imds/latest", "ec2_metadata_endpoint")).toBe(
      "http://proxy:9/imds",
    );
    expect(normaliseImdsBaseUrl("https://proxy/imds//", "ec2_metadata_endpoint")).toBe("https://proxy/imds");
    expect(normaliseImdsBaseUrl("http://169.254.169.254:80/latest", "default")).toBe(
      "http://169.254.169.254",
    );
  });

  it.each(["169.254.169.254", "ftp://x/", "http://h/?a=1", "http://u:p@h/", "::"])(
    "rejects %j with InvalidArgument",
    (raw) => {
      let err: unknown;
      try {
        normaliseImdsBaseUrl(raw, "ec2_metadata_endpoint");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PluginError);
      expect((err as PluginError).code).toBe(Code.InvalidArgument);
      expect((err as PluginError).message).toContain("ec2_metadata_endpoint");
    },
  );

  it("lets the environment tighten but not loosen the fallback setting", () => {
    expect(resolveV1FallbackDisabled(false, {})).toBe(false);
    expect(resolveV1FallbackDisabled(true, { AWS_EC2_METADATA_V1_DISABLED: "false" })).toBe(true);
    expect(resolveV1FallbackDisabled(false, { AWS_EC2_METADATA_V1_DISABLED: "true" })).toBe(true);
    expect(() => resolveV1FallbackDisabled(false, { AWS_EC2_METADATA_V1_DISABLED: "yes" })).toThrow(
      /true or false/,
    );
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
