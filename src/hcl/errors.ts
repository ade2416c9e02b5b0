import type { Pos } from "./ast";

/**
 * A parse or decode error. `message` always carries a position ("At 3:27: illegal char"),
 * which is what operators need. `goMessage` is the exact text hashicorp/hcl v1 produces for
 * the same input; it differs where Go has no position (strconv errors, JSON parser errors,
 * JSON-derived tokens print "At -:") and is what the differential tests compare.
 */
export class HclError extends Error {
  override readonly name = "HclError";
  constructor(
    readonly pos: Pos,
    readonly detail: string,
    readonly goMessage: string = `At ${formatPos(pos)}: ${detail}`,
  ) {
    super(`At ${pos.line > 0 ? `${pos.line}:${pos.column}` : "1:1"}: ${detail}`);
  }
}

/** Go's token.Pos.String(): "line:col", or "-" for the zero position. */
export function formatPos(pos: Pos): string {
  return pos.line > 0 ? `${pos.line}:${pos.column}` : "-";
}

/** Go would panic here (bytes.Buffer.UnreadRune misuse, Token.Value on a bad escape...). */
export class GoPanic extends Error {
  override readonly name = "GoPanic";
}
