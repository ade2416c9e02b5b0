/**
 * Bench scenario: what agent_path_template costs per attestation, and what the regexp
 * functions on re2js add. Three renders of the same node: SPIRE's default template (the
 * engine's floor), a typical template that slugs the Name tag with regexReplaceAll, and the
 * same slug with string functions only. Then the regexp call alone against JavaScript's own
 * RegExp doing the same replacement (the floor re2js is compared with), and the cost of
 * compiling a pattern the cache has not seen (first render after Configure).
 */
import { RE2JS } from "re2js";
import {
  compileAgentPathTemplate,
  DEFAULT_AGENT_PATH_TEMPLATE,
  prepareTemplateFunctions,
} from "../../src/template";
import { compileGoRegexp, goReplaceAll } from "../../src/template/regexp";
import { meanMicros, round } from "./lib/common";

const NAME = "Web Server #12 (prod)";
const DATA = {
  accountId: "123456789012",
  region: "us-west-2",
  instanceId: "i-0b22a22eec53b9321",
  tags: new Map([["Name", NAME]]),
};
const PATTERN = "[^a-z0-9]+";
export const REGEXP_TEMPLATE = `/{{ .PluginName }}/{{ .AccountID }}/{{ regexReplaceAll "${PATTERN}" (index .Tags "Name" | lower) "-" }}/{{ .InstanceID }}`;
const STRINGS_TEMPLATE =
  '/{{ .PluginName }}/{{ .AccountID }}/{{ index .Tags "Name" | lower | replace " " "-" | replace "#" "" | replace "(" "" | replace ")" "" }}/{{ .InstanceID }}';

export async function run(): Promise<{ name: string; [k: string]: unknown }> {
  // The regex functions load on demand, as at Configure.
  await prepareTemplateFunctions(REGEXP_TEMPLATE);
  const plain = compileAgentPathTemplate(DEFAULT_AGENT_PATH_TEMPLATE);
  const regexp = compileAgentPathTemplate(REGEXP_TEMPLATE);
  const strings = compileAgentPathTemplate(STRINGS_TEMPLATE);
  const out = regexp.render(DATA);
  if (out !== "/aws_iid/123456789012/web-server-12-prod-/i-0b22a22eec53b9321") {
    throw new Error(`bench template renders ${out}`);
  }
  const minMs = 1500;
  const tDefault = meanMicros(() => plain.render(DATA), minMs);
  const tRegexp = meanMicros(() => regexp.render(DATA), minMs);
  const tStrings = meanMicros(() => strings.render(DATA), minMs);

  const slug = NAME.toLowerCase();
  const re2 = compileGoRegexp(PATTERN);
  const js = /[^a-z0-9]+/g;
  const tRe2Call = meanMicros(() => goReplaceAll(re2, slug, "-", false, 65_536), minMs);
  const tJsCall = meanMicros(() => slug.replace(js, "-"), minMs);
  const tCompile = meanMicros(() => RE2JS.compile(PATTERN), minMs);

  return {
    name: "template",
    description:
      "agent_path_template render per attestation (default template; a regexReplaceAll slug of the Name tag; the same slug with replace) and the re2js call alone against JavaScript's RegExp; mean over >=1.5 s after warm-up",
    metrics: {
      default_render_us: round(tDefault.us, 2),
      regexp_render_us: round(tRegexp.us, 2),
      strings_render_us: round(tStrings.us, 2),
      re2js_replace_us: round(tRe2Call.us, 2),
      js_regexp_replace_us: round(tJsCall.us, 3),
      re2js_vs_js_ratio: round(tRe2Call.us / tJsCall.us, 1),
      re2js_compile_us: round(tCompile.us, 1),
    },
    template: REGEXP_TEMPLATE,
    runs: tRegexp.iterations,
  };
}
