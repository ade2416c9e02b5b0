/**
 * Parity with SPIRE: every template in testdata/golden.json was executed by SPIRE v1.13.3's
 * own stack, Go 1.25.3's text/template with sprig v3.3.0 through SPIRE's allow-list (see
 * testdata/golden/README.md). Our engine must produce the
 * same output, fail where Go fails, and for a missing tag give Go's exact message, except
 * where it refuses a template on purpose: then the refusal names the construct and the reason.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { isPluginError } from "../common/errors";
import { REFUSED_FUNCS } from "./functions";
import { type AgentPathTemplateData, compileAgentPathTemplate, prepareTemplateFunctions } from "./index";

// The regex functions' engine loads on demand, as Configure loads it.
beforeAll(() => prepareTemplateFunctions(undefined));

interface GoldenCase {
  readonly template: string;
  readonly output?: string;
  readonly parseError?: string;
  readonly execError?: string;
}

const golden = JSON.parse(readFileSync(new URL("./testdata/golden.json", import.meta.url), "utf8")) as {
  tags: Record<string, string>;
  cases: GoldenCase[];
};

const data: AgentPathTemplateData = {
  accountId: "123456789012",
  region: "us-west-2",
  instanceId: "i-0b22a22eec53b9321",
  tags: new Map(Object.entries(golden.tags)),
};

/** Go actions we refuse on purpose: the template, and what the refusal must say. */
const DELIBERATE: Record<string, string> = {
  "/{{ range .Tags }}x{{ end }}":
    'action "range" is not available in agent_path_template: a loop\'s output has no bound',
  '/{{ define "x" }}y{{ end }}':
    'action "define" is not available in agent_path_template: a path is a single template',
};

/**
 * The refused functions a template calls, in source order: identifiers outside string
 * literals and comments that are not a field (.x) or a variable ($x).
 */
function refusedCalls(template: string): string[] {
  const code = [...template.matchAll(/\{\{(.*?)\}\}/gs)]
    .map((m) => m[1] ?? "")
    .join(" ")
    .replace(/\/\*.*?\*\//gs, " ")
    .replace(/"(?:[^"\\]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*'/g, " ");
  return [...code.matchAll(/(?<![.$\w])[A-Za-z_]\w*/g)].map((m) => m[0]).filter((n) => REFUSED_FUNCS.has(n));
}

type Outcome =
  | { kind: "output"; value: string }
  | { kind: "parse"; message: string }
  | { kind: "exec"; message: string };

function run(template: string): Outcome {
  let compiled: ReturnType<typeof compileAgentPathTemplate>;
  try {
    compiled = compileAgentPathTemplate(template);
  } catch (err) {
    if (!isPluginError(err)) throw err;
    return { kind: "parse", message: err.message };
  }
  try {
    return { kind: "output", value: compiled.render(data) };
  } catch (err) {
    if (!isPluginError(err)) throw err;
    return { kind: "exec", message: err.message };
  }
}

const refusedCases = golden.cases.filter(
  (c) =>
    c.parseError === undefined && DELIBERATE[c.template] === undefined && refusedCalls(c.template).length > 0,
);
const goCases = golden.cases.filter((c) => DELIBERATE[c.template] === undefined && !refusedCases.includes(c));

describe("agent_path_template matches Go text/template + sprig", () => {
  it.each(goCases.filter((c) => c.output !== undefined).map((c) => [c.template, c.output ?? ""] as const))(
    "renders %j like Go",
    (template, output) => {
      expect(run(template)).toEqual({ kind: "output", value: output });
    },
  );

  it.each(goCases.filter((c) => c.parseError !== undefined).map((c) => [c.template] as const))(
    "refuses %j at configuration time, as Go's parser does",
    (template) => {
      expect(run(template).kind).toBe("parse");
    },
  );

  it.each(
    goCases.filter((c) => c.execError !== undefined).map((c) => [c.template, c.execError ?? ""] as const),
  )("fails %j, as Go does (at configuration time when that is certain)", (template, goError) => {
    const outcome = run(template);
    expect(outcome.kind).not.toBe("output");
    // Go's text byte for byte (the generator's struct lived in package main, SPIRE's in awsiid).
    if (outcome.kind === "exec") {
      expect(outcome.message.startsWith(goError.replaceAll("main.", "awsiid."))).toBe(true);
    }
  });
});

describe("agent_path_template refuses on purpose what Go runs", () => {
  it.each(Object.entries(DELIBERATE))("refuses %j: %s", (template, reason) => {
    expect(golden.cases.some((c) => c.template === template)).toBe(true);
    const outcome = run(template);
    expect(outcome.kind).toBe("parse");
    if (outcome.kind === "parse") expect(outcome.message).toContain(reason);
  });

  it.each(refusedCases.map((c) => [c.template, refusedCalls(c.template)[0] ?? ""] as const))(
    "refuses %j by naming %s and why",
    (template, name) => {
      const outcome = run(template);
      expect(outcome).toEqual({ kind: "parse", message: expect.any(String) });
      if (outcome.kind === "parse") {
        expect(outcome.message).toContain(
          `function "${name}" is not available in agent_path_template: ${REFUSED_FUNCS.get(name)}`,
        );
      }
    },
  );

  it("keeps most of the Go corpus: the cut removes functions, not the language", () => {
    expect(goCases.length).toBeGreaterThan(200);
    expect(refusedCases.length + Object.keys(DELIBERATE).length + goCases.length).toBe(golden.cases.length);
  });
});
