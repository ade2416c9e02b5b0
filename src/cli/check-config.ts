/**
 * `spire-aws-iid check-config server|agent|server-iam|agent-iam FILE`: reports what the plugin
 * would refuse, by running the very checks Configure runs (the method's prepare/decode
 * function: schema, policy bounds, agent_path_template compiled, pem_path and
 * account_list_file read and parsed) — not a parallel list.
 *
 * FILE is a plugin_data body, or a whole server.conf/agent.conf (HCL or JSON), in which case
 * the NodeAttestor entry for this plugin is taken the way SPIRE does: its plugin_data block
 * (checked in place, so positions point into FILE), a `plugin_data = "..."` literal (SPIRE
 * sends the literal with its quotes), or plugin_data_file (read relative to the current
 * directory, as SPIRE resolves it). In a whole file the method is chosen as the plugin
 * chooses it at load (plugin_args, else the file name of plugin_cmd: plugin-selection.ts);
 * for a body, `server-iam`/`agent-iam` select aws_iam. Exit 0 valid, 1 invalid, 2 usage.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { prepareAgentConfig } from "../agent/config";
import { type BoundedReadError, readBoundedFile } from "../common/bounded-read";
import {
  type LiteralNode,
  type ObjectItem,
  type ObjectKey,
  type ObjectList,
  TokenType,
  type ValueNode,
} from "../hcl/ast";
import { HclError } from "../hcl/errors";
import { equalFold, keyName } from "../hcl/generic";
import { MAX_INPUT_BYTES, parse } from "../hcl/parser";
import type { ConfigProblem } from "../hcl/schema";
import { stringValue, tokenText } from "../hcl/values";
import { iamAgentConfigFromAst, prepareIamServerConfig } from "../iam/config";
import { type Method, selectPlugin, wrongSideMessage } from "../plugin-selection";
import { prepareServerConfig } from "../server/configuration";
import { expandEnv } from "./expand-env";

export type Side = "server" | "agent";

/** Which plugin a plugin_data is for: SPIRE's side and this plugin's method. */
export interface CheckTarget {
  side: Side;
  method: Method;
}

export interface CheckOptions {
  /** The environment Configure would see (AWS_ACCESS_KEY_ID pair, AWS_REGION for aws_iam agents). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The single-executable build is about 100 MB; a plugin_cmd far larger is not this plugin. */
const MAX_PLUGIN_CMD_BYTES = 512 * 1024 * 1024;

export interface CheckIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const USAGE = `usage: spire-aws-iid check-config server|agent|server-iam|agent-iam [--name PLUGIN_NAME] [--expand-env] FILE

FILE is a plugin_data body, or a whole SPIRE server.conf/agent.conf (HCL or JSON), in which
case the NodeAttestor plugin for spire-aws-iid is checked with the method SPIRE would load
(plugin_args, else the file name of plugin_cmd). server-iam/agent-iam: the aws_iam method
(for a body, or to insist that a whole file loads aws_iam). Exit status: 0 valid, 1 invalid,
2 usage error. --expand-env expands $VAR and \${VAR} from the environment first, as SPIRE's
-expandEnv does.`;

const TARGETS: Record<string, { side: Side; method: Method | undefined }> = {
  server: { side: "server", method: undefined },
  agent: { side: "agent", method: undefined },
  "server-iam": { side: "server", method: "aws_iam" },
  "agent-iam": { side: "agent", method: "aws_iam" },
};

/**
 * What Configure refuses in a plugin_data, by Configure's own functions: `input` is the text
 * SPIRE sends or a body already parsed in place (positions then point into the whole file).
 */
export async function checkPluginData(
  target: CheckTarget,
  input: string | Uint8Array | ObjectList,
  options: CheckOptions = {},
): Promise<ConfigProblem[]> {
  const env = options.env ?? {};
  if (target.method === "aws_iam") {
    return target.side === "server"
      ? (await prepareIamServerConfig(input, env)).problems
      : iamAgentConfigFromAst(input, env).problems;
  }
  if (target.side === "server") return (await prepareServerConfig(input, { env })).problems;
  return prepareAgentConfig(input, env).problems;
}

interface PluginEntry {
  type: string;
  name: string;
  items: ObjectItem[];
}

function keyText(k: ObjectKey): string {
  return k.token.type === TokenType.STRING ? stringValue(k.token) : tokenText(k.token);
}

/**
 * Collects `Type "name" { ... }` entries under `plugins`, in any of the shapes SPIRE accepts:
 * `NodeAttestor "n" { }`, `NodeAttestor { n { } }`, `NodeAttestor "n" plugin_data { }`, and
 * the multi-key items HCL v1 makes of JSON objects.
 */
export function findPlugins(root: ObjectList): PluginEntry[] | undefined {
  const entries = new Map<string, PluginEntry>();
  let found = false;
  const visit = (list: ObjectList, prefix: ObjectKey[]): void => {
    for (const item of list.items) {
      const keys = [...prefix, ...item.keys];
      if (keys.length >= 2) {
        const type = keyText(keys[0]!);
        const name = keyText(keys[1]!);
        const id = `${type}\u0000${name}`;
        let entry = entries.get(id);
        if (!entry) {
          entry = { type, name, items: [] };
          entries.set(id, entry);
        }
        const rest = keys.slice(2);
        if (rest.length > 0) entry.items.push({ ...item, keys: rest });
        else if (item.val?.kind === "object") entry.items.push(...item.val.list.items);
      } else if (keys.length === 1 && item.val?.kind === "object") {
        visit(item.val.list, keys);
      }
    }
  };
  for (const item of root.items) {
    if (item.keys.length === 0 || !equalFold(keyName(item), "plugins")) continue;
    found = true;
    if (item.keys.length > 1)
      visit({ kind: "objectList", items: [{ ...item, keys: item.keys.slice(1) }] }, []);
    else if (item.val?.kind === "object") visit(item.val.list, []);
  }
  return found ? [...entries.values()] : undefined;
}

function setting(items: ObjectItem[], key: string): ObjectItem[] {
  return items.filter((i) => i.keys.length === 1 && equalFold(keyName(i), key));
}

function literalString(v: ValueNode | undefined): string | undefined {
  if (v?.kind !== "literal") return undefined;
  if (v.token.type === TokenType.NUMBER) return tokenText(v.token);
  if (v.token.type === TokenType.STRING || v.token.type === TokenType.HEREDOC) return stringValue(v.token);
  return undefined;
}

/** Whether plugin_cmd looks like this plugin's file (any install name the README suggests). */
const OUR_PLUGIN_CMD = /spire-aws-i(id|am)|aws[-_]i(id|am)$/;

function choosePlugin(
  candidates: PluginEntry[],
  name: string | undefined,
  method: Method | undefined,
): PluginEntry | string {
  if (name !== undefined) {
    return candidates.find((c) => c.name === name) ?? `no NodeAttestor named ${JSON.stringify(name)}`;
  }
  if (candidates.length === 0) return "no NodeAttestor plugin in this configuration";
  if (candidates.length === 1) return candidates[0]!;
  let ours = candidates.filter((c) =>
    setting(c.items, "plugin_cmd").some((i) => OUR_PLUGIN_CMD.test(literalString(i.val) ?? "")),
  );
  // aws_iid and aws_iam from the same file: the method asked for decides.
  if (ours.length > 1 && method !== undefined) {
    const of = ours.filter((c) => selectionOf(c).method === method);
    if (of.length > 0) ours = of;
  }
  if (ours.length === 1) return ours[0]!;
  const named = candidates.filter((c) => c.name === (method ?? "aws_iid"));
  if (ours.length === 0 && named.length === 1) return named[0]!;
  const names = (ours.length > 1 ? ours : candidates).map((c) => JSON.stringify(c.name)).join(", ");
  return `several NodeAttestor plugins could be this one (${names}); choose with --name`;
}

/** The method and side the plugin will serve for this entry, as it decides at load. */
function selectionOf(entry: PluginEntry): { method: Method; side: Side | undefined; unknownArg?: string } {
  const cmd = literalString(setting(entry.items, "plugin_cmd").at(-1)?.val) ?? "";
  const args = stringList(setting(entry.items, "plugin_args").at(-1)?.val) ?? [];
  const selection = selectPlugin(args[0], basename(cmd));
  if (typeof selection === "string") return { method: "aws_iid", side: undefined, unknownArg: selection };
  return selection;
}

/**
 * SPIRE re-prints plugin_data without a final newline, so a heredoc that is the block's last
 * setting loses the newline after its terminator and HCL v1 reports "heredoc not terminated".
 */
function heredocAtEnd(items: ObjectItem[]): LiteralNode | undefined {
  const last = items[items.length - 1];
  if (last?.val?.kind === "literal" && last.val.token.type === TokenType.HEREDOC) return last.val;
  return undefined;
}

export interface CheckResult {
  problems: ConfigProblem[];
  /** Where positions refer to, when not FILE itself. */
  positionsIn?: string;
  /** What could not be checked here, on stderr (stdout keeps one line per result). */
  notes?: string[];
  plugin?: string;
  method: Method;
}

/**
 * A SPIRE configuration names its side by its top-level block: `server { }` or `agent { }`.
 * Checking one as the other would only list unknown keys; say so instead.
 */
function wrongSideFile(root: ObjectList, side: Side): ConfigProblem | undefined {
  const other: Side = side === "server" ? "agent" : "server";
  const own = root.items.some((i) => i.keys.length > 0 && equalFold(keyName(i), side));
  const theirs = root.items.find((i) => i.keys.length > 0 && equalFold(keyName(i), other));
  if (own || theirs === undefined) return undefined;
  return {
    pos: theirs.keys[0]!.token.pos,
    message: `this file has an "${other}" block: it is a SPIRE ${other} configuration; check it with check-config ${other}`,
  };
}

async function checkWholeConfig(
  root: ObjectList,
  side: Side,
  askedMethod: Method | undefined,
  plugins: PluginEntry[],
  name: string | undefined,
  options: CheckOptions,
): Promise<CheckResult | string> {
  const chosen = choosePlugin(
    plugins.filter((p) => p.type === "NodeAttestor"),
    name,
    askedMethod,
  );
  if (typeof chosen === "string") return chosen;
  const notes: string[] = [];
  const launch = launchProblems(side, chosen.items, notes);
  const selection = selectionOf(chosen);
  const sideProblem = wrongSideFile(root, side);
  if (askedMethod !== undefined && selection.method !== askedMethod) {
    // Asked for aws_iam (server-iam/agent-iam), but SPIRE would start aws_iid: say why first.
    const argsItem = setting(chosen.items, "plugin_args").at(-1);
    const cmdItem = setting(chosen.items, "plugin_cmd").at(-1);
    const args = stringList(argsItem?.val) ?? [];
    const why =
      args.length > 0
        ? `plugin_args ${JSON.stringify(args)} select ${selection.method}`
        : `without plugin_args the file name of plugin_cmd (${JSON.stringify(basename(literalString(cmdItem?.val) ?? ""))}) selects ${selection.method}: it does not contain "aws_iam" or "aws-iam"`;
    launch.push({
      pos: (args.length > 0 ? argsItem : (cmdItem ?? argsItem))?.keys[0]?.token.pos,
      message: `NodeAttestor ${JSON.stringify(chosen.name)} loads ${selection.method}, not ${askedMethod}: ${why}; set plugin_args = ["${side}-iam"] or install the file as spire-aws-iam`,
    });
  }
  const result = await checkChosenPluginData({ side, method: selection.method }, chosen, options);
  result.notes = notes;
  result.problems.unshift(...(sideProblem === undefined ? [] : [sideProblem]), ...launch);
  return result;
}

/**
 * What SPIRE checks before the plugin sees plugin_data: plugin_args (the plugin refuses unknown
 * ones at start and warns at Init about the other side) and plugin_checksum against the file at
 * plugin_cmd (pkg/common/catalog/external.go in spiffe/spire; go-plugin hashes the file on
 * every launch). SPIRE's and the plugin's own words, so the operator can grep for them.
 */
function launchProblems(side: Side, items: ObjectItem[], notes: string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const cmdItem = setting(items, "plugin_cmd").at(-1);
  const cmd = literalString(cmdItem?.val);
  const argsItem = setting(items, "plugin_args").at(-1);
  if (argsItem !== undefined) {
    const pos = argsItem.keys[0]!.token.pos;
    const args = stringList(argsItem.val);
    if (args === undefined) problems.push({ pos, message: "plugin_args: expected a list of strings" });
    else if (args.length > 0) {
      const selection = selectPlugin(args[0], basename(cmd ?? ""));
      if (typeof selection === "string") problems.push({ pos, message: selection });
      else if (selection.side !== undefined && selection.side !== side)
        problems.push({ pos, message: wrongSideMessage(selection.side, side) });
    }
  }
  const sumItem = setting(items, "plugin_checksum").at(-1);
  const sum = literalString(sumItem?.val);
  if (sumItem === undefined || sum === undefined || sum === "") return problems;
  const pos = sumItem.keys[0]!.token.pos;
  if (!/^([0-9a-fA-F]{2})*$/.test(sum)) {
    problems.push({ pos, message: "plugin_checksum: checksum is not a valid hex string" });
  } else if (sum.length !== 64) {
    problems.push({ pos, message: `plugin_checksum: expected checksum of length 64; got ${sum.length}` });
  } else if (cmd !== undefined) {
    let actual: string | undefined;
    try {
      actual = createHash("sha256").update(readBoundedFile(cmd, MAX_PLUGIN_CMD_BYTES)).digest("hex");
    } catch (e) {
      // check-config may run away from the SPIRE host (CI, a laptop): a missing file is a note.
      if ((e as BoundedReadError).code === "ENOENT")
        notes.push(`plugin_checksum not checked: ${(e as Error).message}`);
      else
        problems.push({ pos, message: `plugin_checksum: cannot hash plugin_cmd: ${(e as Error).message}` });
    }
    if (actual !== undefined && actual !== sum.toLowerCase()) {
      problems.push({
        pos,
        message: `plugin_checksum: checksums did not match: ${cmd} has sha256 ${actual}, plugin_checksum says ${sum}`,
      });
    }
  }
  return problems;
}

function stringList(v: ValueNode | undefined): string[] | undefined {
  if (v?.kind !== "list") return undefined;
  const out: string[] = [];
  for (const el of v.items) {
    const s = literalString(el);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

async function checkChosenPluginData(
  target: CheckTarget,
  chosen: PluginEntry,
  options: CheckOptions,
): Promise<CheckResult> {
  const data = setting(chosen.items, "plugin_data");
  const dataFile = setting(chosen.items, "plugin_data_file");
  const base = { plugin: chosen.name, method: target.method };
  if (data.length > 0 && dataFile.length > 0) {
    return {
      ...base,
      problems: [
        {
          pos: data[0]!.keys[0]!.token.pos,
          message: "only one of [plugin_data, plugin_data_file] can be used",
        },
      ],
    };
  }
  if (dataFile.length > 0) {
    const item = dataFile[dataFile.length - 1]!;
    const path = literalString(item.val);
    if (path === undefined) {
      return {
        ...base,
        problems: [{ pos: item.keys[0]!.token.pos, message: "plugin_data_file: expected a string" }],
      };
    }
    let bytes: Uint8Array;
    try {
      bytes = readCapped(path);
    } catch (e) {
      return {
        ...base,
        problems: [
          {
            pos: item.keys[0]!.token.pos,
            message: `plugin_data_file: cannot read ${path}: ${(e as Error).message}`,
          },
        ],
      };
    }
    return { ...base, positionsIn: path, problems: await checkPluginData(target, bytes, options) };
  }
  if (data.length === 0) return { ...base, problems: await checkPluginData(target, "", options) };
  // Go's decoder keeps the last plugin_data when it is repeated.
  const val = data[data.length - 1]!.val;
  if (val?.kind === "object") {
    const problems = await checkPluginData(target, val.list, options);
    const heredoc = heredocAtEnd(val.list.items);
    if (heredoc) {
      problems.unshift({
        pos: heredoc.token.pos,
        message:
          "a heredoc as the last setting of plugin_data does not survive SPIRE's re-printing (HCL v1: heredoc not terminated); move it up or use a quoted string",
      });
    }
    return { ...base, problems };
  }
  if (val?.kind === "literal") {
    // SPIRE prints the literal as written, quotes included, and sends that text.
    return {
      ...base,
      positionsIn: "the plugin_data text SPIRE sends",
      problems: await checkPluginData(target, val.token.raw, options),
    };
  }
  return {
    ...base,
    problems: [{ pos: data[0]!.keys[0]!.token.pos, message: "plugin_data: expected a block" }],
  };
}

function readCapped(path: string): Uint8Array {
  return readBoundedFile(path, MAX_INPUT_BYTES);
}

/**
 * check-config's verdict on FILE for a target word (server, agent, server-iam, agent-iam),
 * or a usage problem as text.
 */
export async function checkConfigFile(
  targetWord: string,
  file: string,
  options: CheckOptions & { name?: string; expandEnv?: boolean } = {},
): Promise<CheckResult | string> {
  const asked = TARGETS[targetWord];
  if (asked === undefined) return `unknown target ${JSON.stringify(targetWord)}`;
  const { side } = asked;
  let bytes: Uint8Array;
  try {
    bytes = readCapped(file);
  } catch (e) {
    return `cannot read ${file}: ${(e as Error).message}`;
  }
  try {
    // SPIRE's -expandEnv expands the whole file before parsing it.
    const parsed = parse(
      options.expandEnv ? expandEnv(Buffer.from(bytes).toString("utf8"), options.env ?? process.env) : bytes,
    );
    const plugins = findPlugins(parsed.root);
    if (plugins === undefined) {
      const method = asked.method ?? "aws_iid";
      return { method, problems: await checkPluginData({ side, method }, parsed.root, options) };
    }
    const r = await checkWholeConfig(parsed.root, side, asked.method, plugins, options.name, options);
    return typeof r === "string" ? `${file}: ${r}` : r;
  } catch (e) {
    if (!(e instanceof HclError)) throw e;
    return { method: asked.method ?? "aws_iid", problems: [{ pos: e.pos, message: e.detail }] };
  }
}

export async function runCheckConfig(
  argv: string[],
  io: CheckIo,
  options: CheckOptions = { env: process.env },
): Promise<number> {
  const args = argv[0] === "check-config" ? argv.slice(1) : argv.slice();
  let name: string | undefined;
  let expand = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--name") {
      name = args[++i];
      if (name === undefined) {
        io.err(USAGE);
        return 2;
      }
    } else if (a === "--expand-env") {
      expand = true;
    } else if (a.startsWith("--name=")) {
      name = a.slice("--name=".length);
    } else if (a === "-h" || a === "--help") {
      io.out(USAGE);
      return 0;
    } else {
      rest.push(a);
    }
  }
  const [targetWord, file] = rest;
  const asked = targetWord === undefined ? undefined : TARGETS[targetWord];
  if (asked === undefined || file === undefined || rest.length !== 2) {
    io.err(USAGE);
    return 2;
  }
  const result = await checkConfigFile(targetWord!, file, { ...options, name, expandEnv: expand });
  if (typeof result === "string") {
    io.err(`check-config: ${result}`);
    return 2;
  }
  const { side } = asked;
  for (const note of result.notes ?? []) io.err(`${file}: ${note}`);
  const what = `${result.method} ${side} configuration${result.plugin !== undefined ? ` of NodeAttestor ${JSON.stringify(result.plugin)}` : ""}`;
  if (result.problems.length === 0) {
    io.out(`${file}: valid ${what}`);
    return 0;
  }
  const where = result.positionsIn ?? file;
  for (const p of result.problems) {
    const pos = p.pos !== undefined && p.pos.line > 0 ? `${p.pos.line}:${p.pos.column}: ` : "";
    io.out(`${where}:${pos}${p.message}`);
  }
  io.out(
    `${file}: invalid ${what}: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`,
  );
  return 1;
}
