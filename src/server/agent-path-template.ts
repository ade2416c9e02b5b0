/**
 * `agent_path_template`: the Go text/template (with SPIRE's sprig allow-list) that turns a
 * verified instance identity into the path of the agent's SPIFFE ID, under /spire/agent.
 *
 * Parity with SPIRE (pkg/common/agentpathtemplate, pkg/server/plugin/nodeattestor/awsiid):
 * - data: .PluginName (always "aws_iid", not the configured name), .AccountID, .Region,
 *   .InstanceID, .Tags (map[string]string), .TrustDomain (exists, always empty);
 * - `missingkey=error`: `.Tags.Name` on an untagged instance fails with Go's text
 *   `map has no entry for key "Name"`, while `index .Tags "Name"` yields "";
 * - a parse error is reported as `failed to parse agent svid template: "<template>"`.
 *
 * Deliberate differences, each because the SPIRE behaviour hurts an operator:
 * - errors at attestation time carry a gRPC code chosen by cause: a missing tag, `fail`, or a
 *   node value over a bound is PermissionDenied (the node is rejected; retrying cannot
 *   help), a template that is wrong for every node is Internal (SPIRE: Internal for all);
 * - constructs we do not implement (range, define, template, block, some sprig helpers) are
 *   refused at configuration time by name instead of behaving differently;
 * - fields the data does not have (`.Hostname` instead of `.Tags.Hostname`) are refused at
 *   configuration time; SPIRE accepts them and then fails every attestation;
 * - bounds: template ≤ 4 KiB, output ≤ 2048 bytes, intermediate strings ≤ 64 KiB, lists ≤
 *   4096 elements, regular expressions time-limited. SPIRE has none of these.
 *
 * The engine is not tied to aws_iid: `compilePathTemplate` takes the root fields from the
 * caller (a `PathTemplateSchema`), so aws_iam's templatable agent ID (issue 11) runs the same
 * parser, function allow-list, bounds and static checks. `compileAgentPathTemplate` is the
 * aws_iid instance with exactly SPIRE's fields.
 */
import { Code, invalidArgument, PluginError } from "../common/errors";
import { type ExecLimits, executeTemplate, TemplateExecError } from "./private/go-template-exec";
import { TEMPLATE_FUNCS, UNSUPPORTED_FUNCS } from "./private/go-template-funcs";
import { type ArgNode, type PipeNode, parseTemplate, type TemplateNode } from "./private/go-template-parse";
import { GoMap, GoStruct, type GoValue, goQuote } from "./private/go-values";

/** SPIRE's default (note the missing space in `{{ .PluginName}}`, kept byte for byte). */
export const DEFAULT_AGENT_PATH_TEMPLATE =
  "/{{ .PluginName}}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}";

/** SPIRE's caws.PluginName: the template sees this, never the configured plugin name. */
export const AWS_IID_PLUGIN_NAME = "aws_iid";

export const MAX_TEMPLATE_LENGTH = 4096;
/** A SPIFFE ID longer than 2048 bytes is refused by SPIFFE implementations. */
export const MAX_AGENT_PATH_BYTES = 2048;

const LIMITS: ExecLimits = {
  maxOutputBytes: MAX_AGENT_PATH_BYTES,
  maxStringBytes: 64 * 1024,
  maxListLength: 4096,
  maxSteps: 100_000,
  regexpTimeoutMs: 100,
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
  /** The map[string]string field, if any (`Tags`): its absence from the data is an error. */
  readonly mapField?: string;
  /** Appended to the unknown-field hint, e.g. "tags: .Tags.<key>". */
  readonly mapHint?: string;
  /** Extra text for a missing map key (PermissionDenied): names the node and what to change. */
  readonly missingKeyHint?: (key: string, values: PathTemplateValues) => string;
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
  /**
   * Execute the template. Throws PluginError: PermissionDenied for a missing tag, `fail`, or
   * a bound exceeded by node data; Internal for a template that cannot work for any node.
   */
  render(data: AgentPathTemplateData): string;
}

/** SPIRE's agentPathTemplateData: the aws_iid root. */
export const AWS_IID_TEMPLATE_SCHEMA: PathTemplateSchema = {
  typeName: "awsiid.agentPathTemplateData",
  fields: ["InstanceID", "AccountID", "Region", "PluginName", "TrustDomain", "Tags"],
  mapField: "Tags",
  mapHint: "tags: .Tags.<key>",
  missingKeyHint: (key, values) =>
    `instance ${String(values.InstanceID)} has no tag ${goQuote(key)}; tag the instance or change agent_path_template`,
};

function parseError(text: string, detail: string): PluginError {
  return invalidArgument(`failed to parse agent svid template: ${goQuote(text)}: ${detail}`);
}

/** Compile a path template over the caller's root fields (see PathTemplateSchema). */
export function compilePathTemplate(text: string, schema: PathTemplateSchema): CompiledPathTemplate {
  if (text.length > MAX_TEMPLATE_LENGTH) {
    throw invalidArgument(
      `failed to parse agent svid template: ${goQuote(`${text.slice(0, 64)}…`)}: ` +
        `template is ${text.length} characters long; the limit is ${MAX_TEMPLATE_LENGTH}`,
    );
  }
  let root: TemplateNode[];
  try {
    root = parseTemplate(text, {
      isFunction: (name) => TEMPLATE_FUNCS.has(name),
      unsupportedFunction: (name) => UNSUPPORTED_FUNCS.get(name),
      maxDepth: MAX_NESTING,
    });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const hint = /function "[^"]+" not defined/.test(detail)
      ? " (agent_path_template allows Go's builtin functions and SPIRE's sprig allow-list only)"
      : "";
    throw parseError(text, `template: ${detail}${hint}`);
  }
  checkRootFields(text, root, schema);
  const map = schema.mapField;
  const usesMap = map !== undefined && (text.includes(`.${map}`) || referencesField(root, map));
  return {
    text,
    usesMap,
    render: (values) => render(text, root, schema, values),
  };
}

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
): string {
  const fields = new Map<string, GoValue>();
  for (const name of schema.fields) {
    const v = values[name];
    if (name === schema.mapField) {
      const m = v instanceof Map ? v : typeof v === "object" ? new Map(v) : new Map<string, string>();
      // Shared, not copied: no function can write to this map (sprig's set/unset take a dict).
      fields.set(name, new GoMap("tags", m as Map<string, GoValue>));
    } else {
      fields.set(name, typeof v === "string" ? v : "");
    }
  }
  const value = new GoStruct(schema.typeName, fields);
  try {
    return executeTemplate(text, root, value, LIMITS);
  } catch (err) {
    if (!(err instanceof TemplateExecError)) {
      throw new PluginError(Code.Internal, `agent_path_template failed: ${String(err)}`, { cause: err });
    }
    switch (err.reason) {
      case "missing-tag": {
        const hint = schema.missingKeyHint?.(err.key ?? "", values);
        throw new PluginError(
          Code.PermissionDenied,
          hint === undefined ? err.message : `${err.message} (${hint})`,
          {
            cause: err,
          },
        );
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
        const extra = schema.mapHint === undefined ? "" : `; ${schema.mapHint}`;
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
