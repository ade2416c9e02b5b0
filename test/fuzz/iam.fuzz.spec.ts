/**
 * Fuzz target for the aws_iam server: whatever an agent answers to the challenge — random
 * bytes, random JSON, or a plausible signed GetCallerIdentity with any part wrong and a
 * signature the attacker could not compute — attestation fails with InvalidArgument or
 * PermissionDenied. Never a crash, never Internal, never an accepted identity.
 *
 * Responses that pass every structural check reach the loopback STS fake, which verifies
 * SigV4 for real, so the last line of defence is exercised too. `FUZZ_RUNS` sets the number
 * of cases (default 10,000; `npm run fuzz` uses 1,000,000).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, PluginError } from "../../src/common/errors";
import { decodeHello, GET_CALLER_IDENTITY_BODY } from "../../src/iam/wire";
import type { ServerAttestorPlugin } from "../../src/spire/contracts";
import { ACCOUNT, agentPlugin, attest, type Rig, serverPlugin, startRig } from "../iam/harness";

const runs = Number(process.env.FUZZ_RUNS ?? "10000");
const REFUSALS = new Set<number>([Code.InvalidArgument, Code.PermissionDenied]);

const HOSTS = [
  "sts.us-east-1.amazonaws.com",
  "sts.amazonaws.com",
  "sts-fips.us-west-2.amazonaws.com",
  "sts.evil.com",
  "sts.amazonaws.com.evil.com",
  "sts.amazonaws.com@evil.com",
  "127.0.0.1",
  "sts.us-east-1.amazonaws.com:443",
  "sts.xx-east-9.amazonaws.com",
];

const amzDate = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

interface Shape {
  method: string;
  scheme: string;
  host: string;
  hostHeader: "same" | "other" | "absent";
  path: string;
  body: string;
  challenge: "right" | "wrong" | "absent";
  dateOffsetMs: number | "garbage" | "absent";
  keyKind: "issued" | "random";
  region: string;
  service: string;
  signed: readonly string[];
  signature: string;
  token: "right" | "wrong" | "absent";
  extra: Array<[string, string]>;
  serverId: "right" | "wrong" | "absent";
}

const shape: fc.Arbitrary<Shape> = fc.record({
  method: fc.oneof(
    { weight: 4, arbitrary: fc.constant("POST") },
    fc.constantFrom("GET", "post", "PUT"),
    fc.string({ maxLength: 8 }),
  ),
  scheme: fc.constantFrom("https://", "https://", "https://", "https://", "http://", "HTTPS://", ""),
  host: fc.oneof(
    { weight: 4, arbitrary: fc.constant("sts.us-east-1.amazonaws.com") },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTS) },
    fc.domain(),
  ),
  hostHeader: fc.constantFrom("same", "same", "same", "same", "other", "absent"),
  path: fc.constantFrom("/", "/", "/", "/", "/", "", "/?Action=AssumeRole", "//", "/#x"),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.constant(GET_CALLER_IDENTITY_BODY) },
    fc.constantFrom(`${GET_CALLER_IDENTITY_BODY}&x=1`, "Action=AssumeRole&Version=2011-06-15"),
    fc.string({ maxLength: 64 }),
  ),
  challenge: fc.constantFrom("right", "right", "right", "right", "wrong", "absent"),
  dateOffsetMs: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -60_000, max: 60_000 }) },
    fc.integer({ min: -86_400_000, max: 86_400_000 }),
    fc.constantFrom("garbage" as const, "absent" as const),
  ),
  keyKind: fc.constantFrom("issued", "issued", "random"),
  region: fc.constantFrom("us-east-1", "us-east-1", "us-east-1", "us-west-2", "xx"),
  service: fc.constantFrom("sts", "sts", "sts", "iam", "s3"),
  signed: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constant([
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "x-spire-challenge",
        "x-spire-server-id",
      ]),
    },
    fc.subarray(
      [
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-security-token",
        "x-spire-challenge",
        "x-spire-server-id",
        "content-length",
        "transfer-encoding",
        "x-extra",
      ],
      { minLength: 0 },
    ),
  ),
  signature: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ maxLength: 70 })),
  token: fc.constantFrom("right", "right", "wrong", "absent"),
  extra: fc.array(
    fc.tuple(
      fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,16}$/), fc.string({ maxLength: 20 })),
      fc.string({ maxLength: 40 }),
    ),
    { maxLength: 4 },
  ),
  serverId: fc.constantFrom("right", "right", "right", "wrong", "absent"),
});

/** Everything right except the signature, which an attacker without the secret cannot make. */
const NEAR_VALID: Omit<Shape, "signature"> = {
  method: "POST",
  scheme: "https://",
  host: "sts.us-east-1.amazonaws.com",
  hostHeader: "same",
  path: "/",
  body: GET_CALLER_IDENTITY_BODY,
  challenge: "right",
  dateOffsetMs: 0,
  keyKind: "issued",
  region: "us-east-1",
  service: "sts",
  signed: [
    "content-type",
    "host",
    "x-amz-date",
    "x-amz-security-token",
    "x-spire-challenge",
    "x-spire-server-id",
  ],
  token: "right",
  extra: [],
  serverId: "right",
};
const FIELDS = Object.keys(NEAR_VALID) as Array<keyof typeof NEAR_VALID>;

/** A well-formed request with at most two fields mutated: these reach deep checks and STS. */
const nearValid: fc.Arbitrary<Shape> = fc
  .tuple(shape, fc.uniqueArray(fc.constantFrom(...FIELDS), { maxLength: 2 }))
  .map(([random, mutated]) => {
    const out: Shape = { ...NEAR_VALID, signature: random.signature };
    for (const field of mutated) Object.assign(out, { [field]: random[field] });
    return out;
  });

describe("aws_iam challenge responses (fuzz)", () => {
  let rig: Rig;
  let server: ServerAttestorPlugin;

  beforeAll(async () => {
    rig = await startRig();
    server = await serverPlugin(
      rig,
      `allowed_account_ids = ["${ACCOUNT}"]\nserver_id_header_value = "fuzz-server"`,
    );
  });
  afterAll(async () => {
    await rig.close();
  });

  function build(s: Shape, challenge: Uint8Array): Uint8Array {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (s.hostHeader === "same") headers.host = s.host;
    else if (s.hostHeader === "other") headers.host = "sts.us-east-1.amazonaws.com.evil.com";
    if (s.challenge !== "absent") {
      const bytes = s.challenge === "right" ? challenge : challenge.map((b) => b ^ 0x5a);
      headers["x-spire-challenge"] = Buffer.from(bytes).toString("base64");
    }
    const now = Date.now();
    const date = typeof s.dateOffsetMs === "number" ? amzDate(now + s.dateOffsetMs) : "2024-01-01";
    if (s.dateOffsetMs !== "absent") headers["x-amz-date"] = date;
    if (s.token !== "absent")
      headers["x-amz-security-token"] = s.token === "right" ? rig.creds.sessionToken : "forged";
    if (s.serverId !== "absent")
      headers["x-spire-server-id"] = s.serverId === "right" ? "fuzz-server" : "other";
    for (const [k, v] of s.extra) headers[k] = v;
    const key = s.keyKind === "issued" ? rig.creds.accessKeyId : "AKIAFUZZFUZZFUZZFUZZ";
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${key}/${date.slice(0, 8)}/${s.region}/${s.service}/aws4_request, SignedHeaders=${[...s.signed].sort().join(";")}, Signature=${s.signature}`;
    return new TextEncoder().encode(
      JSON.stringify({ method: s.method, url: `${s.scheme}${s.host}${s.path}`, headers, body: s.body }),
    );
  }

  async function expectRefused(respond: (challenge: Uint8Array) => Promise<Uint8Array>): Promise<void> {
    const agent = await agentPlugin(rig.creds);
    let outcome: unknown;
    try {
      outcome = await attest(server, agent, { respond });
    } catch (err) {
      outcome = err;
    }
    expect(outcome).toBeInstanceOf(PluginError);
    expect(REFUSALS.has((outcome as PluginError).code)).toBe(true);
  }

  it("refuses plausible signed requests with forged signatures", async () => {
    const before = rig.fake.calls.count({ service: "sts" });
    await fc.assert(
      fc.asyncProperty(fc.oneof(shape, nearValid), (s) => expectRefused(async (c) => build(s, c))),
      { numRuns: runs },
    );
    // The generator is biased towards well-formed requests so that STS's own check is reached.
    if (runs >= 1000) expect(rig.fake.calls.count({ service: "sts" })).toBeGreaterThan(before);
  });

  it("refuses random JSON and random bytes", async () => {
    const anyResponse = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
      fc
        .record({
          method: fc.jsonValue({ maxDepth: 1 }),
          url: fc.jsonValue({ maxDepth: 1 }),
          headers: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 6 }),
          body: fc.jsonValue({ maxDepth: 1 }),
        })
        .map((v) => new TextEncoder().encode(JSON.stringify(v))),
    );
    await fc.assert(
      fc.asyncProperty(anyResponse, (bytes) => expectRefused(async () => bytes)),
      { numRuns: Math.max(1, Math.floor(runs / 2)) },
    );
  });

  it("decodes hello payloads without crashing", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        try {
          decodeHello(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(PluginError);
          expect((err as PluginError).code).toBe(Code.InvalidArgument);
        }
      }),
      { numRuns: runs },
    );
  });
});
