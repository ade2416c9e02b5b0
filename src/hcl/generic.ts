/**
 * Generic decoding: what `hcl.Decode(&map[string]interface{}{}, text)` yields in Go, which is
 * what every Go plugin (and SPIRE's own tooling) sees. Follows decoder.go's
 * decodeInterface/decodeMap/decodeSlice, including the rules that give HCL v1 its shape:
 * an object directly under a map becomes a list holding one map (so `x { }` and `x = { }`
 * both give `[{...}]`), a repeated block appends, a repeated scalar is decoded *into the
 * previous value's type* (so `a = "x"` then `a = 5` gives "5", and the reverse is an error).
 */
import { goTypeName, type Node, nodePos, type ObjectItem, type ObjectList, type Pos, TokenType } from "./ast";
import { formatPos, HclError } from "./errors";
import { type ParsedFile, type ParseOptions, parse } from "./parser";
import { parseGoFloat, parseGoInt, stringValue, tokenText } from "./values";

export type GoValue =
  | { readonly t: "map"; readonly m: Map<string, GoValue> }
  | { readonly t: "slice"; readonly elem: "iface" | "map"; readonly items: GoValue[] }
  | { readonly t: "string"; readonly v: string }
  | { readonly t: "int"; readonly v: bigint }
  | { readonly t: "float"; readonly v: number }
  | { readonly t: "bool"; readonly v: boolean };

type Kind = "iface" | "map" | "slice" | "string" | "int" | "float" | "bool";
type Target = "iface" | "map";

/** Filter() calls are quadratic on adversarial input (many distinct multi-key labels). */
const MAX_FILTER_WORK = 2_000_000;

/** strings.EqualFold, approximated per code point with Unicode simple case mapping. */
export function equalFold(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length !== b.length && (a.length > 2 * b.length || b.length > 2 * a.length)) return false;
  return foldKey(a) === foldKey(b);
}

export function foldKey(s: string): string {
  let out = "";
  for (const ch of s) {
    const up = ch.toUpperCase();
    const f = [...up].length === 1 ? up.toLowerCase() : ch.toLowerCase();
    out += [...f].length === 1 ? f : ch;
  }
  return out;
}

/** Go's Token.Value() for a key: identifiers as written, strings unquoted. */
export function keyName(item: ObjectItem, index = 0): string {
  const tok = item.keys[index]!.token;
  return tok.type === TokenType.STRING ? stringValue(tok) : tokenText(tok);
}

/** ObjectList.Filter(key): items whose first key matches (case-insensitively), key stripped. */
export function filterItems(list: ObjectList, key: string): ObjectList {
  const items: ObjectItem[] = [];
  for (const item of list.items) {
    if (item.keys.length < 1) continue;
    if (!equalFold(keyName(item), key)) continue;
    items.push({ ...item, keys: item.keys.slice(1) });
  }
  return { kind: "objectList", items };
}

class GenericDecoder {
  private readonly stack: Kind[] = [];
  private work = 0;

  constructor(private readonly json: boolean) {}

  private posError(node: Node, detail: string): HclError {
    const pos = nodePos(node);
    return new HclError(pos, detail, `At ${this.json ? "-" : formatPos(pos)}: ${detail}`);
  }

  private plainError(pos: Pos, detail: string): HclError {
    return new HclError(pos, detail, detail);
  }

  decode(name: string, node: Node, target: Target, old: GoValue | undefined): GoValue {
    const kind: Kind = target === "map" ? "map" : old === undefined ? "iface" : old.t;
    if (kind !== "iface") this.stack.push(kind);
    try {
      switch (kind) {
        case "iface":
          return this.decodeInterface(name, node);
        case "map":
          return this.decodeMap(name, node, old?.t === "map" ? old : undefined);
        case "slice":
          return this.decodeSlice(name, node, old?.t === "slice" ? old : undefined);
        case "string":
          return this.decodeString(name, node);
        case "int":
          return this.decodeInt(name, node);
        case "float":
          return this.decodeFloat(name, node);
        default:
          return this.decodeBool(name, node);
      }
    } finally {
      if (kind !== "iface") this.stack.pop();
    }
  }

  private decodeInterface(name: string, node: Node): GoValue {
    const test: Node = node.kind === "object" ? node.list : node;
    let zero: GoValue;
    switch (test.kind) {
      case "objectList": {
        const top = this.stack[this.stack.length - 1];
        zero =
          top === undefined || top === "slice"
            ? { t: "map", m: new Map() }
            : { t: "slice", elem: "map", items: [] };
        break;
      }
      case "list":
        zero = { t: "slice", elem: "iface", items: [] };
        break;
      case "literal":
        switch (test.token.type) {
          case TokenType.BOOL:
            zero = { t: "bool", v: false };
            break;
          case TokenType.FLOAT:
            zero = { t: "float", v: 0 };
            break;
          case TokenType.NUMBER:
            zero = { t: "int", v: 0n };
            break;
          case TokenType.STRING:
          case TokenType.HEREDOC:
            zero = { t: "string", v: "" };
            break;
          default:
            throw this.posError(node, `${name}: cannot decode into interface: ${goTypeName(node)}`);
        }
        break;
      default:
        throw this.plainError(nodePos(node), `${name}: cannot decode into interface: ${goTypeName(node)}`);
    }
    return this.decode(name, node, "iface", zero);
  }

  private decodeMap(name: string, input: Node, old: (GoValue & { t: "map" }) | undefined): GoValue {
    let node: Node = input;
    if (node.kind === "item") node = { kind: "objectList", items: [node] };
    if (node.kind === "object") node = node.list;
    if (node.kind !== "objectList") {
      throw this.posError(node, `${name}: not an object type for map (${goTypeName(node)})`);
    }
    const list = node;
    const result = old ?? { t: "map" as const, m: new Map<string, GoValue>() };
    const done = new Set<string>();
    for (const item of list.items) {
      if (item.val === undefined) continue;
      if (item.keys.length === 0) throw this.posError(list, `${name}: map must have string keys`);
      const key = keyName(item);
      if (done.has(key)) continue;
      let itemVal: Node = item.val;
      if (item.keys.length > 1) {
        this.work += list.items.length;
        if (this.work > MAX_FILTER_WORK) {
          throw new HclError(nodePos(item), "configuration too complex to decode (too many labelled blocks)");
        }
        itemVal = filterItems(list, key);
        done.add(key);
      }
      const v = this.decode(`${name}.${key}`, itemVal, "iface", result.m.get(key));
      result.m.set(key, v);
    }
    return result;
  }

  private decodeSlice(name: string, node: Node, old: (GoValue & { t: "slice" }) | undefined): GoValue {
    let items: Node[];
    switch (node.kind) {
      case "objectList":
        items = node.items;
        break;
      case "object":
        items = [node];
        break;
      case "list":
        items = node.items;
        break;
      default:
        throw this.posError(node, `unknown slice type: ${goTypeName(node)}`);
    }
    const elem = old?.elem ?? "iface";
    const out = old ? old.items.slice() : [];
    items.forEach((item, i) => {
      out.push(this.decode(`${name}[${i}]`, item, elem === "map" ? "map" : "iface", undefined));
    });
    return { t: "slice", elem, items: out };
  }

  private decodeString(name: string, node: Node): GoValue {
    if (node.kind === "literal") {
      const tok = node.token;
      if (tok.type === TokenType.NUMBER) return { t: "string", v: tokenText(tok) };
      if (tok.type === TokenType.STRING || tok.type === TokenType.HEREDOC)
        return { t: "string", v: stringValue(tok) };
    }
    throw this.posError(node, `${name}: unknown type for string ${goTypeName(node)}`);
  }

  private decodeInt(name: string, node: Node): GoValue {
    if (node.kind === "literal") {
      const tok = node.token;
      if (tok.type === TokenType.NUMBER || tok.type === TokenType.STRING) {
        const text = tok.type === TokenType.NUMBER ? tokenText(tok) : stringValue(tok);
        const v = parseGoInt(text);
        if (typeof v === "string") throw this.plainError(tok.pos, v);
        return { t: "int", v };
      }
    }
    throw this.posError(node, `${name}: unknown type ${goTypeName(node)}`);
  }

  private decodeFloat(name: string, node: Node): GoValue {
    if (node.kind === "literal") {
      const tok = node.token;
      if (tok.type === TokenType.FLOAT || tok.type === TokenType.NUMBER) {
        const v = parseGoFloat(tokenText(tok));
        if (typeof v === "string") throw this.plainError(tok.pos, v);
        return { t: "float", v };
      }
    }
    throw this.posError(node, `${name}: unknown type ${goTypeName(node)}`);
  }

  private decodeBool(name: string, node: Node): GoValue {
    if (node.kind === "literal" && node.token.type === TokenType.BOOL) {
      return { t: "bool", v: tokenText(node.token) === "true" };
    }
    throw this.posError(node, `${name}: unknown type ${goTypeName(node)}`);
  }
}

/** Decodes a parsed file the way Go decodes into map[string]interface{}. Throws HclError. */
export function decodeGeneric(file: ParsedFile): GoValue {
  return new GenericDecoder(file.json).decode("root", file.root, "map", undefined);
}

/** parse + decodeGeneric. */
export function parseToGoValue(input: string | Uint8Array, options?: ParseOptions): GoValue {
  return decodeGeneric(parse(input, options));
}

export type PlainValue = string | number | bigint | boolean | PlainValue[] | { [key: string]: PlainValue };

/**
 * A GoValue as ordinary JavaScript data: maps become null-prototype objects, ints become
 * numbers (bigint beyond 2^53, so int64 values survive exactly).
 */
export function toPlain(v: GoValue): PlainValue {
  switch (v.t) {
    case "map": {
      const o: { [key: string]: PlainValue } = Object.create(null);
      for (const [k, x] of v.m) o[k] = toPlain(x);
      return o;
    }
    case "slice":
      return v.items.map(toPlain);
    case "int":
      return v.v >= BigInt(Number.MIN_SAFE_INTEGER) && v.v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v.v)
        : v.v;
    default:
      return v.v;
  }
}
