/**
 * Strict base64 for signatures. Node's `Buffer.from(s, "base64")` silently skips invalid
 * characters and accepts non-canonical padding bits, so two different texts decode to the same
 * bytes; a verifier that is lenient here is malleable. IMDS serves base64 in 76-column lines
 * (no PEM armour), and SPIRE's agent forwards the text with its newlines, so line breaks and
 * other ASCII whitespace are allowed between characters; nothing else is.
 */

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /[\r\n\t ]/g;

export function decodeBase64Strict(text: string): Buffer {
  const compact = text.replace(WHITESPACE, "");
  if (compact.length === 0) throw new Error("empty base64 text");
  if (compact.length % 4 !== 0 || !BASE64_BODY.test(compact)) throw new Error("invalid base64 text");
  const bytes = Buffer.from(compact, "base64");
  // Rejects non-zero padding bits ("QR==" decodes like "QQ==").
  if (bytes.toString("base64") !== compact) throw new Error("non-canonical base64 text");
  return bytes;
}

/** Base64 in 76-column lines without a trailing newline: the layout IMDS serves. */
export function encodeBase64Lines(bytes: Uint8Array, width = 76): string {
  const flat = Buffer.from(bytes).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < flat.length; i += width) lines.push(flat.slice(i, i + width));
  return lines.join("\n");
}
