/**
 * A small, strict BER reader for the handful of ASN.1 shapes AWS instance identity data uses
 * (CMS SignedData and X.509 certificates).
 *
 * Why not asn1js/pkijs: measured on the project's 2-core box, `asn1js.fromBER` alone parses
 * about 2,400 AWS RSA-2048 PKCS#7 blobs per second, and a pkijs `SignedData` path about 300/s,
 * against a goal of 2,000 full verifications per second. This reader works on byte offsets
 * without building an object tree and is two orders of magnitude faster. pkijs stays in the
 * test suite as an independent oracle (differential tests against real AWS vectors).
 *
 * Why strict: asn1js is BER-lenient, and flipping single bytes of real AWS signatures found
 * dozens of corruptions in unsigned framing that a verifier built on it still accepted. Framing is never
 * covered by the signature, so every leniency is attacker-controlled malleability. This reader
 * accepts exactly what AWS emits — indefinite lengths on constructed values (AWS streams its
 * PKCS#7 with OpenSSL), definite lengths in minimal form — and rejects everything else:
 * high tag numbers, non-minimal or over-long length fields, indefinite primitives, EOC markers
 * in definite content, trailing garbage, and nesting deeper than `MAX_DEPTH`.
 */

export class Asn1Error extends Error {
  override readonly name = "Asn1Error";
}

/** AWS SignedData nests 9 levels deep; 32 leaves room and bounds recursion on hostile input. */
export const MAX_DEPTH = 32;

/** One element, as byte offsets into the buffer it was read from. */
export interface Tlv {
  /** The identifier octet (class bits, constructed bit, tag number < 31). */
  readonly tag: number;
  readonly constructed: boolean;
  readonly indefinite: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  readonly contentStart: number;
  /** Exclusive end of the content (for indefinite lengths: the offset of the EOC marker). */
  readonly contentEnd: number;
  /** Exclusive end of the whole element (after the EOC marker for indefinite lengths). */
  readonly end: number;
}

export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  ConstructedOctetString: 0x24,
  Sequence: 0x30,
  Set: 0x31,
  /** [0] constructed (EXPLICIT [0], or IMPLICIT [0] of a constructed type). */
  Context0: 0xa0,
  Context1: 0xa1,
  Context2: 0xa2,
  Context3: 0xa3,
} as const;

/** Reads the element starting at `offset`; it must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit: number, depth = 0): Tlv {
  if (depth > MAX_DEPTH) throw new Asn1Error("nesting too deep");
  if (offset >= limit) throw new Asn1Error(`truncated element at offset ${offset}`);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error(`high tag number at offset ${offset}`);
  const constructed = (tag & 0x20) !== 0;
  let pos = offset + 1;
  if (pos >= limit) throw new Asn1Error(`truncated length at offset ${pos}`);
  const first = buf[pos++]!;
  if (first === 0x80) {
    if (!constructed) throw new Asn1Error(`indefinite length on a primitive at offset ${offset}`);
    const contentStart = pos;
    // The end is only known by walking the children up to the end-of-contents marker.
    for (;;) {
      if (pos + 2 > limit) throw new Asn1Error(`missing end-of-contents for element at offset ${offset}`);
      if (buf[pos] === 0x00) {
        if (buf[pos + 1] !== 0x00) throw new Asn1Error(`malformed end-of-contents at offset ${pos}`);
        return {
          tag,
          constructed,
          indefinite: true,
          start: offset,
          contentStart,
          contentEnd: pos,
          end: pos + 2,
        };
      }
      pos = readTlv(buf, pos, limit, depth + 1).end;
    }
  }
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    // Four length octets cover 4 GiB, far beyond the payload cap; 0xff is reserved by X.690.
    if (count > 4) throw new Asn1Error(`length field too long at offset ${offset}`);
    if (pos + count > limit) throw new Asn1Error(`truncated length at offset ${pos}`);
    if (buf[pos] === 0x00) throw new Asn1Error(`non-minimal length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80) throw new Asn1Error(`non-minimal length at offset ${offset}`);
  }
  const contentStart = pos;
  const contentEnd = contentStart + length;
  if (contentEnd > limit) throw new Asn1Error(`element at offset ${offset} overruns its container`);
  if (tag === 0x00) throw new Asn1Error(`unexpected end-of-contents at offset ${offset}`);
  return { tag, constructed, indefinite: false, start: offset, contentStart, contentEnd, end: contentEnd };
}

/** Reads exactly one element spanning the whole buffer (no trailing bytes). */
export function readRoot(buf: Uint8Array): Tlv {
  const tlv = readTlv(buf, 0, buf.length);
  if (tlv.end !== buf.length)
    throw new Asn1Error(`${buf.length - tlv.end} trailing bytes after the structure`);
  return tlv;
}

/** The direct children of a constructed element, each validated recursively. */
export function children(buf: Uint8Array, parent: Tlv, depth = 1): Tlv[] {
  if (!parent.constructed) throw new Asn1Error(`expected a constructed element at offset ${parent.start}`);
  const out: Tlv[] = [];
  let pos = parent.contentStart;
  while (pos < parent.contentEnd) {
    const child = readTlv(buf, pos, parent.contentEnd, depth);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined) throw new Asn1Error(`missing ${what}`);
  if (tlv.tag !== tag) {
    throw new Asn1Error(
      `${what}: expected tag 0x${tag.toString(16)}, found 0x${tlv.tag.toString(16)} at offset ${tlv.start}`,
    );
  }
  return tlv;
}

/** Children of `tlv` after checking its tag and the number of children. */
export function expectChildren(
  buf: Uint8Array,
  tlv: Tlv | undefined,
  tag: number,
  what: string,
  min: number,
  max: number,
): Tlv[] {
  const items = children(buf, expectTag(tlv, tag, what));
  if (items.length < min || items.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new Asn1Error(`${what}: expected ${want} elements, found ${items.length}`);
  }
  return items;
}

export function content(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.contentStart, tlv.contentEnd);
}

export function whole(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.start, tlv.end);
}

/** A small non-negative INTEGER (versions), in minimal two's-complement form. */
export function readSmallInteger(buf: Uint8Array, tlv: Tlv | undefined, what: string): number {
  const t = expectTag(tlv, Tag.Integer, what);
  const bytes = content(buf, t);
  checkMinimalInteger(bytes, what);
  if (bytes.length > 4 || (bytes[0]! & 0x80) !== 0) throw new Asn1Error(`${what}: out of range`);
  let value = 0;
  for (const b of bytes) value = value * 256 + b;
  return value;
}

/** INTEGER content must be non-empty and minimal (X.690 8.3.2), or serial matching is malleable. */
export function checkMinimalInteger(bytes: Uint8Array, what: string): void {
  if (bytes.length === 0) throw new Asn1Error(`${what}: empty integer`);
  if (bytes.length > 1) {
    const a = bytes[0]!;
    const b = bytes[1]!;
    if ((a === 0x00 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) !== 0)) {
      throw new Asn1Error(`${what}: non-minimal integer`);
    }
  }
}

/**
 * The value of an OCTET STRING, primitive or constructed. AWS streams the encapsulated
 * document as a constructed OCTET STRING of primitive chunks (a reader that takes only a
 * primitive value gets an empty document). Nested constructed chunks are legal BER but
 * never produced by AWS, so they are refused.
 */
export function readOctetString(buf: Uint8Array, tlv: Tlv | undefined, what: string): Uint8Array {
  if (tlv === undefined) throw new Asn1Error(`missing ${what}`);
  if (tlv.tag === Tag.OctetString) return content(buf, tlv);
  if (tlv.tag !== Tag.ConstructedOctetString) {
    throw new Asn1Error(`${what}: expected an OCTET STRING, found tag 0x${tlv.tag.toString(16)}`);
  }
  const chunks = children(buf, tlv).map((c) => content(buf, expectTag(c, Tag.OctetString, `${what} chunk`)));
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks);
}
