/**
 * Executor for parsed path templates, a deliberate port of Go 1.25's src/text/template/exec.go
 * (the toolchain SPIRE v1.13.3 builds with) with `missingkey=error` (the option SPIRE sets): field access on a map with a missing key is an
 * error naming the key, `index` still returns the zero value, function arguments are checked
 * against Go parameter types, and `and`/`or` short-circuit.
 *
 * Error texts keep Go's shape, `template: agent-path:L:C: executing "agent-path" at <node>: …`,
 * because operators search for them and SPIRE's tests pin them.
 */

import {
  FailError,
  type FuncEnv,
  FuncError,
  FuncLimitError,
  type ParamType,
  TEMPLATE_FUNCS,
} from "./functions";
import type { ArgNode, CommandNode, NumberConstant, PipeNode, TemplateNode } from "./parse";
import { formatGoValue, GoMap, GoStruct, type GoValue, goTruth, goTypeName } from "./values";

export interface ExecLimits extends FuncEnv {
  readonly maxOutputBytes: number;
  readonly maxSteps: number;
}

export type ExecFailure = "missing-tag" | "fail" | "limit" | "template";

export class TemplateExecError extends Error {
  override readonly name = "TemplateExecError";
  constructor(
    message: string,
    readonly reason: ExecFailure,
    /** For "missing-tag": the tag key the template needed. */
    readonly key?: string,
  ) {
    super(message);
  }
}

const MISSING: unique symbol = Symbol("missing");
type Final = GoValue | typeof MISSING;

class Abort extends Error {
  constructor(
    readonly detail: string,
    readonly reason: ExecFailure,
    readonly key?: string,
  ) {
    super(detail);
  }
}

export function executeTemplate(
  source: string,
  root: readonly TemplateNode[],
  data: GoValue,
  limits: ExecLimits,
): string {
  return new Executor(source, data, limits).run(root);
}

class Executor {
  private out = "";
  private outBytes = 0;
  private steps = 0;
  private vars: { name: string; value: GoValue }[];
  private atPos = 0;
  private atText = "";

  constructor(
    private readonly source: string,
    data: GoValue,
    private readonly limits: ExecLimits,
  ) {
    this.vars = [{ name: "$", value: data }];
  }

  run(root: readonly TemplateNode[]): string {
    try {
      this.walkList(this.vars[0]?.value ?? null, root);
      return this.out;
    } catch (err) {
      if (err instanceof Abort) {
        throw new TemplateExecError(
          `template: ${this.location()}: executing "agent-path" at <${this.atText}>: ${err.detail}`,
          err.reason,
          err.key,
        );
      }
      throw err;
    }
  }

  private location(): string {
    const before = this.source.slice(0, this.atPos);
    const nl = before.lastIndexOf("\n");
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = Buffer.byteLength(before.slice(nl + 1), "utf8");
    return `agent-path:${line}:${col}`;
  }

  private at(pos: number, text: string): void {
    this.atPos = pos;
    this.atText = text;
  }

  private fail(detail: string, reason: ExecFailure = "template", key?: string): never {
    throw new Abort(detail, reason, key);
  }

  private tick(): void {
    if (++this.steps > this.limits.maxSteps)
      this.fail(`template exceeds ${this.limits.maxSteps} steps`, "limit");
  }

  private write(s: string): void {
    this.outBytes += Buffer.byteLength(s, "utf8");
    if (this.outBytes > this.limits.maxOutputBytes) {
      this.fail(`output exceeds ${this.limits.maxOutputBytes} bytes`, "limit");
    }
    this.out += s;
  }

  private walkList(dot: GoValue, list: readonly TemplateNode[]): void {
    for (const node of list) this.walk(dot, node);
  }

  private walk(dot: GoValue, node: TemplateNode): void {
    this.tick();
    switch (node.type) {
      case "text":
        this.write(node.text);
        return;
      case "action": {
        this.at(node.pos, pipeString(node.pipe));
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.write(formatGoValue(val));
        return;
      }
      case "if":
      case "with": {
        const mark = this.vars.length;
        const val = this.evalPipeline(dot, node.pipe);
        if (goTruth(val)) {
          this.walkList(node.type === "with" ? val : dot, node.list);
        } else if (node.elseList !== null) {
          this.walkList(dot, node.elseList);
        }
        this.vars.length = mark;
        return;
      }
    }
  }

  private evalPipeline(dot: GoValue, pipe: PipeNode): GoValue {
    this.at(pipe.pos, pipeString(pipe));
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    const result: GoValue = value === MISSING ? null : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) {
        const v = [...this.vars].reverse().find((x) => x.name === name);
        if (v === undefined) this.fail(`undefined variable: ${name}`);
        v.value = result;
      } else {
        this.vars.push({ name, value: result });
      }
    }
    return result;
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    this.tick();
    const first = cmd.args[0];
    if (first === undefined) this.fail("empty command");
    switch (first.type) {
      case "field":
        return this.evalFieldChain(dot, first, first.idents, cmd.args, final);
      case "chain":
        return this.evalChain(dot, first, cmd.args, final);
      case "identifier":
        return this.evalFunction(dot, first, cmd.args, final);
      case "pipe":
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      case "variable":
        return this.evalVariable(first, cmd.args, final);
    }
    this.at(first.pos, argString(first));
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        this.fail("nil is not a command");
        break;
      case "number":
        return this.idealConstant(first.num);
      case "string":
        return first.value;
    }
    return null;
  }

  private notAFunction(args: readonly ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.fail(`can't give argument to non-function ${argString(args[0])}`);
    }
  }

  private idealConstant(num: NumberConstant): GoValue {
    const hexInt = /^[+-]?0[xX]/.test(num.text) && !/[pP]/.test(num.text);
    if (num.isFloat && !hexInt && !num.isChar && /[.eEpP]/.test(num.text)) return num.float;
    if (num.isInt) return num.int;
    this.fail(`${num.text} overflows int`);
  }

  private evalFieldChain(
    receiver: GoValue,
    node: ArgNode,
    idents: readonly string[],
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    this.at(node.pos, argString(node));
    let cur = receiver;
    idents.forEach((name, i) => {
      const last = i === idents.length - 1;
      cur = this.evalField(name, last ? args : [], last ? final : MISSING, cur);
    });
    return cur;
  }

  private evalField(name: string, args: readonly ArgNode[], final: Final, receiver: GoValue): GoValue {
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver === null) this.fail(`nil data; no entry for key "${name}"`);
    if (receiver instanceof GoStruct) {
      if (!receiver.fields.has(name)) this.fail(`can't evaluate field ${name} in type ${receiver.typeName}`);
      if (hasArgs) this.fail(`${name} has arguments but cannot be invoked as function`);
      return receiver.fields.get(name) ?? null;
    }
    if (receiver instanceof GoMap) {
      if (hasArgs) this.fail(`${name} is not a method but has arguments`);
      if (!receiver.entries.has(name)) {
        this.fail(`map has no entry for key "${name}"`, "missing-tag", name);
      }
      return receiver.entries.get(name) ?? null;
    }
    this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  private evalVariable(node: ArgNode & { type: "variable" }, args: readonly ArgNode[], final: Final) {
    this.at(node.pos, argString(node));
    const [name = "", ...fields] = node.idents;
    const v = [...this.vars].reverse().find((x) => x.name === name);
    if (v === undefined) this.fail(`undefined variable: ${name}`);
    if (fields.length === 0) {
      this.notAFunction(args, final);
      return v.value;
    }
    return this.evalFieldChain(v.value, node, fields, args, final);
  }

  private evalChain(
    dot: GoValue,
    chain: ArgNode & { type: "chain" },
    args: readonly ArgNode[],
    final: Final,
  ) {
    this.at(chain.pos, argString(chain));
    if (chain.node.type === "nil") this.fail(`indirection through explicit nil in ${argString(chain)}`);
    const receiver = this.evalArg(dot, "any", chain.node);
    return this.evalFieldChain(receiver, chain, chain.fields, args, final);
  }

  private evalFunction(
    dot: GoValue,
    node: ArgNode & { type: "identifier" },
    args: readonly ArgNode[],
    final: Final,
  ): GoValue {
    // Go reports function errors at the whole command ("at <regexFind "a**" "x">").
    const cmdText = args.map(argString).join(" ");
    this.at(node.pos, node.name);
    const def = TEMPLATE_FUNCS.get(node.name);
    if (def === undefined) this.fail(`"${node.name}" is not a defined function`);
    const argNodes = args.slice(1);
    const numIn = argNodes.length + (final === MISSING ? 0 : 1);
    const numFixed = def.params.length;
    if (def.variadic !== undefined) {
      if (numIn < numFixed) {
        this.fail(`wrong number of args for ${node.name}: want at least ${numFixed} got ${numIn}`);
      }
    } else if (numIn !== numFixed) {
      this.fail(`wrong number of args for ${node.name}: want ${numFixed} got ${numIn}`);
    }
    if (def.lazy) {
      // Go 1.18+: and/or evaluate arguments left to right and stop at the deciding one.
      const isOr = node.name === "or";
      let v: GoValue = null;
      for (const a of argNodes) {
        v = this.evalArg(dot, "any", a);
        if (goTruth(v) === isOr) return v;
      }
      return final === MISSING ? v : final;
    }
    const paramAt = (i: number): ParamType => def.params[i] ?? def.variadic ?? "any";
    const values: GoValue[] = argNodes.map((a, i) => this.evalArg(dot, paramAt(i), a));
    if (final !== MISSING) values.push(this.validateType(final, paramAt(numIn - 1)));
    this.at(node.pos, cmdText);
    try {
      return def.call(values, this.limits);
    } catch (err) {
      if (err instanceof Abort) throw err;
      if (err instanceof FailError) this.fail(`error calling fail: ${err.message}`, "fail");
      if (err instanceof FuncError) {
        this.fail(
          `error calling ${node.name}: ${err.message}`,
          err instanceof FuncLimitError ? "limit" : "template",
        );
      }
      throw err;
    }
  }

  private evalArg(dot: GoValue, type: ParamType, node: ArgNode): GoValue {
    this.at(node.pos, argString(node));
    switch (node.type) {
      case "dot":
        return this.validateType(dot, type);
      case "nil":
        if (type === "any") return null;
        this.fail(`cannot assign nil to ${goParamName(type)}`);
        break;
      case "field":
        return this.validateType(this.evalFieldChain(dot, node, node.idents, [node], MISSING), type);
      case "variable":
        return this.validateType(this.evalVariable(node, [], MISSING), type);
      case "pipe":
        return this.validateType(this.evalPipeline(dot, node.pipe), type);
      case "identifier":
        return this.validateType(this.evalFunction(dot, node, [node], MISSING), type);
      case "chain":
        return this.validateType(this.evalChain(dot, node, [], MISSING), type);
    }
    this.at(node.pos, argString(node));
    switch (type) {
      case "bool":
        if (node.type === "bool") return node.value;
        this.fail(`expected bool; found ${argString(node)}`);
        break;
      case "int":
        if (node.type === "number" && node.num.isInt) return node.num.int;
        this.fail(`expected integer; found ${argString(node)}`);
        break;
      case "string":
        if (node.type === "string") return node.value;
        this.fail(`expected string; found ${argString(node)}`);
        break;
      case "any":
        if (node.type === "bool") return node.value;
        if (node.type === "number") return this.idealConstant(node.num);
        if (node.type === "string") return node.value;
        break;
    }
    this.fail(`can't handle ${argString(node)} for arg of type ${goParamName(type)}`);
  }

  private validateType(value: GoValue, type: ParamType): GoValue {
    if (type === "any") return value;
    if (value === null) this.fail(`invalid value; expected ${goParamName(type)}`);
    const ok =
      (type === "string" && typeof value === "string") ||
      (type === "int" && typeof value === "bigint") ||
      (type === "bool" && typeof value === "boolean");
    if (!ok) this.fail(`wrong type for value; expected ${goParamName(type)}; got ${goTypeName(value)}`);
    return value;
  }
}

function goParamName(type: ParamType): string {
  return type === "any" ? "interface {}" : type;
}

/** Go's parse.Node String() forms, used in "at <…>" error contexts. */
export function argString(node: ArgNode | undefined): string {
  if (node === undefined) return "";
  switch (node.type) {
    case "field":
      return `.${node.idents.join(".")}`;
    case "variable":
      return node.idents.join(".");
    case "dot":
      return ".";
    case "nil":
      return "nil";
    case "identifier":
      return node.name;
    case "bool":
      return String(node.value);
    case "number":
      return node.num.text;
    case "string":
      return node.text;
    case "pipe":
      return `(${pipeString(node.pipe)})`;
    case "chain":
      return `${argString(node.node)}.${node.fields.join(".")}`;
  }
}

export function pipeString(pipe: PipeNode): string {
  const decl = pipe.decl.length > 0 ? `${pipe.decl.join(", ")} ${pipe.isAssign ? "=" : ":="} ` : "";
  return decl + pipe.cmds.map((c) => c.args.map(argString).join(" ")).join(" | ");
}
