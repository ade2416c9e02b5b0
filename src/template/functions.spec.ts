/**
 * The function set: everything SPIRE's agent_path_template can call is either implemented or
 * refused by name with a reason, and the refused set is exactly the one docs/parity.md and
 * docs/selectors.md list.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { caught } from "../testkit/recording";
import { REFUSED_FUNCS, regexFunctionsLoaded, TEMPLATE_FUNCS } from "./functions";
import { compileAgentPathTemplate, DEFAULT_AGENT_PATH_TEMPLATE, prepareTemplateFunctions } from "./index";

/** SPIRE's allow-list (pkg/common/agentpathtemplate/template.go), kept for parity tests. */
const SPIRE_SPRIG_ALLOW_LIST: readonly string[] =
  "abbrev abbrevboth trunc trim upper lower title untitle substr repeat trimAll trimSuffix trimPrefix nospace initials swapcase snakecase camelcase kebabcase wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural sha1sum sha256sum adler32sum toString seq splitList toStrings join sortAlpha default empty coalesce all any compact mustCompact ternary base dir clean ext isAbs b64enc b64dec b32enc b32dec tuple list dict get set unset hasKey pluck keys pick omit merge mergeOverwrite mustMerge mustMergeOverwrite values append push mustAppend mustPush prepend mustPrepend first mustFirst rest mustRest last mustLast initial mustInitial reverse mustReverse uniq mustUniq without mustWithout has mustHas slice mustSlice concat dig chunk mustChunk uuidv4 fail regexMatch mustRegexMatch regexFindAll mustRegexFindAll regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta urlParse urlJoin".split(
    " ",
  );

/** Go text/template's builtin functions (sprig's `slice` overrides the builtin one). */
const GO_BUILTIN_FUNCS: readonly string[] =
  "and call html index slice js len not or print printf println urlquery eq ge gt le lt ne".split(" ");

describe("function coverage against SPIRE's allow-list", () => {
  it.each([...SPIRE_SPRIG_ALLOW_LIST, ...GO_BUILTIN_FUNCS])(
    "%s is implemented or refused with a reason",
    (name) => {
      const implemented = TEMPLATE_FUNCS.has(name);
      const refused = REFUSED_FUNCS.has(name);
      expect(implemented !== refused).toBe(true);
    },
  );

  it("implements nothing beyond SPIRE's allow-list and Go's builtins", () => {
    const allowed = new Set([...SPIRE_SPRIG_ALLOW_LIST, ...GO_BUILTIN_FUNCS]);
    expect([...TEMPLATE_FUNCS.keys()].filter((n) => !allowed.has(n))).toEqual([]);
  });
});

describe("the cut", () => {
  it("refuses exactly the functions the docs list as parity differences", () => {
    expect([...REFUSED_FUNCS.keys()].sort()).toEqual(
      (
        "uuidv4 quote squote indent nindent println b64enc b64dec b32enc b32dec repeat seq plural " +
        "list tuple dict get set unset hasKey pluck keys pick omit values dig merge mergeOverwrite " +
        "mustMerge mustMergeOverwrite append push mustAppend mustPush prepend mustPrepend uniq mustUniq " +
        "without mustWithout has mustHas concat chunk mustChunk toStrings sortAlpha abbrev abbrevboth " +
        "wrap wrapWith initials swapcase snakecase camelcase kebabcase urlParse urlJoin html js urlquery call"
      )
        .split(" ")
        .sort(),
    );
  });

  it.each(["docs/selectors.md", "docs/parity.md"])("is listed, name by name, in %s", (doc) => {
    const text = readFileSync(new URL(`../../${doc}`, import.meta.url), "utf8");
    // selectors.md folds the must… forms into "(and their must… forms)".
    const named = (n: string): boolean =>
      text.includes(`\`${n}\``) || (/^must[A-Z]/.test(n) && doc === "docs/selectors.md");
    expect([...REFUSED_FUNCS.keys()].filter((n) => !named(n))).toEqual([]);
  });

  it("gives every refusal a reason", () => {
    for (const reason of REFUSED_FUNCS.values()) expect(reason.length).toBeGreaterThan(20);
  });
});

describe("the regexp engine loads on demand", () => {
  const regexTemplate = '/{{ regexReplaceAll "-[0-9]$" .Region "" }}';

  it("stays unloaded for a template without a regex function, and a regex template needs it", async () => {
    await prepareTemplateFunctions(DEFAULT_AGENT_PATH_TEMPLATE);
    expect(regexFunctionsLoaded()).toBe(false);
    expect(caught(() => compileAgentPathTemplate(regexTemplate)).code).toBe(Code.Internal);
  });

  it("loads for a template that names one, which then renders", async () => {
    await prepareTemplateFunctions(regexTemplate);
    expect(regexFunctionsLoaded()).toBe(true);
    const rendered = compileAgentPathTemplate(regexTemplate).render({
      accountId: "111122223333",
      region: "us-west-2",
      instanceId: "i-0123456789abcdef0",
      tags: new Map(),
    });
    expect(rendered).toBe("/us-west");
  });
});
