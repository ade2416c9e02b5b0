/**
 * `agent_path_template`: the Go text/template that turns an attested node's data into the path
 * of its agent SPIFFE ID, under /spire/agent. The engine's public entry, as SPIRE's
 * pkg/common/agentpathtemplate is for its attestors: compile once at Configure, render per
 * attestation, over the root data a method declares (a PathTemplateSchema). The two roots are
 * below: aws_iid's (SPIRE's agentPathTemplateData, field for field) and aws_iam's.
 *
 * Parity with SPIRE v1.13.3 (pkg/common/agentpathtemplate, pkg/server/plugin/nodeattestor/awsiid),
 * checked by golden.spec.ts against what SPIRE's own stack (Go 1.25.3, sprig v3.3.0) produces:
 * - Go text/template semantics (parse.ts, exec.ts) with `missingkey=error`: `.Tags.Name` on an
 *   untagged instance fails with Go's text `map has no entry for key "Name"`, while
 *   `index .Tags "Name"` yields "";
 * - a parse error is reported as `failed to parse agent svid template: "<template>"`.
 *
 * Deliberate differences, each because the SPIRE behaviour hurts an operator:
 * - the functions are the part of SPIRE's sprig allow-list a path can use (functions.ts); the
 *   rest, and range/define/template/block, are refused at configuration time by name;
 * - errors at attestation time carry a gRPC code chosen by cause: a missing tag, `fail`, or a
 *   node value over a bound is PermissionDenied (the node is rejected; retrying cannot help),
 *   a template that is wrong for every node is Internal (SPIRE: Internal for all);
 * - fields the data does not have (`.Hostname` instead of `.Tags.Hostname`) are refused at
 *   configuration time; SPIRE accepts them and then fails every attestation;
 * - bounds: template ≤ 4 KiB, output ≤ 2048 bytes, intermediate strings ≤ 64 KiB, lists ≤
 *   4096 elements, 100,000 evaluation steps. SPIRE has none. Regular expressions run in linear
 *   time (re2js), as Go's do.
 */
import { Code, internal, invalidArgument, PluginError } from "../common/errors";
import { goQuote } from "../common/go-strings";
import { type ExecLimits, executeTemplate, TemplateExecError } from "./exec";
import {
  loadRegexFunctions,
  REFUSED_FUNCS,
  REGEX_FUNCS,
  regexFunctionsLoaded,
  TEMPLATE_FUNCS,
} from "./functions";
import { type ArgNode, type PipeNode, parseTemplate, type TemplateNode } from "./parse";
import { GoMap, GoStruct, type GoValue } from "./values";

/** SPIRE's default (note the missing space in `{{ .PluginName}}`, kept byte for byte). */
export const DEFAULT_AGENT_PATH_TEMPLATE =
  "/{{ .PluginName}}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}";

/** SPIRE's caws.PluginName: the template sees this, never the configured plugin name. */
export const AWS_IID_PLUGIN_NAME = "aws_iid";

export const MAX_TEMPLATE_LENGTH = 4096;
/** A SPIFFE ID longer than 2048 bytes is refused by SPIFFE implementations. */
export const MAX_AGENT_PATH_BYTES = 2048;

/** What one render may use; the fuzz target runs tighter ones to reach every bound. */
export type PathTemplateLimits = ExecLimits;

export const PATH_TEMPLATE_LIMITS: PathTemplateLimits = {
  maxOutputBytes: MAX_AGENT_PATH_BYTES,
  maxStringBytes: 64 * 1024,
  maxListLength: 4096,
  maxSteps: 100_000,
};

const MAX_NESTING = 50;

/**
 * The root value a template sees: a Go struct whose fields the caller names. String fields
 * hold plain values; at most one field is a map[string]string (aws_iid's `.Tags`), read with
 * missingkey=error.
 */
export interface PathTemplateSchema {
  /** Go type name shown in errors, e.g. SPIRE's `awsiid.agentPathTemplateData`. */
  readonly typeName: string;
  /** Every root field, in the order the configuration hint lists them (map field included). */
  readonly fields: readonly string[];
  /** The map[string]string field, if any, and its Go type name (`Tags`, `awsiid.instanceTags`). */
  readonly map?: {
    readonly field: string;
    readonly typeName: string;
    /** Appended to the unknown-field hint, e.g. "tags: .Tags.<key>". */
    readonly hint: string;
    /** Extra text for a missing key (PermissionDenied): names the node and what to change. */
    readonly missingKeyHint: (key: string, values: PathTemplateValues) => string;
  };
}

/** Field values for one render: strings, and a map for the schema's map field. */
export type PathTemplateValues = Readonly<Record<string, string | ReadonlyMap<string, string>>>;

export interface CompiledPathTemplate {
  readonly text: string;
  /** Whether the template reads the schema's map field (SPIRE: the text contains ".Tags"). */
  readonly usesMap: boolean;
  /**
   * Execute the template. Throws PluginError: PermissionDenied for a missing map key, `fail`,
   * or a bound exceeded by node data; Internal for a template that cannot work for any node.
   */
  render(values: PathTemplateValues): string;
}

/** SPIRE's agentPathTemplateData: the aws_iid root. */
export const AWS_IID_TEMPLATE_SCHEMA: PathTemplateSchema = {
  typeName: "awsiid.agentPathTemplateData",
  fields: ["InstanceID", "AccountID", "Region", "PluginName", "TrustDomain", "Tags"],
  map: {
    field: "Tags",
    typeName: "awsiid.instanceTags",
    hint: "tags: .Tags.<key>",
    missingKeyHint: (key, values) =>
      `instance ${String(values.InstanceID)} has no tag ${goQuote(key)}; tag the instance or change agent_path_template`,
  },
};

/** The aws_iam root (ours; docs/aws-iam.md). Role fields are "" for IAM users, user fields "" for roles. */
export const AWS_IAM_TEMPLATE_SCHEMA: PathTemplateSchema = {
  typeName: "awsiam.agentPathTemplateData",
  fields: [
    "PluginName",
    "Partition",
    "AccountID",
    "PrincipalType",
    "PrincipalARN",
    "RoleName",
    "RoleARN",
    "SessionName",
    "UserName",
    "UserID",
  ],
};

function parseError(text: string, detail: string): PluginError {
  return invalidArgument(`failed to parse agent svid template: ${goQuote(text)}: ${detail}`);
}

/**
 * Loads what a template may call that is not loaded with this module: the regexp engine, when
 * `text` (the template, or plugin_data holding it; undefined: not known) names a regex
 * function. Configure awaits it before compiling.
 */
export async function prepareTemplateFunctions(text: string | undefined): Promise<void> {
  if (text === undefined || /regex/i.test(text)) await loadRegexFunctions();
}

/**
 * Compile a path template over the caller's root fields (see PathTemplateSchema). A template
 * that calls a regex function needs prepareTemplateFunctions(text) first.
 */
export function compilePathTemplate(
  text: string,
  schema: PathTemplateSchema,
  limits: PathTemplateLimits = PATH_TEMPLATE_LIMITS,
): CompiledPathTemplate {
  if (text.length > MAX_TEMPLATE_LENGTH) {
    throw invalidArgument(
      `failed to parse agent svid template: ${goQuote(`${text.slice(0, 64)}…`)}: ` +
        `template is ${text.length} characters long; the limit is ${MAX_TEMPLATE_LENGTH}`,
    );
  }
  let root: TemplateNode[];
  let usesRegex = false;
  try {
    root = parseTemplate(text, {
      isFunction: (name) => {
        usesRegex ||= REGEX_FUNCS.has(name);
        return TEMPLATE_FUNCS.has(name);
      },
      refusedFunction: (name) => REFUSED_FUNCS.get(name),
      maxDepth: MAX_NESTING,
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const hint = /function "[^"]+" not defined/.test(detail)
      ? " (agent_path_template allows Go's builtin functions and part of SPIRE's sprig allow-list only)"
      : "";
    throw parseError(text, `template: ${detail}${hint}`);
  }
  if (usesRegex && !regexFunctionsLoaded()) {
    throw internal(
      "agent_path_template calls a regex function, and prepareTemplateFunctions was not awaited",
    );
  }
  checkRootFields(text, root, schema);
  const map = schema.map?.field;
  const usesMap = map !== undefined && (text.includes(`.${map}`) || referencesField(root, map));
  return {
    text,
    usesMap,
    render: (values) => render(text, root, schema, values, limits),
  };
}

/** The data an aws_iid template sees; the same fields as SPIRE's agentPathTemplateData. */
export interface AgentPathTemplateData {
  readonly accountId: string;
  readonly region: string;
  readonly instanceId: string;
  /** Instance tags by key; SPIRE passes an empty map when the template does not use `.Tags`. */
  readonly tags: ReadonlyMap<string, string>;
}

export interface CompiledTemplate {
  readonly text: string;
  /** Whether the template reads `.Tags` (SPIRE: the text contains ".Tags"). */
  readonly usesTags: boolean;
  /** As CompiledPathTemplate.render, over aws_iid's data. */
  render(data: AgentPathTemplateData): string;
}

/** aws_iid's agent_path_template. */
export function compileAgentPathTemplate(text: string): CompiledTemplate {
  const compiled = compilePathTemplate(text, AWS_IID_TEMPLATE_SCHEMA);
  return {
    text,
    usesTags: compiled.usesMap,
    render: (data) =>
      compiled.render({
        InstanceID: data.instanceId,
        AccountID: data.accountId,
        Region: data.region,
        PluginName: AWS_IID_PLUGIN_NAME,
        // SPIRE declares TrustDomain but never fills it.
        TrustDomain: "",
        Tags: data.tags,
      }),
  };
}

/** SPIRE fetches the instance's tags only when the template needs them. */
export function usesTags(compiled: CompiledTemplate): boolean {
  return compiled.usesTags;
}

function render(
  text: string,
  root: readonly TemplateNode[],
  schema: PathTemplateSchema,
  values: PathTemplateValues,
  limits: PathTemplateLimits,
): string {
  const fields = new Map<string, GoValue>();
  for (const name of schema.fields) {
    const v = values[name];
    if (name === schema.map?.field) {
      // Shared, not copied: no function can write to a map.
      fields.set(name, new GoMap(schema.map.typeName, typeof v === "object" ? v : new Map()));
    } else {
      fields.set(name, typeof v === "string" ? v : "");
    }
  }
  try {
    return executeTemplate(text, root, new GoStruct(schema.typeName, fields), limits);
  } catch (err) {
    if (!(err instanceof TemplateExecError)) {
      throw new PluginError(Code.Internal, `agent_path_template failed: ${String(err)}`, { cause: err });
    }
    switch (err.reason) {
      case "missing-tag": {
        const hint = schema.map?.missingKeyHint(err.key ?? "", values);
        const message = hint === undefined ? err.message : `${err.message} (${hint})`;
        throw new PluginError(Code.PermissionDenied, message, { cause: err });
      }
      case "fail":
      case "limit":
        throw new PluginError(Code.PermissionDenied, err.message, { cause: err });
      default:
        throw new PluginError(Code.Internal, err.message, { cause: err });
    }
  }
}

// --- static checks ---------------------------------------------------------------------

function* pipes(nodes: readonly TemplateNode[], underWith: boolean): Generator<[PipeNode, boolean]> {
  for (const n of nodes) {
    if (n.type === "action") yield [n.pipe, underWith];
    if (n.type === "if" || n.type === "with") {
      yield [n.pipe, underWith];
      yield* pipes(n.list, underWith || n.type === "with");
      if (n.elseList) yield* pipes(n.elseList, underWith);
    }
  }
}

function* args(pipe: PipeNode): Generator<ArgNode> {
  for (const cmd of pipe.cmds) {
    for (const a of cmd.args) {
      yield a;
      if (a.type === "pipe") yield* args(a.pipe);
      if (a.type === "chain") {
        yield a.node;
        if (a.node.type === "pipe") yield* args(a.node.pipe);
      }
    }
  }
}

/**
 * A field the data does not have fails every attestation in SPIRE; refuse it at configure
 * time instead. Only checked where dot is certainly the root (outside `with`), or via `$`.
 */
function checkRootFields(text: string, root: readonly TemplateNode[], schema: PathTemplateSchema): void {
  for (const [pipe, underWith] of pipes(root, false)) {
    for (const a of args(pipe)) {
      let name: string | undefined;
      if (a.type === "field" && !underWith) name = a.idents[0];
      if (a.type === "variable" && a.idents[0] === "$") name = a.idents[1];
      if (name !== undefined && !schema.fields.includes(name)) {
        const extra = schema.map === undefined ? "" : `; ${schema.map.hint}`;
        const hint = ` (fields: ${schema.fields.map((f) => `.${f}`).join(", ")}${extra})`;
        throw parseError(text, `can't evaluate field ${name} in type ${schema.typeName}${hint}`);
      }
    }
  }
}

function referencesField(root: readonly TemplateNode[], field: string): boolean {
  for (const [pipe] of pipes(root, false)) {
    for (const a of args(pipe)) {
      if ((a.type === "field" || a.type === "variable") && a.idents.includes(field)) return true;
      if (a.type === "chain" && a.fields.includes(field)) return true;
    }
  }
  return false;
}
