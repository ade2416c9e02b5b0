/**
 * HCL text (SPIRE's plugin_data, already rendered to hcl_configuration) to the plain object
 * config.ts checks. A thin adapter over the HCL v1 parser in src/hcl: scalars, lists of
 * scalars and a repeated key refused, which is all aws_iam's flat configuration needs.
 */
import { invalidArgument } from "../common/errors";
import type { ObjectList, ValueNode } from "../hcl/ast";
import { TokenType } from "../hcl/ast";
import { parse } from "../hcl/parser";
import { stringValue, tokenText } from "../hcl/values";

export function parseIamConfigText(text: string): Record<string, unknown> {
  let root: ObjectList;
  try {
    root = parse(text).root;
  } catch (err) {
    throw invalidArgument(
      `unable to decode configuration: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const item of root.items) {
    const key = item.keys.map((k) =>
      k.token.type === TokenType.STRING ? stringValue(k.token) : tokenText(k.token),
    );
    if (key.length !== 1 || item.val === undefined) {
      throw invalidArgument(`unexpected block ${JSON.stringify(key.join(" "))} in configuration`);
    }
    const name = key[0]!;
    if (Object.hasOwn(out, name))
      throw invalidArgument(`configuration key ${JSON.stringify(name)} is set twice`);
    out[name] = plainValue(item.val, name);
  }
  return out;
}

function plainValue(node: ValueNode, key: string): unknown {
  switch (node.kind) {
    case "list":
      return node.items.map((item) => {
        if (item.kind !== "literal") throw invalidArgument(`${key} must be a list of scalars`);
        return plainValue(item, key);
      });
    case "object":
      throw invalidArgument(`${key} must not be a block`);
    case "literal": {
      const tok = node.token;
      switch (tok.type) {
        case TokenType.STRING:
        case TokenType.HEREDOC:
          return stringValue(tok);
        case TokenType.BOOL:
          return tokenText(tok) === "true";
        case TokenType.NUMBER:
        case TokenType.FLOAT:
          // Kept as text: aws_iam has no numeric keys, and HCL v1 decodes a number into a Go
          // string field as its text (allowed_account_ids = [123456789012] works in aws_iid).
          return tokenText(tok);
        default:
          throw invalidArgument(`${key} has an unsupported value ${tokenText(tok).slice(0, 32)}`);
      }
    }
  }
}
