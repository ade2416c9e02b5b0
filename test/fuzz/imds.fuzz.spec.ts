/**
 * Fuzz target for the agent's IMDS response handling: whatever IMDS (or something pretending
 * to be it) answers — any status, any headers, any bytes, lying Content-Length, bodies that
 * break mid-stream, connection errors — the client either returns the three bodies it was
 * served with 200, or fails with a PluginError carrying a code and a message. Never a crash,
 * a hang, a TypeError, or a body it did not receive.
 *
 * Runs in-process through the client's `fetch` seam so 10,000 cases take seconds; the
 * socket-level behaviour is covered by src/agent/imds-client.spec.ts against the fake IMDS.
 * `FUZZ_RUNS` sets the number of cases (`npm run fuzz` uses 1,000,000).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FetchLike, ImdsClient, type InstanceIdentity } from "../../src/agent/imds-client";
import { Code, PluginError } from "../../src/common/errors";
import { encodeAttestationPayload } from "../../src/iid/payload";

const runs = Number(process.env.FUZZ_RUNS ?? "10000");
const CAP = 256;
const NULL_BODY_STATUS = new Set([204, 205, 304]);

type Reply =
  | { kind: "http"; status: number; headers: [string, string][]; body: Uint8Array; breakAfter: number | null }
  | { kind: "network"; code: string };

const headerName = fc.oneof(
  fc.constantFrom("content-length", "x-aws-ec2-metadata-token-ttl-seconds", "content-type", "location"),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
);
const headerValue = fc.oneof(
  fc.integer({ min: -5, max: 100_000 }).map(String),
  fc.stringMatching(/^[\x20-\x7e]{0,24}$/).map((s) => s.trim()),
);

const reply: fc.Arbitrary<Reply> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("http" as const),
      status: fc.oneof(
        fc.constantFrom(200, 200, 200, 400, 401, 403, 404, 405, 429, 500, 503),
        fc.integer({ min: 200, max: 599 }),
      ),
      headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ minLength: CAP - 8, maxLength: CAP + 64 }),
        fc.stringMatching(/^[A-Za-z0-9+/=\n]{1,80}$/).map((s) => new TextEncoder().encode(s)),
      ),
      breakAfter: fc.option(fc.nat({ max: 40 }), { freq: 5 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("network" as const),
      code: fc.constantFrom(
        "ECONNREFUSED",
        "ECONNRESET",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "UND_ERR_SOCKET",
        "?",
      ),
    }),
  },
);

function toResponse(r: Extract<Reply, { kind: "http" }>): Response {
  const headers = new Headers();
  for (const [name, value] of r.headers) headers.append(name, value);
  if (NULL_BODY_STATUS.has(r.status)) return new Response(null, { status: r.status, headers });
  const { body, breakAfter } = r;
  const stream = new ReadableStream<Uint8Array>({
    start(controller): void {
      if (breakAfter !== null && breakAfter < body.length) {
        controller.enqueue(body.slice(0, breakAfter));
        controller.error(
          new TypeError("terminated", {
            cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
          }),
        );
        return;
      }
      if (body.length > 0) controller.enqueue(body.slice());
      controller.close();
    },
  });
  return new Response(stream, { status: r.status, headers });
}

const KNOWN_CODES = new Set<number>([Code.FailedPrecondition, Code.Unavailable, Code.InvalidArgument]);

describe("IMDS client under arbitrary responses", () => {
  it(`returns served bodies or a PluginError (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(reply, { minLength: 1, maxLength: 12 }),
        reply,
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        async (script, fallback, maxAttempts, disableV1Fallback) => {
          // The fake fetch answers from microtasks alone, so without this turn of the event loop
          // no timer ever fires: every request's 1 s AbortSignal.timeout (and the composite signal
          // and closures it keeps) piled up until the worker ran out of heap at ~4 GB. With it,
          // expired timers are collected and the heap stays flat (~11 MB over 150,000 runs).
          await new Promise<void>((resolve) => setImmediate(resolve));
          const served = new Map<string, Uint8Array[]>();
          let i = 0;
          const fetchImpl: FetchLike = async (url) => {
            const r = script[i] ?? fallback;
            i += 1;
            if (r.kind === "network") {
              throw new TypeError("fetch failed", {
                cause: Object.assign(new Error(r.code), { code: r.code }),
              });
            }
            if (r.status === 200 && (r.breakAfter === null || r.breakAfter >= r.body.length)) {
              const list = served.get(url) ?? [];
              list.push(r.body);
              served.set(url, list);
            }
            return toResponse(r);
          };
          const client = new ImdsClient({
            endpoint: "http://imds.test/latest",
            env: {},
            fetch: fetchImpl,
            timeoutMs: 1_000,
            maxAttempts,
            disableV1Fallback,
            maxBodyBytes: CAP,
            backoffMs: () => 0,
            now: () => 0,
          });
          let outcome: { id: InstanceIdentity } | { err: unknown };
          try {
            outcome = { id: await client.fetchInstanceIdentity() };
          } catch (err) {
            outcome = { err };
          }
          if ("err" in outcome) {
            const { err } = outcome;
            if (!(err instanceof PluginError)) throw err;
            expect(KNOWN_CODES.has(err.code)).toBe(true);
            expect(err.message.length).toBeGreaterThan(0);
            return;
          }
          const { id } = outcome;
          for (const [leaf, bytes] of [
            ["document", id.document],
            ["signature", id.signature],
            ["rsa2048", id.rsa2048],
          ] as const) {
            expect(bytes.byteLength).toBeGreaterThan(0);
            expect(bytes.byteLength).toBeLessThanOrEqual(CAP);
            const candidates = served.get(`http://imds.test/latest/dynamic/instance-identity/${leaf}`) ?? [];
            expect(candidates.some((c) => Buffer.from(c).equals(Buffer.from(bytes)))).toBe(true);
          }
          // The payload builder must take whatever bytes came back.
          JSON.parse(Buffer.from(encodeAttestationPayload(id)).toString("utf8"));
        },
      ),
      { numRuns: runs },
    );
  });
});
