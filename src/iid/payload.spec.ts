import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import {
  decodeAttestationPayload,
  encodeAttestationPayload,
  goJsonString,
  MAX_PAYLOAD_BYTES,
} from "./payload";

const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8");

describe("decodeAttestationPayload", () => {
  it("decodes SPIRE's agent payload", () => {
    expect(decodeAttestationPayload(bytes('{"document":"d","signature":"s","rsa2048":"r"}'))).toEqual({
      document: "d",
      signature: "s",
      rsa2048: "r",
      pkcs7: "",
    });
  });

  it("accepts pkcs7, ignores unknown fields, treats null as empty, keeps the last duplicate (as Go does)", () => {
    expect(
      decodeAttestationPayload(
        bytes('{"document":"a","document":"b","pkcs7":"p","rsa2048":null,"extra":[1]}'),
      ),
    ).toEqual({ document: "b", signature: "", rsa2048: "", pkcs7: "p" });
  });

  it("does not read fields through the prototype chain", () => {
    expect(decodeAttestationPayload(bytes('{"__proto__":{"rsa2048":"x"},"document":"d"}')).rsa2048).toBe("");
  });

  it.each([
    ["", "payload cannot be empty"],
    ["{", /^failed to unmarshal the attestation data: /],
    ["[]", "failed to unmarshal the attestation data: expected a JSON object, found array"],
    ["null", "failed to unmarshal the attestation data: expected a JSON object, found null"],
    [
      '{"document":5}',
      'failed to unmarshal the attestation data: field "document" must be a string, found number',
    ],
    [
      '{"rsa2048":{}}',
      'failed to unmarshal the attestation data: field "rsa2048" must be a string, found object',
    ],
  ])("rejects %j", (text, message) => {
    try {
      decodeAttestationPayload(bytes(text));
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: Code.InvalidArgument });
      expect((err as Error).message).toMatch(message);
    }
  });

  it("rejects invalid UTF-8 and oversized payloads", () => {
    expect(() => decodeAttestationPayload(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(/invalid UTF-8/);
    const big = new Uint8Array(MAX_PAYLOAD_BYTES + 1).fill(0x20);
    expect(() => decodeAttestationPayload(big)).toThrow(/too large/);
  });
});

describe("encodeAttestationPayload (byte-compatible with Go's json.Marshal of IIDAttestationData)", () => {
  it("writes the three fields in struct order, all present", () => {
    expect(
      Buffer.from(encodeAttestationPayload({ document: "", signature: "", rsa2048: "" })).toString(),
    ).toBe('{"document":"","signature":"","rsa2048":""}');
  });

  it("escapes like Go (HTML-safe, \\u2028, control characters)", () => {
    expect(goJsonString('{\n  "a" : "<&>"\t\u2028\u0001\b\f\\')).toBe(
      '"{\\n  \\"a\\" : \\"\\u003c\\u0026\\u003e\\"\\t\\u2028\\u0001\\b\\f\\\\"',
    );
    expect(goJsonString("\ud800")).toBe('"\ufffd"');
    expect(goJsonString("é€😀")).toBe('"é€😀"');
  });

  it("appends pkcs7 only when set, and round-trips through the decoder", () => {
    const p = {
      document: '{\n  "region" : "us-east-1"\n}',
      signature: "c2ln\nbmF0dXJl",
      rsa2048: "",
      pkcs7: "cA==",
    };
    const wire = encodeAttestationPayload(p);
    expect(Buffer.from(wire).toString()).toMatch(/,"pkcs7":"cA=="}$/);
    expect(decodeAttestationPayload(wire)).toEqual(p);
  });
});
