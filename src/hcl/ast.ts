/**
 * The HCL v1 syntax tree, shaped like hashicorp/hcl's `hcl/ast` package because the typed
 * and generic decoders follow Go's decoder.go node by node: keeping the same node kinds is
 * what lets us reproduce its coercions and its error positions.
 */

/** A source position. Line and column count from 1; column counts characters, offset bytes. */
export interface Pos {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

/** Go's zero token.Pos: JSON-derived tokens carry it, and Go prints it as "-". */
export const NO_POS: Pos = { line: 0, column: 0, offset: 0 };

export const TokenType = {
  ILLEGAL: 0,
  EOF: 1,
  COMMENT: 2,
  IDENT: 3,
  NUMBER: 4,
  FLOAT: 5,
  BOOL: 6,
  STRING: 7,
  HEREDOC: 8,
  LBRACK: 9,
  LBRACE: 10,
  COMMA: 11,
  PERIOD: 12,
  RBRACK: 13,
  RBRACE: 14,
  ASSIGN: 15,
  ADD: 16,
  SUB: 17,
  // JSON-only token kinds (hcl/json/token).
  NULL: 18,
  COLON: 19,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

export const tokenTypeName: readonly string[] = [
  "ILLEGAL",
  "EOF",
  "COMMENT",
  "IDENT",
  "NUMBER",
  "FLOAT",
  "BOOL",
  "STRING",
  "HEREDOC",
  "LBRACK",
  "LBRACE",
  "COMMA",
  "PERIOD",
  "RBRACK",
  "RBRACE",
  "ASSIGN",
  "ADD",
  "SUB",
  "NULL",
  "COLON",
];

export interface Token {
  type: TokenType;
  pos: Pos;
  /** Raw bytes of the token as Go's `Text`, kept as bytes so heredoc arithmetic matches Go's. */
  raw: Uint8Array;
  /** true for strings from JSON input: Go unquotes them with strconv.Unquote, not HCL's. */
  json: boolean;
}

export interface ObjectKey {
  readonly kind: "key";
  token: Token;
}

export interface LiteralNode {
  readonly kind: "literal";
  token: Token;
}

export interface ListNode {
  readonly kind: "list";
  lbrack: Pos;
  items: ValueNode[];
}

export interface ObjectNode {
  readonly kind: "object";
  lbrace: Pos;
  list: ObjectList;
}

export interface ObjectItem {
  readonly kind: "item";
  keys: ObjectKey[];
  /** undefined only for JSON items Go builds without a value (never from valid input). */
  val: ValueNode | undefined;
  /** true when written `key = value` (or `"key": value` in JSON), false for `key { }`. */
  assign: boolean;
}

export interface ObjectList {
  readonly kind: "objectList";
  items: ObjectItem[];
}

export type ValueNode = LiteralNode | ListNode | ObjectNode;
export type Node = ValueNode | ObjectList | ObjectItem | ObjectKey;

/** Go's ast.Node.Pos(), including its quirk that an ObjectItem without keys has no position. */
export function nodePos(node: Node): Pos {
  switch (node.kind) {
    case "literal":
    case "key":
      return node.token.pos;
    case "list":
      return node.lbrack;
    case "object":
      return node.lbrace;
    case "item":
      return node.keys[0]?.token.pos ?? NO_POS;
    case "objectList": {
      // Go indexes Items[0] unconditionally and panics on an empty list.
      const first = node.items[0];
      return first === undefined ? NO_POS : nodePos(first);
    }
  }
}

/** Go's `%T` of the node, used in the decoder's error texts. */
export function goTypeName(node: Node): string {
  switch (node.kind) {
    case "literal":
      return "*ast.LiteralType";
    case "list":
      return "*ast.ListType";
    case "object":
      return "*ast.ObjectType";
    case "objectList":
      return "*ast.ObjectList";
    case "item":
      return "*ast.ObjectItem";
    case "key":
      return "*ast.ObjectKey";
  }
}
