/**
 * Go's time.ParseDuration and Duration.String. SPIRE's aws_iid reads `org_account_map_ttl`
 * with ParseDuration and stores it back with String() ("3m" becomes "3m0s"), so operators'
 * existing values ("90s", "1h30m", "1.5h", "300ms", "-5m", "0") must mean the same here.
 */

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5
  μs: 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX = 1n << 63n;

function quote(s: string): string {
  return JSON.stringify(s);
}

/** Nanoseconds, or Go's error text ("time: invalid duration \"x\"", ...). */
export function parseGoDuration(orig: string): bigint | string {
  const r = parseDuration(orig);
  return r === INVALID ? `time: invalid duration ${quote(orig)}` : r;
}

const INVALID: unique symbol = Symbol("invalid");

function parseDuration(orig: string): bigint | string | typeof INVALID {
  let s = orig;
  let neg = false;
  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") return INVALID;
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || (s[0]! >= "0" && s[0]! <= "9"))) return INVALID;
    // leadingInt
    let i = 0;
    let v = 0n;
    while (i < s.length && s[i]! >= "0" && s[i]! <= "9") {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v >= MAX) return INVALID;
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    let post = false;
    let f = 0;
    let scale = 1;
    if (s !== "" && s[0] === ".") {
      s = s.slice(1);
      // leadingFraction: digits beyond float precision are dropped, as Go does.
      let j = 0;
      let overflow = false;
      let fv = 0n;
      while (j < s.length && s[j]! >= "0" && s[j]! <= "9") {
        if (!overflow) {
          const next = fv * 10n + BigInt(s.charCodeAt(j) - 48);
          if (next >= MAX) overflow = true;
          else {
            fv = next;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      f = Number(fv);
      s = s.slice(j);
    }
    if (!pre && !post) return INVALID;
    let k = 0;
    while (k < s.length && !(s[k] === "." || (s[k]! >= "0" && s[k]! <= "9"))) k++;
    if (k === 0) return `time: missing unit in duration ${quote(orig)}`;
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = UNITS[u];
    if (unit === undefined) return `time: unknown unit ${quote(u)} in duration ${quote(orig)}`;
    if (v > MAX / unit) return INVALID;
    v *= unit;
    if (f > 0) {
      v += BigInt(Math.trunc(f * (Number(unit) / scale)));
      if (v > MAX) return INVALID;
    }
    d += v;
    if (d > MAX) return INVALID;
  }
  if (neg) return -d;
  if (d > MAX - 1n) return INVALID;
  return d;
}

/** time.Duration.String(): "3m0s", "1h30m0s", "300ms", "1.5µs", "0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    let unit: string;
    let div: bigint;
    if (u < 1_000n) return `${neg ? "-" : ""}${u}ns`;
    if (u < 1_000_000n) {
      unit = "µs";
      div = 1_000n;
    } else {
      unit = "ms";
      div = 1_000_000n;
    }
    out = fraction(u, div) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fraction(u, 1_000_000_000n)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return (neg ? "-" : "") + out;
}

function fraction(v: bigint, div: bigint): string {
  const whole = v / div;
  const rest = v % div;
  if (rest === 0n) return whole.toString();
  const digits = div.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, "0").replace(/0+$/, "")}`;
}

/** Milliseconds as a number (fractional below 1 ms), for timers and comparisons. */
export function nanosToMillis(ns: bigint): number {
  return Number(ns) / 1e6;
}
