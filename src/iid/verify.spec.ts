import { describe, expect, it } from "vitest";
import { Code, type PluginError } from "../common/errors";
import { buildIidDocument, getTestCa } from "../testkit/test-ca";
import { encodeBase64Lines } from "./base64";
import { CertificateStore } from "./certificate-store";
import { Oid } from "./oids";
import { encodeAttestationPayload } from "./payload";
import { type AttestationPayloadInput, type VerifyOptions, verifyInstanceIdentity } from "./verify";

const ca = getTestCa();
const REGION = "eu-west-1";
const store = ca.store([REGION, "us-east-1"]);
const pendingTime = new Date("2026-11-20T10:00:00Z");
const document = buildIidDocument({ region: REGION, accountId: "111122223333", pendingTime });
const signed = ca.sign(document);

async function rejection(
  input: Uint8Array | AttestationPayloadInput,
  options: Partial<VerifyOptions> = {},
): Promise<PluginError> {
  try {
    await verifyInstanceIdentity(input, { store, ...options });
  } catch (err) {
    return err as PluginError;
  }
  throw new Error("expected a rejection");
}

describe("signature selection (SPIRE's order, then pkcs7)", () => {
  it("uses rsa2048 when present, even next to the others", async () => {
    const id = await verifyInstanceIdentity(
      { document, rsa2048: signed.rsa2048, signature: signed.signature, pkcs7: signed.pkcs7 },
      { store },
    );
    expect(id.kind).toBe("rsa2048");
    expect(id.certificate.kind).toBe("rsa2048");
  });

  it("falls back to the legacy signature, then to pkcs7", async () => {
    expect(
      (
        await verifyInstanceIdentity(
          { document, signature: signed.signature, pkcs7: signed.pkcs7 },
          { store },
        )
      ).kind,
    ).toBe("rsa");
    expect((await verifyInstanceIdentity({ document, pkcs7: signed.pkcs7 }, { store })).kind).toBe("pkcs7");
  });

  it("never falls back once a kind is chosen: a broken rsa2048 is not retried as the legacy signature", async () => {
    const err = await rejection({
      document,
      rsa2048: ca.signRsa2048(buildIidDocument({ region: REGION })),
      signature: signed.signature,
    });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toBe("instance identity document does not match the verified PKCS7 content");
  });

  it("requires a signature", async () => {
    const err = await rejection({ document });
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toBe("instance identity cryptographic signature is required");
  });

  it("require_rsa2048_signature refuses the legacy and DSA forms (no downgrade)", async () => {
    const policy = { requireRsa2048Signature: true };
    for (const input of [
      { document, signature: signed.signature },
      { document, pkcs7: signed.pkcs7 },
    ]) {
      const err = await rejection(input, { policy });
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toMatch(/^require_rsa2048_signature is set/);
    }
    expect(
      (await verifyInstanceIdentity({ document, rsa2048: signed.rsa2048 }, { store, policy })).kind,
    ).toBe("rsa2048");
  });
});

describe("document binding", () => {
  it("rejects an rsa2048 signature over another instance's document (the 2026 SPIRE substitution bug)", async () => {
    const victim = buildIidDocument({
      region: REGION,
      accountId: "999999999999",
      instanceId: "i-0fedcba9876543210",
    });
    // The attacker holds a genuine signature for its own document and claims the victim's.
    const err = await rejection({ document: victim, rsa2048: signed.rsa2048 });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toBe("instance identity document does not match the verified PKCS7 content");
  });

  it("rejects the same for pkcs7 and for the legacy signature", async () => {
    const victim = buildIidDocument({ region: REGION, accountId: "999999999999" });
    expect((await rejection({ document: victim, pkcs7: signed.pkcs7 })).code).toBe(Code.PermissionDenied);
    const legacy = await rejection({ document: victim, signature: signed.signature });
    expect(legacy.code).toBe(Code.PermissionDenied);
    expect(legacy.message).toBe(
      "failed to verify the cryptographic signature: the signature does not match the document",
    );
  });

  it("holds rsa2048 to the rsa2048 rules: a SHA-1 signature, which /pkcs7's rules allow for an RSA key, is refused", async () => {
    const sha1 = ca.signRsa2048(document, { digest: "sha1" });
    const err = await rejection({ document, rsa2048: sha1 });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(
      /with digest 1\.3\.14\.3\.2\.26 is not allowed for a RSA rsa2048 certificate$/,
    );
    // Signed with SHA-256, the form AWS sends, the same document verifies.
    await expect(
      verifyInstanceIdentity(
        { document, rsa2048: ca.signRsa2048(document, { digest: "sha256" }) },
        { store },
      ),
    ).resolves.toMatchObject({ kind: "rsa2048" });
  });

  it("with a forced kind (the verify CLI's --kind), refuses a payload without that field as InvalidArgument", async () => {
    const err = await rejection({ document, rsa2048: signed.rsa2048 }, { kind: "pkcs7" });
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toBe("the payload has no pkcs7 field");
    const legacy = await rejection({ document, rsa2048: signed.rsa2048 }, { kind: "rsa" });
    expect(legacy.message).toBe("the payload has no signature field");
  });

  it("rejects a document that differs only by a trailing newline (no re-serialisation)", async () => {
    expect((await rejection({ document: `${document}\n`, rsa2048: signed.rsa2048 })).code).toBe(
      Code.PermissionDenied,
    );
    expect((await rejection({ document: `${document}\n`, signature: signed.signature })).code).toBe(
      Code.PermissionDenied,
    );
  });

  it("reads the identity from the verified bytes", async () => {
    const id = await verifyInstanceIdentity(
      encodeAttestationPayload({ document, signature: "", rsa2048: signed.rsa2048 }),
      { store },
    );
    expect(Buffer.from(id.documentBytes).toString("utf8")).toBe(document);
    expect(id.document).toMatchObject({
      accountId: "111122223333",
      region: REGION,
      instanceId: "i-0123456789abcdef0",
    });
    expect(id.document.pendingTime?.toISOString()).toBe("2026-11-20T10:00:00.000Z");
  });
});

describe("CMS signed attributes: forgeries that keep content and document in step", () => {
  // The attacker re-wraps their own genuine signature around another instance's document and
  // sends that document too, so the content-vs-document comparison passes and only the signed
  // attributes stand between them and the victim's identity.
  const victim = buildIidDocument({
    region: REGION,
    accountId: "111122223333",
    instanceId: "i-0fedcba9876543210",
    pendingTime,
  });

  it("refuses embedded content whose digest differs from the signed messageDigest (same length)", async () => {
    expect(victim.length).toBe(document.length); // only the byte comparison can catch it
    for (const kind of ["rsa2048", "pkcs7"] as const) {
      const forged =
        kind === "rsa2048"
          ? ca.signRsa2048(document, { embeddedContent: victim })
          : ca.signPkcs7(document, { embeddedContent: victim });
      const err = await rejection({ document: victim, [kind]: forged });
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.message).toMatch(/messageDigest signed attribute does not match the content/);
    }
  });

  it("refuses a contentType attribute that names another content type", async () => {
    const forged = ca.signRsa2048(document, { contentTypeAttribute: Oid.signedData });
    const err = await rejection({ document, rsa2048: forged });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/contentType signed attribute does not match/);
  });

  it("refuses two SignerInfos, even when both verify", async () => {
    const forged = ca.signRsa2048(document, { extraSigner: true });
    const err = await rejection({ document, rsa2048: forged });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/expected exactly one signer, found 2/);
  });

  it("accepts the untampered forms the forgeries start from (the tests above fail for their reason)", async () => {
    expect(
      (await verifyInstanceIdentity({ document, rsa2048: ca.signRsa2048(document) }, { store })).kind,
    ).toBe("rsa2048");
    expect((await verifyInstanceIdentity({ document, pkcs7: ca.signPkcs7(document) }, { store })).kind).toBe(
      "pkcs7",
    );
  });
});

describe("certificates by region", () => {
  it("rejects a document claiming a region whose certificate did not sign it", async () => {
    // Only the real AWS certificates for us-west-2: the test CA's signature must not verify.
    const doc = buildIidDocument({ region: "us-west-2" });
    const err = await rejection({ document: doc, rsa2048: ca.signRsa2048(doc) });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/no trusted certificate matches the signer's issuer and serial number/);
    expect((await rejection({ document: doc, signature: ca.signRsa(doc) })).code).toBe(Code.PermissionDenied);
  });

  it("says how to add a certificate for an unknown region", async () => {
    const doc = buildIidDocument({ region: "xx-newregion-1" });
    const err = await rejection({ document: doc, rsa2048: ca.signRsa2048(doc) });
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('no AWS rsa2048 certificate is known for region "xx-newregion-1"');
    expect(err.message).toContain('aws_certificate { region = "xx-newregion-1", kind = "rsa2048"');
  });

  it("only trusts a certificate for the kind it was configured for", async () => {
    // The rsa2048 certificate alone (as kind rsa2048) cannot verify the DSA form or the legacy one.
    const only = CertificateStore.of(
      [],
      ca.trustedCertificates([REGION]).filter((c) => c.kind === "rsa2048"),
    );
    expect((await rejection({ document, pkcs7: signed.pkcs7 }, { store: only })).code).toBe(
      Code.PermissionDenied,
    );
    expect((await rejection({ document, signature: signed.signature }, { store: only })).code).toBe(
      Code.PermissionDenied,
    );
  });
});

describe("malformed input is InvalidArgument", () => {
  it.each([
    [
      "not base64",
      { document, rsa2048: "%%%%" },
      /^failed to decode the instance identity cryptographic signature/,
    ],
    [
      "not PKCS#7",
      { document, rsa2048: encodeBase64Lines(Buffer.from("hello")) },
      /^failed to parse the instance identity cryptographic signature/,
    ],
    ["bad legacy base64", { document, signature: "QR==" }, /^failed to decode the IID signature/],
    ["document not JSON", { document: "{", rsa2048: signed.rsa2048 }, /^failed to unmarshal the IID: /],
    [
      "document without region",
      {
        document: '{"accountId":"111122223333","instanceId":"i-0123456789abcdef0"}',
        rsa2048: signed.rsa2048,
      },
      /^failed to unmarshal the IID: "region" must be a string/,
    ],
    [
      "region with a path",
      {
        document: '{"accountId":"111122223333","instanceId":"i-0123456789abcdef0","region":"../../etc"}',
        rsa2048: signed.rsa2048,
      },
      /unexpected format/,
    ],
  ])("%s", async (_name, input, message) => {
    const err = await rejection(input);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toMatch(message);
  });

  it("rejects an oversized payload before parsing", async () => {
    const err = await rejection(new Uint8Array(64 * 1024 + 1));
    expect(err.code).toBe(Code.InvalidArgument);
  });
});

describe("policy", () => {
  const at = (iso: string): Date => new Date(iso);
  const input = { document, rsa2048: signed.rsa2048 };

  it("allowed_regions and allowed_account_ids", async () => {
    expect((await rejection(input, { policy: { allowedRegions: ["us-east-1"] } })).message).toBe(
      'instance identity document region "eu-west-1" is not in allowed_regions',
    );
    expect((await rejection(input, { policy: { allowedAccountIds: ["000000000000"] } })).message).toBe(
      'instance identity document account "111122223333" is not in allowed_account_ids',
    );
    await expect(
      verifyInstanceIdentity(input, {
        store,
        policy: { allowedRegions: [REGION], allowedAccountIds: ["111122223333"] },
      }),
    ).resolves.toBeDefined();
  });

  it("max_launch_age on pendingTime with one minute of clock skew", async () => {
    const policy = { maxLaunchAgeMs: 5 * 60_000 };
    await expect(
      verifyInstanceIdentity(input, { store, policy, now: at("2026-11-20T10:05:00Z") }),
    ).resolves.toBeDefined();
    const old = await rejection(input, { policy, now: at("2026-11-20T10:05:01Z") });
    expect(old.code).toBe(Code.PermissionDenied);
    expect(old.message).toBe(
      "Instance Identity Document with PendingTime 2026-11-20T10:00:00.000Z is older than configured max_launch_age of 5m0s",
    );
    await expect(
      verifyInstanceIdentity(input, { store, policy, now: () => at("2026-11-20T09:59:00Z") }),
    ).resolves.toBeDefined();
    const future = await rejection(input, { policy, now: at("2026-11-20T09:58:59Z") });
    expect(future.message).toMatch(/is in the future \(more than 1m0s of allowed clock skew\)$/);
  });
});
