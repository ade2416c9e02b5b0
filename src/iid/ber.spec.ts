import { describe, expect, it } from "vitest";
import { Asn1Error, children, readOctetString, readRoot, readSmallInteger, readTlv } from "./ber";

const b = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");

describe("strict BER reader", () => {
  it("reads definite and indefinite lengths", () => {
    const seq = readRoot(b("30 80 02 01 01 04 00 00 00"));
    expect(seq.indefinite).toBe(true);
    expect(seq.end).toBe(9);
    expect(children(b("30 80 02 01 01 04 00 00 00"), seq).map((c) => c.tag)).toEqual([0x02, 0x04]);
    expect(readRoot(b(`30 81 80${"05 00".repeat(64)}`)).contentEnd).toBe(131);
  });

  it.each([
    ["high tag number", "1f 01 00"],
    ["indefinite primitive", "04 80 00 00"],
    ["non-minimal short length", "04 81 01 00"],
    ["length with a leading zero", `04 82 00 81${"00".repeat(129)}`],
    ["five length octets", "04 85 00 00 00 00 01 00"],
    ["overrun", "30 03 02 01"],
    ["trailing bytes", "05 00 00"],
    ["missing end-of-contents", "30 80 05 00"],
    ["malformed end-of-contents", "30 80 00 01"],
    ["EOC in definite content", "30 02 00 00"],
    ["truncated", "30"],
  ])("rejects %s", (_name, hex) => {
    const buf = b(hex);
    expect(() => {
      const root = readRoot(buf);
      if (root.constructed) children(buf, root);
    }).toThrow(Asn1Error);
  });

  it("bounds nesting depth", () => {
    const deep = Buffer.concat([
      Buffer.alloc(200, 0x30).map((_, i) => (i % 2 === 0 ? 0x30 : 0x80)),
      Buffer.alloc(200, 0),
    ]);
    expect(() => readRoot(deep)).toThrow(/nesting too deep/);
  });

  it("reads constructed OCTET STRINGs chunk by chunk, refusing nested constructed chunks", () => {
    const buf = b("24 80 04 02 61 62 04 01 63 00 00");
    expect(Buffer.from(readOctetString(buf, readRoot(buf), "x")).toString()).toBe("abc");
    const nested = b("24 80 24 80 04 01 61 00 00 00 00");
    expect(() => readOctetString(nested, readRoot(nested), "x")).toThrow(Asn1Error);
  });

  it("requires minimal small integers", () => {
    const ok = b("02 01 01");
    expect(readSmallInteger(ok, readTlv(ok, 0, 3), "v")).toBe(1);
    const padded = b("02 02 00 01");
    expect(() => readSmallInteger(padded, readTlv(padded, 0, 4), "v")).toThrow(/non-minimal/);
    const negative = b("02 01 ff");
    expect(() => readSmallInteger(negative, readTlv(negative, 0, 3), "v")).toThrow(/out of range/);
  });
});
