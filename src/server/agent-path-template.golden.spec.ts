/**
 * Parity with Go: every template in testdata/agent-path-template-golden.json was executed by
 * Go's text/template with sprig's function bodies (see testdata/template-golden/README.md).
 * Our engine must produce the same output, fail where Go fails, and for a missing tag give
 * Go's exact message.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isPluginError } from "../common/errors";
import { type AgentPathTemplateData, compileAgentPathTemplate } from "./agent-path-template";

interface GoldenCase {
  readonly template: string;
  readonly output?: string;
  readonly parseError?: string;
  readonly execError?: string;
}

const golden = JSON.parse(
  readFileSync(new URL("./testdata/agent-path-template-golden.json", import.meta.url), "utf8"),
) as { tags: Record<string, string>; cases: GoldenCase[] };

const data: AgentPathTemplateData = {
  accountId: "123456789012",
  region: "us-west-2",
  instanceId: "i-0b22a22eec53b9321",
  tags: new Map(Object.entries(golden.tags)),
};

/**
 * Where we deliberately differ from Go, with the reason. Each entry is a template whose Go
 * result we do not reproduce.
 */
const DELIBERATE: Record<string, string> = {
  // Unbounded or multi-template constructs are refused at configuration time, by name.
  "/{{ range .Tags }}x{{ end }}": "range is not supported",
  '/{{ define "x" }}y{{ end }}': "define is not supported",
};

/** Go reports these at a node that is an artefact of its evaluator (e.g. "at <2>"). */
const LOCATION_DIFFERS: Record<string, string> = {
  "/{{ (list 1 2).x }}": "Go points at the last argument evaluated",
};

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

describe("agent_path_template matches Go text/template + sprig", () => {
  const cases = golden.cases.filter((c) => DELIBERATE[c.template] === undefined);

  it.each(cases.filter((c) => c.output !== undefined).map((c) => [c.template, c.output ?? ""] as const))(
    "renders %j like Go",
    (template, output) => {
      expect(run(template)).toEqual({ kind: "output", value: output });
    },
  );

  it.each(cases.filter((c) => c.parseError !== undefined).map((c) => [c.template] as const))(
    "refuses %j at configuration time, as Go's parser does",
    (template) => {
      expect(run(template).kind).toBe("parse");
    },
  );

  it.each(
    cases.filter((c) => c.execError !== undefined).map((c) => [c.template, c.execError ?? ""] as const),
  )("fails %j, as Go does (at configuration time when that is certain)", (template, goError) => {
    const outcome = run(template);
    expect(outcome.kind).not.toBe("output");
    // Go's text byte for byte (the generator's struct lived in package main, SPIRE's in
    // awsiid), except where Go's "at <node>" bookkeeping points at an odd node.
    if (outcome.kind === "exec" && LOCATION_DIFFERS[template] === undefined) {
      expect(outcome.message.startsWith(goError.replaceAll("main.", "awsiid."))).toBe(true);
    }
  });
});
