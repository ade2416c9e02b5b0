/**
 * Byte-level fuzzing of the payload decoder and the CMS/RSA verifier with fast-check.
 * FUZZ_RUNS sets the number of cases per property (CI default 10,000; `npm run fuzz` runs
 * 1,000,000). Properties: nothing but a PluginError ever escapes (no crash, no TypeError), and
 * nothing mutated is ever accepted as a different identity.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPluginError } from "../../src/common/errors";
import { decodeBase64Strict, encodeBase64Lines } from "../../src/iid/base64";
import { CertificateStore } from "../../src/iid/certificate-store";
import { decodeAttestationPayload, encodeAttestationPayload } from "../../src/iid/payload";
import { verifyInstanceIdentitySync } from "../../src/iid/verify";
import { buildIidDocument, getTestCa } from "../../src/testkit/test-ca";

const RUNS = Number.parseInt(process.env.FUZZ_RUNS ?? "", 10) || 10_000;
const TIMEOUT = Math.max(120_000, RUNS * 2);

interface Vector {
  id: string;
  kind: string;
  document: string;
  signature: string;
}
const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, "../vectors/testdata/aws-iid/vectors.json"), "utf8"),
) as Vector[];
const vector = (id: string): Vector => vectors.find((v) => v.id === id)!;

const ca = getTestCa();
const REGION = "us-west-2";
// Real AWS certificates plus the test CA for the same region: both kinds of signer in one store.
const store = ca.store([REGION]);
const testDocument = buildIidDocument({ region: REGION, pendingTime: "2026-01-01T00:00:00Z" });
const testSigned = ca.sign(testDocument, { chunkSize: 97 });

interface Seed {
  name: string;
  document: string;
  field: "rsa2048" | "signature" | "pkcs7";
  signature: string;
}
const seeds: Seed[] = [
  {
    name: "aws rsa2048 (2021)",
    document: vector("teleport-2021-us-west-2-rsa2048").document,
    field: "rsa2048",
    signature: vector("teleport-2021-us-west-2-rsa2048").signature,
  },
  {
    name: "aws rsa2048 (2018)",
    document: vector("taskcluster-2018-us-west-2-rsa2048").document,
    field: "rsa2048",
    signature: vector("taskcluster-2018-us-west-2-rsa2048").signature,
  },
  {
    name: "aws dsa",
    document: vector("taskcluster-2018-us-west-2-dsa").document,
    field: "pkcs7",
    signature: vector("taskcluster-2018-us-west-2-dsa").signature,
  },
  {
    name: "aws legacy rsa",
    document: vector("taskcluster-2018-us-west-2-rsasig").document,
    field: "signature",
    signature: vector("taskcluster-2018-us-west-2-rsasig").signature,
  },
  {
    name: "test CA rsa2048, chunked",
    document: testDocument,
    field: "rsa2048",
    signature: testSigned.rsa2048,
  },
  { name: "test CA dsa, chunked", document: testDocument, field: "pkcs7", signature: testSigned.pkcs7 },
];

type Mutation = { op: "set" | "xor" | "insert" | "delete" | "truncate"; pos: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("set", "xor", "insert", "delete", "truncate"),
  pos: fc.nat(),
  value: fc.integer({ min: 1, max: 255 }),
});

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(input);
  for (const m of mutations) {
    if (bytes.length === 0) break;
    const pos = m.pos % bytes.length;
    if (m.op === "set") bytes[pos] = m.value;
    else if (m.op === "xor") bytes[pos]! ^= m.value;
    else if (m.op === "insert")
      bytes = Buffer.concat([bytes.subarray(0, pos), Buffer.from([m.value]), bytes.subarray(pos)]);
    else if (m.op === "delete") bytes = Buffer.concat([bytes.subarray(0, pos), bytes.subarray(pos + 1)]);
    else bytes = bytes.subarray(0, pos);
  }
  return bytes;
}

/** Verifies; the verified document text, or undefined on a PluginError. Anything else fails the property. */
function outcome(run: () => { documentBytes: Uint8Array }): string | undefined {
  try {
    return Buffer.from(run().documentBytes).toString("utf8");
  } catch (err) {
    if (isPluginError(err)) return undefined;
    throw err;
  }
}

describe(`iid fuzzing (${RUNS} runs per property)`, () => {
  it(
    "the payload decoder never throws anything but InvalidArgument",
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
          try {
            decodeAttestationPayload(bytes);
          } catch (err) {
            if (!isPluginError(err) || err.code !== 3) throw err;
          }
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "random bytes as a PKCS#7 or legacy signature never crash and never verify",
    () => {
      const doc = seeds[0]!.document;
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 2048 }),
          fc.constantFrom("rsa2048", "signature", "pkcs7"),
          (bytes, field) => {
            expect(
              outcome(() =>
                verifyInstanceIdentitySync({ document: doc, [field]: encodeBase64Lines(bytes) }, { store }),
              ),
            ).toBeUndefined();
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "mutated signature bytes (DER / raw) never verify as another identity",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          (seed, ms) => {
            const der = decodeBase64Strict(seed.signature);
            const mutated = mutate(der, ms);
            const result = outcome(() =>
              verifyInstanceIdentitySync(
                { document: seed.document, [seed.field]: encodeBase64Lines(mutated) },
                { store },
              ),
            );
            if (result !== undefined) expect(result).toBe(seed.document);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "mutated wire payloads never crash and never verify as another identity",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(mutation, { minLength: 1, maxLength: 4 }),
          (seed, ms) => {
            const wire = encodeAttestationPayload({
              document: seed.document,
              signature: "",
              rsa2048: "",
              [seed.field]: seed.signature,
            });
            const result = outcome(() => verifyInstanceIdentitySync(mutate(wire, ms), { store }));
            if (result !== undefined) expect(result).toBe(seed.document);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "a mutated document never verifies with the original signature",
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...seeds),
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
          (seed, ms) => {
            const mutated = mutate(Buffer.from(seed.document, "utf8"), ms).toString("utf8");
            fc.pre(mutated !== seed.document);
            expect(
              outcome(() =>
                verifyInstanceIdentitySync({ document: mutated, [seed.field]: seed.signature }, { store }),
              ),
            ).toBeUndefined();
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT,
  );

  it(
    "every document the test CA signs verifies, in every form and chunking",
    () => {
      const own = CertificateStore.of(
        [],
        ca.trustedCertificates(["eu-north-1", "us-gov-east-1", "cn-north-1"]),
      );
      fc.assert(
        fc.property(
          fc.constantFrom("eu-north-1", "us-gov-east-1", "cn-north-1"),
          fc.stringMatching(/^\d{12}$/),
          fc.stringMatching(/^i-[0-9a-f]{17}$/),
          fc.integer({ min: 1, max: 600 }),
          fc.constantFrom("rsa2048", "signature", "pkcs7"),
          (region, accountId, instanceId, chunkSize, field) => {
            const document = buildIidDocument({ region, accountId, instanceId });
            const signature =
              field === "rsa2048"
                ? ca.signRsa2048(document, { chunkSize })
                : field === "pkcs7"
                  ? ca.signPkcs7(document, { chunkSize })
                  : ca.signRsa(document);
            const id = verifyInstanceIdentitySync({ document, [field]: signature }, { store: own });
            expect(id.document).toMatchObject({ region, accountId, instanceId });
          },
        ),
        // Signing dominates (RSA-2048 private-key operations); a fraction of RUNS is plenty.
        { numRuns: Math.max(100, Math.floor(RUNS / 50)) },
      );
    },
    TIMEOUT,
  );
});
