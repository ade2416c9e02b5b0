/**
 * A minimal DER/BER writer for test data: the test CA's certificates and SignedData, and the
 * structural forgeries of src/iid/cms.spec.ts.
 */
function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** Indefinite-length constructed element, as OpenSSL's streaming encoder writes it. */
export function indefinite(tag: number, ...parts: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from([tag, 0x80]), ...parts, Buffer.from([0x00, 0x00])]);
}

export const seq = (...parts: Uint8Array[]): Buffer => tlv(0x30, ...parts);
/** DER SET OF: elements sorted by their encodings (X.690 11.6). */
export const setOf = (...parts: Buffer[]): Buffer => tlv(0x31, ...[...parts].sort(Buffer.compare));
export const oid = (hex: string): Buffer => tlv(0x06, Buffer.from(hex, "hex"));
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);

export function integer(value: Uint8Array | number): Buffer {
  let bytes = typeof value === "number" ? Buffer.from([value]) : Buffer.from(value);
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && (bytes[i + 1]! & 0x80) === 0) i++;
  bytes = bytes.subarray(i);
  if ((bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "ascii"))
    : tlv(0x18, Buffer.from(`${digits}Z`, "ascii"));
}

export function algorithm(hexOid: string, params: "null" | "absent"): Buffer {
  return params === "null" ? seq(oid(hexOid), nullValue()) : seq(oid(hexOid));
}

export function name(organization: string): Buffer {
  const rdn = (attr: string, value: string): Buffer =>
    setOf(seq(oid(attr), tlv(0x13, Buffer.from(value, "ascii"))));
  return seq(
    rdn("550406", "US"),
    rdn("550408", "Washington State"),
    rdn("550407", "Seattle"),
    rdn("55040a", organization),
  );
}
