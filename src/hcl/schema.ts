/**
 * Declarative config schemas and typed decoding with Go's hcl.Decode coercions.
 *
 * SPIRE's Go plugins decode plugin_data with `hcl.Decode(&structValue, text)`. To mean the
 * same thing for every config that works there, a field accepts what Go's decoder accepts:
 * a string field takes a number as its literal text (`management_account_id = 123456789012`),
 * an int field takes a quoted number (`"8080"`, also "0x10"), a bool field takes only
 * true/false (`"true"` is an error in Go too), keys match case-insensitively (Go's
 * ObjectList.Filter uses strings.EqualFold), a repeated scalar or block keeps the last one,
 * and a repeated list appends. Where we are stricter than Go, on purpose:
 *  - unknown keys are errors (SPIRE silently ignores `verify_organisation`, which turns the
 *    organization check off without a word); the message names the nearest known key;
 *  - a labelled block (`verify_organization "x" { }`) is an error (Go decodes it as empty);
 *  - every problem is collected, not only the first.
 * Each field carries a doc string so the configuration reference can be generated from it.
 */

import { Code, PluginError } from "../common/errors";
import {
  type Node,
  nodePos,
  type ObjectItem,
  type ObjectList,
  type Pos,
  TokenType,
  type ValueNode,
} from "./ast";
import { formatGoDuration, nanosToMillis, parseGoDuration } from "./duration";
import { HclError } from "./errors";
import { equalFold, keyName } from "./generic";
import { parse } from "./parser";
import { parseGoInt, stringValue, tokenText } from "./values";

export interface StringField {
  readonly type: "string";
  readonly doc: string;
  readonly default?: string;
  /** Never echo the value in messages or printed output (secrets). */
  readonly secret?: boolean;
}
export interface BoolField {
  readonly type: "bool";
  readonly doc: string;
  readonly default: boolean;
}
export interface IntField {
  readonly type: "int";
  readonly doc: string;
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
}
export interface StringListField {
  readonly type: "stringList";
  readonly doc: string;
}
export interface DurationField {
  readonly type: "duration";
  readonly doc: string;
  /** Go duration text, e.g. "20s"; absent means "unset". */
  readonly default?: string;
  /** Smallest accepted value (Go duration text). */
  readonly min?: string;
  readonly max?: string;
  /** Replaces Go's parse error text (SPIRE has its own wording for org_account_map_ttl). */
  readonly invalidMessage?: string;
  readonly minMessage?: string;
}
export interface BlockField {
  readonly type: "block";
  readonly doc: string;
  readonly fields: Fields;
}
export interface BlocksField {
  readonly type: "blocks";
  readonly doc: string;
  readonly fields: Fields;
}
export type FieldSpec =
  | StringField
  | BoolField
  | IntField
  | StringListField
  | DurationField
  | BlockField
  | BlocksField;
export type Fields = { readonly [key: string]: FieldSpec };

export interface Duration {
  /** As written. */
  readonly text: string;
  readonly nanos: bigint;
  /** Milliseconds (fractional below 1 ms). */
  readonly ms: number;
}

type DefaultOf<F, T> = F extends { readonly default: infer _D } ? T : T | undefined;
export type FieldValue<F> = F extends StringField
  ? DefaultOf<F, string>
  : F extends BoolField
    ? boolean
    : F extends IntField
      ? DefaultOf<F, number>
      : F extends StringListField
        ? string[] | undefined
        : F extends DurationField
          ? DefaultOf<F, Duration>
          : F extends BlockField
            ? Decoded<F["fields"]> | undefined
            : F extends BlocksField
              ? Decoded<F["fields"]>[]
              : never;
export type Decoded<S extends Fields> = { -readonly [K in keyof S]: FieldValue<S[K]> };

/** A configuration problem, with the position of the offending key or value when known. */
export interface ConfigProblem {
  readonly message: string;
  readonly pos?: Pos;
  /** Dotted key path, e.g. "verify_organization.org_account_map_ttl". */
  readonly path?: string;
}

/** plugin_data as SPIRE sends it (text), or a body already parsed (check-config's, in place). */
export type ConfigInput = string | Uint8Array | ObjectList;

/**
 * Parses plugin_data for decoding; a body already parsed is returned as is. A syntax error is
 * one positioned problem rather than an exception, so config modules and check-config report
 * it like any other problem.
 */
export function parseForDecoding(
  input: ConfigInput,
): { root: ObjectList; problems?: undefined } | { root?: undefined; problems: ConfigProblem[] } {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return { root: input };
  try {
    return { root: parse(input).root };
  } catch (e) {
    if (e instanceof HclError) return { problems: [{ pos: e.pos, message: e.detail }] };
    throw e;
  }
}

/** One problem as the plugin reports it: "At LINE:COL: message" (HCL v1's own prefix) or the message alone. */
export function formatProblem(p: ConfigProblem): string {
  return p.pos !== undefined && p.pos.line > 0 ? `At ${p.pos.line}:${p.pos.column}: ${p.message}` : p.message;
}

export const CONFIGURATION_ERROR_HEADER = "invalid configuration:";

/**
 * The one error of a refused configuration, for every side and method: InvalidArgument,
 * "invalid configuration:" and then one formatted problem per line (Validate returns the
 * lines as its notes; check-config prints the same problems as FILE:LINE:COL: message).
 * Positions refer to the plugin_data text the plugin received.
 */
export class ConfigurationError extends PluginError {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(Code.InvalidArgument, [CONFIGURATION_ERROR_HEADER, ...problems.map(formatProblem)].join("\n"));
  }
}

export interface DecodeResult<S extends Fields> {
  value: Decoded<S>;
  problems: ConfigProblem[];
  /** Position of each key that was set, by dotted path (block entries get "[i]"). */
  positions: Map<string, Pos>;
}

export interface DecodeOptions {
  /** Go ignores unknown keys; we refuse them unless this is set (used by the oracle tests). */
  allowUnknownKeys?: boolean;
}

function describeNode(node: ValueNode): string {
  switch (node.kind) {
    case "list":
      return "a list";
    case "object":
      return "a block";
    case "literal":
      switch (node.token.type) {
        case TokenType.BOOL:
          return "a bool";
        case TokenType.NUMBER:
          return "a number";
        case TokenType.FLOAT:
          return "a float";
        case TokenType.HEREDOC:
          return "a heredoc string";
        default:
          return "a string";
      }
  }
}

/** Damerau-Levenshtein distance (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...new Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const cand of known) {
    const d = editDistance(k, cand);
    if (d < bestD) {
      bestD = d;
      best = cand;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.min(key.length, best.length) / 3));
  if (bestD <= limit) return best;
  // Also catch a missing or extra word part: "org_account_map" for "org_account_map_ttl".
  if (k.length >= 4 && (best.includes(k) || k.includes(best))) return best;
  return undefined;
}

class TypedDecoder {
  readonly problems: ConfigProblem[] = [];
  readonly positions = new Map<string, Pos>();

  constructor(private readonly options: DecodeOptions) {}

  private problem(path: string, pos: Pos | undefined, message: string): void {
    this.problems.push({ path, pos, message: `${path}: ${message}` });
  }

  decodeList<S extends Fields>(list: ObjectList, fields: S, prefix: string): Decoded<S> {
    const known = Object.keys(fields);
    const byField = new Map<string, ObjectItem[]>();
    for (const item of list.items) {
      if (item.keys.length === 0 || item.val === undefined) continue;
      let name: string;
      try {
        name = keyName(item);
      } catch (e) {
        if (e instanceof HclError) {
          this.problems.push({ pos: e.pos, message: e.detail });
          continue;
        }
        throw e;
      }
      const field = known.find((k) => k === name) ?? known.find((k) => equalFold(k, name));
      if (field === undefined) {
        if (!this.options.allowUnknownKeys) {
          const near = nearestKey(name, known);
          const where = prefix === "" ? "" : ` in ${prefix.replace(/\.$/, "")}`;
          this.problems.push({
            path: prefix + name,
            pos: item.keys[0]!.token.pos,
            message: `unknown key "${name}"${where}${near ? `, did you mean ${near}?` : ""}`,
          });
        }
        continue;
      }
      const items = byField.get(field);
      if (items) items.push(item);
      else byField.set(field, [item]);
    }
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(fields)) {
      out[key] = this.decodeField(prefix + key, spec, byField.get(key) ?? []);
    }
    return out as Decoded<S>;
  }

  private decodeField(path: string, spec: FieldSpec, items: ObjectItem[]): unknown {
    let value: unknown = initial(spec);
    let seen = false;
    for (const item of items) {
      if (item.keys.length > 1) {
        this.problem(
          path,
          item.keys[1]!.token.pos,
          `unexpected label ${tokenText(item.keys[1]!.token)} (write ${path.split(".").pop()} { ... } without a label)`,
        );
        continue;
      }
      const val = item.val!;
      const pos = goValuePos(val);
      switch (spec.type) {
        case "string": {
          // Messages never echo a string value, so secrets stay out of them.
          const s = this.asString(path, val);
          if (s !== undefined) {
            value = s;
            seen = true;
          }
          break;
        }
        case "bool": {
          if (val.kind === "literal" && val.token.type === TokenType.BOOL) {
            value = tokenText(val.token) === "true";
            seen = true;
          } else {
            const hint =
              val.kind === "literal" && val.token.type === TokenType.STRING
                ? " (write true or false without quotes: HCL v1 does not turn strings into booleans)"
                : "";
            this.problem(path, pos, `expected true or false, got ${describeNode(val)}${hint}`);
          }
          break;
        }
        case "int": {
          if (
            val.kind === "literal" &&
            (val.token.type === TokenType.NUMBER || val.token.type === TokenType.STRING)
          ) {
            const text = val.token.type === TokenType.NUMBER ? tokenText(val.token) : this.safeString(val);
            if (text === undefined) break;
            const v = parseGoInt(text);
            if (typeof v === "string") {
              this.problem(path, pos, `expected an integer: ${v}`);
            } else if (
              (spec.min !== undefined && v < BigInt(spec.min)) ||
              (spec.max !== undefined && v > BigInt(spec.max))
            ) {
              this.problem(path, pos, `must be between ${spec.min ?? "-∞"} and ${spec.max ?? "∞"}, got ${v}`);
            } else {
              value = Number(v);
              seen = true;
            }
          } else {
            this.problem(path, pos, `expected an integer, got ${describeNode(val)}`);
          }
          break;
        }
        case "stringList": {
          if (val.kind !== "list") {
            this.problem(path, pos, `expected a list of strings, got ${describeNode(val)}`);
            break;
          }
          // Go's decodeSlice appends to the existing slice: a repeated list key concatenates.
          const list = (value as string[] | undefined) ?? [];
          for (const [i, el] of val.items.entries()) {
            const s = this.asString(`${path}[${i}]`, el);
            if (s !== undefined) list.push(s);
          }
          value = list;
          seen = true;
          break;
        }
        case "duration": {
          const s = this.asString(path, val);
          if (s === undefined) break;
          const d = this.duration(path, pos, spec, s);
          if (d !== undefined) {
            value = d;
            seen = true;
          }
          break;
        }
        case "block": {
          if (val.kind !== "object") {
            this.problem(
              path,
              pos,
              `expected a block (${path.split(".").pop()} { ... }), got ${describeNode(val)}`,
            );
            break;
          }
          // Go decodes each occurrence into a fresh struct: the last block wins entirely.
          value = this.decodeList(val.list, spec.fields, `${path}.`);
          seen = true;
          break;
        }
        case "blocks": {
          const arr = value as unknown[];
          const objects = val.kind === "list" ? val.items : [val];
          for (const o of objects) {
            if (o.kind !== "object") {
              this.problem(
                path,
                nodePos(o),
                `expected a block (${path.split(".").pop()} { ... }), got ${describeNode(o)}`,
              );
              continue;
            }
            this.positions.set(`${path}[${arr.length}]`, item.keys[0]!.token.pos);
            arr.push(this.decodeList(o.list, spec.fields, `${path}[${arr.length}].`));
          }
          seen = true;
          break;
        }
      }
      if (seen) this.positions.set(path, item.keys[0]!.token.pos);
      if (seen && spec.type !== "blocks") this.positions.set(`${path}#value`, pos);
    }
    if (!seen && spec.type === "duration" && spec.default !== undefined) {
      return this.duration(path, undefined, spec, spec.default);
    }
    return value;
  }

  private safeString(val: ValueNode & { kind: "literal" }): string | undefined {
    try {
      return stringValue(val.token);
    } catch (e) {
      if (e instanceof HclError) {
        this.problems.push({ pos: e.pos, message: e.detail });
        return undefined;
      }
      throw e;
    }
  }

  /** Go's decodeString: numbers as their literal text, strings and heredocs unquoted. */
  private asString(path: string, val: Node): string | undefined {
    if (val.kind === "literal") {
      if (val.token.type === TokenType.NUMBER) return tokenText(val.token);
      if (val.token.type === TokenType.STRING || val.token.type === TokenType.HEREDOC) {
        return this.safeString(val as ValueNode & { kind: "literal" });
      }
    }
    const what =
      val.kind === "item" || val.kind === "objectList" || val.kind === "key" ? "a block" : describeNode(val);
    this.problem(
      path,
      val.kind === "object" ? goValuePos(val) : nodePos(val),
      `expected a string, got ${what}`,
    );
    return undefined;
  }

  private duration(
    path: string,
    pos: Pos | undefined,
    spec: DurationField,
    text: string,
  ): Duration | undefined {
    const ns = parseGoDuration(text);
    if (typeof ns === "string") {
      this.problems.push({ path, pos, message: spec.invalidMessage ?? `${path}: ${ns}` });
      return undefined;
    }
    if (spec.min !== undefined) {
      const min = boundOf(spec.min);
      if (ns < min) {
        this.problems.push({
          path,
          pos,
          message: spec.minMessage ?? `${path}: must be at least ${formatGoDuration(min)}, got ${text}`,
        });
        return undefined;
      }
    }
    if (spec.max !== undefined) {
      const max = boundOf(spec.max);
      if (ns > max) {
        this.problems.push({
          path,
          pos,
          message: `${path}: must be at most ${formatGoDuration(max)}, got ${text}`,
        });
        return undefined;
      }
    }
    return { text, nanos: ns, ms: nanosToMillis(ns) };
  }
}

/**
 * Where Go reports a wrongly typed value: decodeStruct turns a `{ ... }` value into its item
 * list first, so the error points at the first key inside the braces.
 */
function goValuePos(val: ValueNode): Pos {
  if (val.kind === "object" && val.list.items.length > 0) return nodePos(val.list);
  return nodePos(val);
}

const bounds = new Map<string, bigint>();

/** Schema bounds are constants: parse each once. */
function boundOf(text: string): bigint {
  let v = bounds.get(text);
  if (v === undefined) {
    v = parseGoDuration(text) as bigint;
    bounds.set(text, v);
  }
  return v;
}

function initial(spec: FieldSpec): unknown {
  switch (spec.type) {
    case "string":
      return spec.default;
    case "bool":
      return spec.default;
    case "int":
      return spec.default;
    case "blocks":
      return [];
    default:
      return undefined;
  }
}

/** Decodes an object list (a parsed plugin_data body) against a schema. */
export function decodeWithSchema<S extends Fields>(
  list: ObjectList,
  fields: S,
  options: DecodeOptions = {},
): DecodeResult<S> {
  const d = new TypedDecoder(options);
  const value = d.decodeList(list, fields, "");
  return { value, problems: d.problems, positions: d.positions };
}

/** One line per key, for generated docs: "key (type, default X): doc". */
export function describeSchema(
  fields: Fields,
  prefix = "",
): { key: string; type: string; default?: string; doc: string }[] {
  const out: { key: string; type: string; default?: string; doc: string }[] = [];
  for (const [key, spec] of Object.entries(fields)) {
    const def =
      "default" in spec && spec.default !== undefined
        ? typeof spec.default === "string"
          ? `"${spec.default}"`
          : String(spec.default)
        : undefined;
    const type =
      spec.type === "stringList" ? "list(string)" : spec.type === "blocks" ? "block (repeatable)" : spec.type;
    out.push({ key: prefix + key, type, ...(def !== undefined ? { default: def } : {}), doc: spec.doc });
    if (spec.type === "block" || spec.type === "blocks")
      out.push(...describeSchema(spec.fields, `${prefix}${key}.`));
  }
  return out;
}
