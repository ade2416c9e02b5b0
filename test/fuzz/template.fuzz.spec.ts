/**
 * Fuzzing of agent_path_template with fast-check. FUZZ_RUNS sets the number of cases per
 * property (default 10,000; `npm run fuzz` runs 1,000,000). Property: compiling and rendering
 * any template against any data never crashes and never hangs; the result is either a string
 * within the output bound or a PluginError (InvalidArgument at compile time; PermissionDenied
 * or Internal at render time).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Code, isPluginError } from "../../src/common/errors";
import {
  type AgentPathTemplateData,
  compileAgentPathTemplate,
  MAX_AGENT_PATH_BYTES,
} from "../../src/server/agent-path-template";
import { TEMPLATE_FUNCS, UNSUPPORTED_FUNCS } from "../../src/server/private/go-template-funcs";

const RUNS = Number.parseInt(process.env.FUZZ_RUNS ?? "", 10) || 10_000;
const TIMEOUT = Math.max(120_000, RUNS * 5);

const tagKeys = ["Name", "env", "team", "aws:autoscaling:groupName", "k"];

const dataArb: fc.Arbitrary<AgentPathTemplateData> = fc.record({
  accountId: fc.oneof(fc.constant("123456789012"), fc.string({ maxLength: 20 })),
  region: fc.oneof(fc.constant("us-west-2"), fc.string({ maxLength: 20 })),
  instanceId: fc.oneof(fc.constant("i-0b22a22eec53b9321"), fc.string({ maxLength: 20 })),
  tags: fc
    .dictionary(
      fc.oneof(fc.constantFrom(...tagKeys), fc.string({ maxLength: 8 })),
      fc.string({ maxLength: 40 }),
      {
        maxKeys: 6,
      },
    )
    .map((d) => new Map(Object.entries(d))),
});

const funcNames = [...TEMPLATE_FUNCS.keys(), ...UNSUPPORTED_FUNCS.keys(), "env", "nope"];

/** Operands of a command: literals, fields, tags, variables, nested pipelines. */
const operand: fc.Arbitrary<string> = fc.letrec<{ op: string; pipe: string }>((tie) => ({
  op: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      ".",
      "$",
      ".Region",
      ".AccountID",
      ".InstanceID",
      ".PluginName",
      ".TrustDomain",
      ".Tags",
      "nil",
    ),
    fc.constantFrom(...tagKeys.filter((k) => !k.includes(":"))).map((k) => `.Tags.${k}`),
    fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('"[a-z]+"', '"(a+)+$"', '"^us-"', '"\\\\d"', '"("', '"a**"'),
    fc.integer({ min: -5, max: 3000 }).map(String),
    fc.constantFrom("1.5", "1e6", "0x1F", "'a'", "true", "false"),
    tie("pipe").map((p) => `(${p})`),
  ),
  pipe: fc
    .tuple(
      fc.constantFrom(...funcNames),
      fc.array(tie("op"), { maxLength: 3 }),
      fc.array(fc.tuple(fc.constantFrom(...funcNames), fc.array(tie("op"), { maxLength: 2 })), {
        maxLength: 2,
      }),
    )
    .map(([fn, args, rest]) =>
      [`${fn} ${args.join(" ")}`, ...rest.map(([f, a]) => `${f} ${a.join(" ")}`)].join(" | "),
    ),
})).op;

const action = fc.oneof(
  operand.map((o) => `{{ ${o} }}`),
  operand.map((o) => `{{- ${o} -}}`),
  fc.tuple(operand, operand, operand).map(([c, a, b]) => `{{ if ${c} }}${a}{{ else }}{{ ${b} }}{{ end }}`),
  fc.tuple(operand, operand).map(([c, a]) => `{{ with ${c} }}{{ ${a} }}{{ end }}`),
  operand.map((o) => `{{ $v := ${o} }}{{ $v }}`),
  fc.constantFrom(
    "{{ range . }}x{{ end }}",
    "{{ end }}",
    "{{ else }}",
    "{{",
    "}}",
    "{{/* c */}}",
    "{{ .Nope }}",
  ),
);

const structured = fc
  .array(fc.oneof(action, fc.constantFrom("/", "/aws_iid/", "-", " ", "\n")), { maxLength: 8 })
  .map((parts) => parts.join(""));

const chaotic = fc.string({
  maxLength: 200,
  unit: fc.constantFrom(
    "{",
    "}",
    "-",
    " ",
    ".",
    "$",
    "|",
    "(",
    ")",
    '"',
    "`",
    "'",
    "/",
    "a",
    "T",
    "1",
    "\\",
    "\n",
    "\u00e9",
  ),
});

const seen = { compiled: 0, rendered: 0 };

function property(template: string, data: AgentPathTemplateData): void {
  let compiled: ReturnType<typeof compileAgentPathTemplate>;
  try {
    compiled = compileAgentPathTemplate(template);
  } catch (err) {
    expect(isPluginError(err)).toBe(true);
    if (isPluginError(err)) expect(err.code).toBe(Code.InvalidArgument);
    return;
  }
  seen.compiled++;
  try {
    const out = compiled.render(data);
    seen.rendered++;
    expect(typeof out).toBe("string");
    expect(Buffer.byteLength(out, "utf8")).toBeLessThanOrEqual(MAX_AGENT_PATH_BYTES);
  } catch (err) {
    if (!isPluginError(err)) throw err;
    expect([Code.PermissionDenied, Code.Internal]).toContain(err.code);
  }
}

describe("agent_path_template fuzzing", () => {
  it(
    "structured templates: a bounded string or a PluginError",
    () => {
      fc.assert(fc.property(structured, dataArb, property), { numRuns: RUNS });
      // The generator must reach the executor, not just the parser's error paths.
      expect(seen.compiled).toBeGreaterThan(RUNS / 10);
      expect(seen.rendered).toBeGreaterThan(RUNS / 20);
    },
    TIMEOUT,
  );

  it(
    "chaotic templates: a bounded string or a PluginError",
    () => {
      fc.assert(fc.property(chaotic, dataArb, property), { numRuns: RUNS });
    },
    TIMEOUT,
  );
});
