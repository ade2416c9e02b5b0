/**
 * docs/configuration.md is generated from the config schemas (scripts/gen-config-docs.ts);
 * this fails when a key, default, bound or doc string changed without regenerating it, so the
 * reference operators read cannot drift from what the plugin accepts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC_PATH, renderConfigDoc, SPIRE_AWS_IID_KEYS } from "../scripts/gen-config-docs";
import { agentFields } from "../src/agent/config";
import { describeSchema } from "../src/hcl/schema";
import { serverFields } from "../src/server/config";

describe("docs/configuration.md", () => {
  it("matches the schemas (run `npm run gen:config-docs` to update it)", () => {
    const current = readFileSync(CONFIG_DOC_PATH, "utf8");
    expect(renderConfigDoc(current)).toBe(current);
  });

  it("marks as SPIRE-compatible only keys that exist in our schemas", () => {
    const ours = new Set([...describeSchema(serverFields), ...describeSchema(agentFields)].map((d) => d.key));
    for (const key of SPIRE_AWS_IID_KEYS) expect(ours.has(key), key).toBe(true);
  });

  it("lists every server and agent key", () => {
    const doc = readFileSync(CONFIG_DOC_PATH, "utf8");
    for (const d of [...describeSchema(serverFields), ...describeSchema(agentFields)]) {
      expect(doc).toContain(`| \`${d.key}\` |`);
    }
  });
});
