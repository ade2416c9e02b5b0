/**
 * `spire-aws-iid check-config server|agent FILE`: validates what SPIRE would hand the plugin.
 *
 * FILE is a plugin_data body, or a whole server.conf/agent.conf (HCL or JSON), in which case
 * the NodeAttestor entry for this plugin is taken the way SPIRE does: its plugin_data block
 * (checked in place, so positions point into FILE), a `plugin_data = "..."` literal (SPIRE
 * sends the literal with its quotes), or plugin_data_file (read relative to the current
 * directory, as SPIRE resolves it). Exit 0 valid, 1 invalid, 2 usage.
 *
 * `configNotes` gives the runtime's Config/Validate the same problems as text.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { agentConfigFromAst } from "../agent/config";
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
import { type ConfigProblem, formatProblem, parseForDecoding } from "../hcl/schema";
import { stringValue, tokenText } from "../hcl/values";
import { selectPlugin, wrongSideMessage } from "../plugin-selection";
import { type ServerConfigOptions, serverConfigFromAst } from "../server/config";
import { expandEnv } from "./expand-env";

export type Side = "server" | "agent";

/** The single-executable build is about 100 MB; a plugin_cmd far larger is not this plugin. */
const MAX_PLUGIN_CMD_BYTES = 512 * 1024 * 1024;

export interface CheckIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const USAGE = `usage: spire-aws-iid check-config server|agent [--name PLUGIN_NAME] [--expand-env] FILE

FILE is a plugin_data body, or a whole SPIRE server.conf/agent.conf (HCL or JSON), in which
case the NodeAttestor plugin for spire-aws-iid is checked. Exit status: 0 valid, 1 invalid,
2 usage error. --expand-env expands $VAR and \${VAR} from the environment first, as SPIRE's
-expandEnv does.`;

/** Problems for plugin_data text exactly as SPIRE sends it (ConfigureRequest.hcl_configuration). */
export function checkPluginData(
  side: Side,
  hcl: string | Uint8Array,
  options: ServerConfigOptions = {},
): ConfigProblem[] {
  const parsed = parseForDecoding(hcl);
  return parsed.root === undefined ? parsed.problems : checkBody(side, parsed.root, options);
}

function checkBody(side: Side, root: ObjectList, options: ServerConfigOptions): ConfigProblem[] {
  return side === "server" ? serverConfigFromAst(root, options).problems : agentConfigFromAst(root).problems;
}

/** Notes for Config/Validate: one "At L:C: message" line per problem; empty when valid. */
export function configNotes(side: Side, hcl: string, options: ServerConfigOptions = {}): string[] {
  return checkPluginData(side, hcl, options).map(formatProblem);
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

function choosePlugin(candidates: PluginEntry[], name: string | undefined): PluginEntry | string {
  if (name !== undefined) {
    return candidates.find((c) => c.name === name) ?? `no NodeAttestor named ${JSON.stringify(name)}`;
  }
  if (candidates.length === 0) return "no NodeAttestor plugin in this configuration";
  if (candidates.length === 1) return candidates[0]!;
  const ours = candidates.filter((c) =>
    setting(c.items, "plugin_cmd").some((i) => /spire-aws-iid/.test(literalString(i.val) ?? "")),
  );
  if (ours.length === 1) return ours[0]!;
  const named = candidates.filter((c) => c.name === "aws_iid");
  if (ours.length === 0 && named.length === 1) return named[0]!;
  const names = (ours.length > 1 ? ours : candidates).map((c) => JSON.stringify(c.name)).join(", ");
  return `several NodeAttestor plugins could be this one (${names}); choose with --name`;
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

interface Target {
  problems: ConfigProblem[];
  /** Where positions refer to, when not FILE itself. */
  positionsIn?: string;
  /** What could not be checked here, on stderr (stdout keeps one line per result). */
  notes?: string[];
  plugin?: string;
}

function checkWholeConfig(
  side: Side,
  plugins: PluginEntry[],
  name: string | undefined,
  options: ServerConfigOptions,
): Target | string {
  const chosen = choosePlugin(
    plugins.filter((p) => p.type === "NodeAttestor"),
    name,
  );
  if (typeof chosen === "string") return chosen;
  const target = checkChosenPluginData(side, chosen, options);
  target.notes = [];
  target.problems.unshift(...launchProblems(side, chosen.items, target.notes));
  return target;
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

function checkChosenPluginData(side: Side, chosen: PluginEntry, options: ServerConfigOptions): Target {
  const data = setting(chosen.items, "plugin_data");
  const dataFile = setting(chosen.items, "plugin_data_file");
  const plugin = chosen.name;
  if (data.length > 0 && dataFile.length > 0) {
    return {
      plugin,
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
        plugin,
        problems: [{ pos: item.keys[0]!.token.pos, message: "plugin_data_file: expected a string" }],
      };
    }
    let bytes: Uint8Array;
    try {
      bytes = readCapped(path);
    } catch (e) {
      return {
        plugin,
        problems: [
          {
            pos: item.keys[0]!.token.pos,
            message: `plugin_data_file: cannot read ${path}: ${(e as Error).message}`,
          },
        ],
      };
    }
    return { plugin, positionsIn: path, problems: checkPluginData(side, bytes, options) };
  }
  if (data.length === 0) return { plugin, problems: checkPluginData(side, "", options) };
  // Go's decoder keeps the last plugin_data when it is repeated.
  const val = data[data.length - 1]!.val;
  if (val?.kind === "object") {
    const problems = checkBody(side, val.list, options);
    const heredoc = heredocAtEnd(val.list.items);
    if (heredoc) {
      problems.unshift({
        pos: heredoc.token.pos,
        message:
          "a heredoc as the last setting of plugin_data does not survive SPIRE's re-printing (HCL v1: heredoc not terminated); move it up or use a quoted string",
      });
    }
    return { plugin, problems };
  }
  if (val?.kind === "literal") {
    // SPIRE prints the literal as written, quotes included, and sends that text.
    return {
      plugin,
      positionsIn: "the plugin_data text SPIRE sends",
      problems: checkPluginData(side, val.token.raw, options),
    };
  }
  return {
    plugin,
    problems: [{ pos: data[0]!.keys[0]!.token.pos, message: "plugin_data: expected a block" }],
  };
}

function readCapped(path: string): Uint8Array {
  return readBoundedFile(path, MAX_INPUT_BYTES);
}

export async function runCheckConfig(
  argv: string[],
  io: CheckIo,
  options: ServerConfigOptions = { env: process.env },
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
  const [side, file] = rest;
  if ((side !== "server" && side !== "agent") || file === undefined || rest.length !== 2) {
    io.err(USAGE);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readCapped(file);
  } catch (e) {
    io.err(`check-config: cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }

  let target: Target;
  try {
    // SPIRE's -expandEnv expands the whole file before parsing it.
    const parsed = parse(
      expand ? expandEnv(Buffer.from(bytes).toString("utf8"), options.env ?? process.env) : bytes,
    );
    const plugins = findPlugins(parsed.root);
    if (plugins === undefined) {
      target = { problems: checkBody(side, parsed.root, options) };
    } else {
      const t = checkWholeConfig(side, plugins, name, options);
      if (typeof t === "string") {
        io.err(`check-config: ${file}: ${t}`);
        return 2;
      }
      target = t;
    }
  } catch (e) {
    if (!(e instanceof HclError)) throw e;
    target = { problems: [{ pos: e.pos, message: e.detail }] };
  }

  for (const note of target.notes ?? []) io.err(`${file}: ${note}`);
  const what = `${side} configuration${target.plugin !== undefined ? ` of NodeAttestor ${JSON.stringify(target.plugin)}` : ""}`;
  if (target.problems.length === 0) {
    io.out(`${file}: valid ${what}`);
    return 0;
  }
  const where = target.positionsIn ?? file;
  for (const p of target.problems) {
    const pos = p.pos !== undefined && p.pos.line > 0 ? `${p.pos.line}:${p.pos.column}: ` : "";
    io.out(`${where}:${pos}${p.message}`);
  }
  io.out(
    `${file}: invalid ${what}: ${target.problems.length} problem${target.problems.length === 1 ? "" : "s"}`,
  );
  return 1;
}
