/**
 * SPIRE's path for plugin_data (SPIRE's pkg/common/catalog/config.go): SPIRE parses the whole
 * server.conf with HCL v1, re-prints each NodeAttestor's plugin_data with the HCL v1 printer
 * (the body without braces, no trailing newline; `plugin_data = "text"` keeps its quotes) and
 * the plugin parses that text. The oracle runs the real Go path; we check that (1) our parser reads the printed
 * text exactly as Go does and (2) check-config, which reads plugin_data in place inside the
 * file, sees the same value — or flags the one known divergence (a trailing heredoc).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { findPlugins } from "../../src/cli/check-config";
import { TokenType } from "../../src/hcl/ast";
import type { HclError } from "../../src/hcl/errors";
import { decodeGeneric, equalFold, keyName, parseToGoValue } from "../../src/hcl/generic";
import { parse } from "../../src/hcl/parser";
import { corpusFiles } from "./corpus";
import { buildOracle, type OracleResult, runOracle, toTagged } from "./oracle";

const skip = process.env.HCL_ORACLE_SKIP === "1";
const confs = corpusFiles().filter((f) => /\.conf$|^server-conf/.test(f.name));

describe.skipIf(skip)("SPIRE's plugin_data printing path", () => {
  let results: OracleResult[] = [];
  beforeAll(() => {
    buildOracle();
    results = runOracle(confs.map((f) => ({ mode: "spire", input: f.text })));
  });

  it.each(confs.map((f, index) => ({ ...f, index })))("$name", ({ text, index }) => {
    const go = results[index]!;
    expect(go.error ?? go.panic).toBeUndefined();
    const file = parse(text);
    const mine = (findPlugins(file.root) ?? []).filter((p) => p.type === "NodeAttestor");
    expect(mine.map((p) => p.name).sort()).toEqual(go.plugins!.map((p) => p.name));
    for (const goPlugin of go.plugins!) {
      // (1) the printed text, through our parser
      let printed: unknown;
      try {
        printed = { value: toTagged(parseToGoValue(goPlugin.data)) };
      } catch (e) {
        printed = { error: (e as HclError).goMessage };
      }
      expect(printed).toEqual(
        goPlugin.error !== undefined ? { error: goPlugin.error } : { value: goPlugin.value },
      );

      // (2) plugin_data read in place
      const entry = mine.find((p) => p.name === goPlugin.name)!;
      const data = entry.items
        .filter((i) => i.keys.length === 1 && equalFold(keyName(i), "plugin_data"))
        .pop();
      if (data?.val?.kind !== "object") continue;
      const body = data.val.list;
      const last = body.items[body.items.length - 1];
      if (goPlugin.error !== undefined) {
        expect(last?.val?.kind === "literal" && last.val.token.type === TokenType.HEREDOC).toBe(true);
        continue;
      }
      const inPlace = toTagged(decodeGeneric({ root: body, json: file.json, source: file.source }));
      expect(inPlace).toEqual(goPlugin.value);
    }
  });

  it("covers SPIRE-printed JSON (quoted keys) and heredoc cases", () => {
    expect(confs.length).toBeGreaterThanOrEqual(10);
    expect(results.some((r) => r.plugins?.some((p) => p.data.startsWith('"')))).toBe(true);
    expect(results.some((r) => r.plugins?.some((p) => p.error?.includes("heredoc")))).toBe(true);
  });
});
