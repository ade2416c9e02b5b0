/**
 * docs/parity.md read as data: its tables' rows, each with the claim (what SPIRE does and
 * what we do), the "Ours" cell (=, ≠ or **+**) and the tests its Proof cell names.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const root = resolve(__dirname, "../..");
const doc = readFileSync(join(root, "docs", "parity.md"), "utf8");

export interface Row {
  section: string;
  line: number;
  /** Every cell but the last, joined: what SPIRE does and what we do. */
  claim: string;
  /** The "Ours" cell: starts with =, ≠ or **+**. */
  ours: string;
  proof: string;
}

export interface Reference {
  file: string;
  name?: string;
}

export function rows(): Row[] {
  const out: Row[] = [];
  let section = "";
  let header: string[] | undefined;
  let lastFile: string | undefined;
  doc.split("\n").forEach((text, i) => {
    if (text.startsWith("## ")) {
      section = text.slice(3);
      header = undefined;
      return;
    }
    if (!text.startsWith("|")) {
      header = undefined;
      return;
    }
    if (/^\|\s*-/.test(text)) return;
    const cells = text
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    if (header === undefined) {
      header = cells;
      return;
    }
    const oursAt = header.indexOf("Ours");
    // "same › …" names the previous row's file.
    let proof = cells.at(-1) ?? "";
    if (/^same\b/.test(proof) && lastFile !== undefined) proof = `\`${lastFile}\` ${proof.slice(4)}`;
    lastFile = references(proof).at(-1)?.file ?? lastFile;
    out.push({
      section,
      line: i + 1,
      claim: cells.slice(0, -1).join(" | "),
      ours: cells[oursAt] ?? "",
      proof,
    });
  });
  return out;
}

/** `file` › "name", "name"; `same` › repeats the file before it. */
export function references(proof: string): Reference[] {
  const out: Reference[] = [];
  let file: string | undefined;
  for (const m of proof.matchAll(/`([^`]+\.(?:ts|go|json))`|"([^"]+)"/g)) {
    if (m[1] !== undefined) {
      file = m[1];
      out.push({ file });
    } else if (m[2] !== undefined && file !== undefined) {
      out.push({ file, name: m[2] });
    }
  }
  return out;
}
