// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL "${...}" interpolation text is the test data.
/**
 * The differential corpus: hand-written edge cases (each names the HCL v1 behaviour it pins
 * down), files under corpus/ (SPIRE's aws_iid doc examples, SPIRE-printed plugin_data,
 * JSON configs), and deterministic generated inputs. Every entry must give the same value,
 * or the same error at the same line:column, as Go's hashicorp/hcl v1.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const handWritten: readonly string[] = [
  // empty and trivial
  "",
  "   \n\n",
  "# only a comment",
  "a = 1",
  'a = "b"',
  "a = true\nb = false",
  // blocks vs assignment of objects: both a list holding one object
  'x { a = "b" }',
  'x = { a = "b" }',
  "x {}",
  "x = {}",
  "x { a = 1 }\nx { b = 2 }",
  "x { y { z = 1 } }",
  "x y { a = 1 }",
  "x y z { a = 1 }",
  'x "y" { a = 1 }\nx "z" { b = 2 }',
  "x y { a = 1 }\nx { b = 2 }",
  "x { b = 2 }\nx y { a = 1 }",
  "a = 1\na b { c = 1 }",
  "X y { a = 1 }\nx z { b = 2 }",
  // repeated scalars: decoded into the previous value's type
  'a = "x"\na = "y"',
  'a = "x"\na = 5',
  'a = 5\na = "x"',
  'a = 5\na = "12"',
  'a = true\na = "x"',
  "a = 1.5\na = 2",
  "a = [1]\na = [2, 3]",
  "a = [1]\na = 2",
  "a { b = 1 }\na = 2",
  "a = 2\na { b = 1 }",
  'a = "s"\na { b = 1 }',
  // lists
  "a = []",
  'a = ["x", "y",]',
  'a = [1, "two", 3.0, true]',
  "a = [[1, 2], [3]]",
  "a = [[1] [2]]",
  "a = [{ b = 1 }, { c = 2 }]",
  "a = [{ b = { c = 1 } }]",
  "a = [1 2]",
  "a = [1,,2]",
  "a = [",
  "a = [1",
  "a = [{ b = }]",
  "a = [[1, ]]",
  "a = [[1, }]",
  'a = [\n  "x", # one\n  "y", // two\n  /* three */ "z"\n]',
  // numbers
  "a = 0",
  "a = -1",
  "a = 0x1F",
  "a = 0XfF",
  "a = 0x",
  "a = 017",
  "a = 08",
  "a = 098",
  "a = 0159.5",
  "a = 9223372036854775807",
  "a = 9223372036854775808",
  "a = -9223372036854775808",
  "a = -9223372036854775809",
  "a = 12345678901234567890",
  "a = 1.5",
  "a = -0.0",
  "a = 1e3",
  "a = 1E-3",
  "a = 1.5e+10",
  "a = 1e400",
  "a = 1e-400",
  "a = .5",
  "a = .5e3",
  "a = 1.",
  "a = 1.e2",
  "a = 0.5",
  "a = 0e1",
  "a = 1e",
  "a = 1e\nb = 2",
  "a = 123abc",
  "a = - 1",
  "a = +1",
  // strings and escapes
  'a = "tab\\there"',
  'a = "quote \\" inside"',
  'a = "\\\\"',
  'a = "\\x41\\101\\u00e9\\U0001F600"',
  'a = "\\xff"',
  'a = "\\U00110000"',
  'a = "\\ud800"',
  'a = "\\q"',
  'a = "\\x4"',
  'a = "unterminated',
  'a = "line\nbreak"',
  'a = "${var.x}"',
  'a = "${ "quoted" }"',
  'a = "${\n}"',
  'a = "pre ${a{b}c} post"',
  'a = "$notinterp"',
  'a = "{{ .AccountID }}"',
  'a = "héllo wörld ✓"',
  'a = "\\a\\b\\f\\n\\r\\t\\v"',
  'a = ""',
  // keys
  '"quoted" = 1',
  '"with space" = 1',
  '"esc\\"aped" = 1',
  "dotted.key = 1",
  "dashed-key = 1",
  "under_score = 1",
  "_lead = 1",
  "k9 = 1",
  "ключ = 1",
  "日本 = 1",
  '"" = 1',
  "a b = 1",
  "= 1",
  "1 = 1",
  "a",
  "a b",
  "a =",
  "a = \n",
  "x { a }",
  "x { a = }",
  "x { a = }\n}",
  "x {",
  "x { y {",
  "}",
  "{",
  "a = }",
  "a = ]",
  "a = ,",
  "a = b",
  "a = 1,\nb = 2",
  "a = 1 b = 2",
  "x { a = 1, b = 2 }",
  "x { a = 1 } , y { b = 1 }",
  "a == 1",
  "a = 1 +",
  "a = @",
  "a = 1\n@",
  "a = 1\n\u0000",
  "a = \u0000",
  'a = "x\u0000y"',
  "a = \uE123",
  // comments
  "# c\na = 1 # trailing\n// also\nb = 2 /* block */",
  "/* multi\nline */ a = 1",
  "a = 1 /* unterminated",
  "/ a = 1",
  "a = 1\n/",
  "a = /* inline */ 1",
  // heredocs
  "a = <<EOF\nhello\nworld\nEOF\n",
  "a = <<EOF\nhello\nEOF",
  "a = <<EOF\n  indented\n  EOF\n",
  "a = <<-EOF\n    one\n      two\n    EOF\n",
  "a = <<-EOF\n  one\n two\n  EOF\n",
  "a = <<-EOF\none\nEOF\n",
  "a = <<-EOF\none\n EOF\n",
  "a = <<EOF\nEOF\n",
  "a = <<EOF\n\nEOF\n",
  "a = <<EOF\nEOFX\nEOF\n",
  "a = <<EOF\nXEOF\nEOF\n",
  "a = <<EOF\n",
  "a = <<EOF",
  "a = <<\nx\n\n",
  "a = <<-\nx\n",
  "a = <<EOF x\nEOF\n",
  "a = <EOF\nEOF\n",
  "a = <<EOF1\nbody\nEOF1\nb = 2",
  'a = [<<EOF\nin list\nEOF\n, "x"]',
  "a = <<EOF\r\nwindows\r\nEOF\r\n",
  "a = <<EOF\r\r\nx\r\nEOF\r\r\n",
  "a = <<EOF\nx\nEOF\r\r\n",
  // CRLF and whitespace
  'a = "b"\r\nc = 1\r\n',
  "a = 1\r",
  "\ta\t=\t1\t",
  // unicode and bad UTF-8 handled in the spec with bytes
  'a = "x" # ünïcode comment',
  // JSON input
  "{}",
  '{"a": 1}',
  '{"a": "b", "c": true, "d": null}',
  '{"a": 1.5, "b": -2, "c": 1e3}',
  '{"a": [1, "x", true, [2], null]}',
  '{"a": [{"b": 1}, {"c": 2}]}',
  '{"a": {"b": {"c": 1}}}',
  '{"a": {"b": 1, "c": {"d": 2}}}',
  '{"a": {}}',
  '{"a": []}',
  '{"a": 1,}',
  '{"a": 1 "b": 2}',
  '{"a": 1] junk',
  '{"a" "b": 1}',
  '{"a": 01}',
  '{"a": 0}',
  '{"a": -}',
  '{"a": tru}',
  '{"a": "x\\/y"}',
  '{"a": "\\u00e9"}',
  '{"a": "\\ud83d\\ude00"}',
  '{"a": "${x}"}',
  '{"a": "line\nbreak"}',
  '{"a": ',
  '{"a"',
  "{",
  "{1: 2}",
  '{"a": {"b": [{"c": 1}, {"c": 2}]}}',
  '  {"padded": true}',
  '{"plugin_data": {"x": ["a"], "y": false}}',
  '{"a": .5}',
  '{"a": 1.}',
  '{"a": "\\x41"}',
  '{"a": "\\q"}',
  '{"a": "\\u12',
];

export interface CorpusFile {
  name: string;
  text: string;
}

/** Files in corpus/: *.hcl and *.json are plugin_data or whole configs (see each header). */
export function corpusFiles(): CorpusFile[] {
  const dir = join(here, "corpus");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".hcl") || f.endsWith(".json") || f.endsWith(".conf"))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

/** A small deterministic PRNG so the generated corpus is the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ["a", "b", "assume_role", '"quoted"', "x.y", "k-1", "verify_organization", "A"];
const SCALARS = ['"s"', '""', "1", "-7", "0x10", "1.5", "true", "false", '"${x}"', "017", '"12"', "2e3"];

/**
 * Random well-formed and slightly broken HCL built from the grammar's pieces: nested blocks,
 * lists, repeated keys, comments, with occasional token deletions to exercise error paths.
 */
export function generatedCases(count: number, seed = 1): string[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const value = (depth: number): string => {
    const r = rnd();
    if (depth > 2 || r < 0.55) return pick(SCALARS);
    if (r < 0.75) {
      const n = Math.floor(rnd() * 4);
      return `[${Array.from({ length: n }, () => (rnd() < 0.8 ? pick(SCALARS) : value(depth + 1))).join(", ")}]`;
    }
    return `{\n${body(depth + 1)}}`;
  };
  const body = (depth: number): string => {
    const n = 1 + Math.floor(rnd() * 4);
    let out = "";
    for (let i = 0; i < n; i++) {
      const indent = "  ".repeat(depth);
      const r = rnd();
      if (r < 0.1) out += `${indent}# comment ${i}\n`;
      if (r > 0.85 && depth < 3) out += `${indent}${pick(KEYS)} {\n${body(depth + 1)}${indent}}\n`;
      else out += `${indent}${pick(KEYS)} = ${value(depth)}\n`;
    }
    return out;
  };
  const cases: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = body(0);
    if (rnd() < 0.25) {
      // Break it: drop one character, so error positions get exercised too.
      const at = Math.floor(rnd() * text.length);
      text = text.slice(0, at) + text.slice(at + 1);
    }
    cases.push(text);
  }
  return cases;
}
