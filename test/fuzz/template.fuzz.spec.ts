/**
 * Fuzzing of agent_path_template with fast-check. FUZZ_RUNS sets the number of cases per
 * property (default 10,000; `npm run fuzz` runs 1,000,000). Property: compiling and rendering
 * any template against any data never crashes and never hangs; the result is either a string
 * within the output bound or a PluginError (InvalidArgument at compile time; PermissionDenied
 * or Internal at render time). Each template runs twice: under the product's limits, and under
 * tiny ones so that the step, output, string and list bounds are all reached and hold.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Code, isPluginError } from "../../src/common/errors";
import {
  type AgentPathTemplateData,
  AWS_IID_TEMPLATE_SCHEMA,
  type CompiledPathTemplate,
  compilePathTemplate,
  PATH_TEMPLATE_LIMITS,
  type PathTemplateLimits,
  prepareTemplateFunctions,
} from "../../src/template";
import { REFUSED_FUNCS, TEMPLATE_FUNCS } from "../../src/template/functions";

// The regex functions' engine loads on demand, as Configure loads it.
beforeAll(() => prepareTemplateFunctions(undefined));

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

/** Mostly functions that run, so that the generator reaches the executor. */
const funcName = fc.oneof(
  { arbitrary: fc.constantFrom(...TEMPLATE_FUNCS.keys()), weight: 8 },
  { arbitrary: fc.constantFrom(...REFUSED_FUNCS.keys(), "env", "nope"), weight: 1 },
);

const TINY: PathTemplateLimits = { maxOutputBytes: 64, maxStringBytes: 256, maxListLength: 8, maxSteps: 12 };

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
      funcName,
      fc.array(tie("op"), { maxLength: 3 }),
      fc.array(fc.tuple(funcName, fc.array(tie("op"), { maxLength: 2 })), {
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

const seen = { compiled: 0, rendered: 0, limited: 0 };

function values(data: AgentPathTemplateData) {
  return {
    InstanceID: data.instanceId,
    AccountID: data.accountId,
    Region: data.region,
    PluginName: "aws_iid",
    TrustDomain: "",
    Tags: data.tags,
  };
}

function renderWithin(
  compiled: CompiledPathTemplate,
  data: AgentPathTemplateData,
  limits: PathTemplateLimits,
) {
  try {
    const out = compiled.render(values(data));
    expect(typeof out).toBe("string");
    expect(Buffer.byteLength(out, "utf8")).toBeLessThanOrEqual(limits.maxOutputBytes);
    return true;
  } catch (err) {
    if (!isPluginError(err)) throw err;
    expect([Code.PermissionDenied, Code.Internal]).toContain(err.code);
    if (/exceeds/.test(err.message)) {
      // A bound is a rejection of the node, never a template bug.
      expect(err.code).toBe(Code.PermissionDenied);
      seen.limited++;
    }
    return false;
  }
}

function property(template: string, data: AgentPathTemplateData): void {
  let compiled: CompiledPathTemplate;
  let tiny: CompiledPathTemplate;
  try {
    compiled = compilePathTemplate(template, AWS_IID_TEMPLATE_SCHEMA);
    tiny = compilePathTemplate(template, AWS_IID_TEMPLATE_SCHEMA, TINY);
  } catch (err) {
    expect(isPluginError(err)).toBe(true);
    if (isPluginError(err)) expect(err.code).toBe(Code.InvalidArgument);
    return;
  }
  seen.compiled++;
  if (renderWithin(compiled, data, PATH_TEMPLATE_LIMITS)) seen.rendered++;
  renderWithin(tiny, data, TINY);
}

describe("agent_path_template fuzzing", () => {
  it(
    "structured templates: a bounded string or a PluginError",
    () => {
      fc.assert(fc.property(structured, dataArb, property), { numRuns: RUNS });
      // The generator must reach the executor, not just the parser's error paths.
      expect(seen.compiled).toBeGreaterThan(RUNS / 10);
      expect(seen.rendered).toBeGreaterThan(RUNS / 20);
      expect(seen.limited).toBeGreaterThan(RUNS / 100);
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
