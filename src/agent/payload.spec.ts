import { describe, expect, it } from "vitest";
import { encodeAttestationPayload, goJsonString } from "../iid/payload";
import { escapesGolden, escapesInput, realIdentity, realPayloadGolden } from "./testdata/vectors";

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

describe("encodeAttestationPayload", () => {
  it("is byte-identical to SPIRE's Go json.Marshal for a real IMDS identity", () => {
    const payload = encodeAttestationPayload(realIdentity);
    expect(Buffer.from(payload).equals(Buffer.from(realPayloadGolden))).toBe(true);
  });

  it("decodes to the exact document bytes and signatures IMDS served", () => {
    const decoded = JSON.parse(text(encodeAttestationPayload(realIdentity))) as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(["document", "signature", "rsa2048"]);
    expect(Buffer.from(String(decoded.document), "utf8").equals(Buffer.from(realIdentity.document))).toBe(
      true,
    );
    expect(decoded.signature).toBe(text(realIdentity.signature));
    expect(decoded.rsa2048).toBe(text(realIdentity.rsa2048));
    // The PKCS#7 keeps IMDS's 76-column line breaks; SPIRE's server PEM-wraps it as is.
    expect(String(decoded.rsa2048)).toContain("\n");
  });

  it("escapes exactly as Go does: HTML characters, U+2028/9, controls, invalid UTF-8 byte by byte", () => {
    const payload = encodeAttestationPayload({
      document: escapesInput,
      signature: new TextEncoder().encode("<sig>&"),
      rsa2048: new TextEncoder().encode("\u2028\u2029"),
    });
    expect(text(payload)).toBe(text(escapesGolden));
    expect(Buffer.from(payload).equals(Buffer.from(escapesGolden))).toBe(true);
  });

  it("writes \\b and \\f short forms like Go >= 1.22 (every supported SPIRE release)", () => {
    expect(goJsonString(new Uint8Array([0x08, 0x0c, 0x00, 0x1b]))).toBe('"\\b\\f\\u0000\\u001b"');
  });

  it("agrees with JSON.parse on any valid UTF-8 string", () => {
    const samples = ['a"b\\c', "</script>&amp;", "\u2028x\u2029", "é😀\u{10ffff}\ufffd", "\u007f\u0001"];
    for (const s of samples) {
      expect(JSON.parse(goJsonString(s))).toBe(s);
    }
  });
});
