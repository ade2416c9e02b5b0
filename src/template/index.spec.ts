import { beforeAll, describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { caught } from "../testkit/recording";
import {
  type AgentPathTemplateData,
  compileAgentPathTemplate,
  compilePathTemplate,
  DEFAULT_AGENT_PATH_TEMPLATE,
  MAX_TEMPLATE_LENGTH,
  prepareTemplateFunctions,
  usesTags,
} from "./index";

// The regex functions' engine loads on demand, as Configure loads it.
beforeAll(() => prepareTemplateFunctions(undefined));

const data = (tags: Record<string, string> = {}): AgentPathTemplateData => ({
  accountId: "test-account",
  region: "test-region",
  instanceId: "test-instance",
  tags: new Map(Object.entries(tags)),
});

describe("agent_path_template: SPIRE's own cases", () => {
  it.each([
    // spiffeid_test.go "default"
    ["default template", DEFAULT_AGENT_PATH_TEMPLATE, {}, "/aws_iid/test-account/test-region/test-instance"],
    // spiffeid_test.go "instance tags"
    ["instance tags", "/{{ .Tags.a }}/{{ .Tags.b }}", { a: "c", b: "d" }, "/c/d"],
    // iid_test.go "success with agent_path_template"
    [
      "custom template",
      "/{{ .PluginName }}/custom/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}",
      {},
      "/aws_iid/custom/test-account/test-region/test-instance",
    ],
    // iid_test.go "success with tags in template"
    [
      "tags in template",
      "/{{ .PluginName }}/zone1/{{ .Tags.Hostname }}",
      { Hostname: "host1" },
      "/aws_iid/zone1/host1",
    ],
  ])("%s", (_name, template, tags, expected) => {
    expect(compileAgentPathTemplate(template).render(data(tags))).toBe(expected);
  });

  it("fails with SPIRE's message when a tag the template needs is missing, as PermissionDenied", () => {
    const err = caught(() =>
      compileAgentPathTemplate("/{{ .PluginName }}/zone1/{{ .Tags.Hostname }}").render(data()),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(
      /^template: agent-path:1:33: executing "agent-path" at <\.Tags\.Hostname>: map has no entry for key "Hostname"/,
    );
    expect(err.message).toContain('instance test-instance has no tag "Hostname"');
  });

  it("refuses a template that does not parse with SPIRE's message (iid_test.go bad agent template)", () => {
    const err = caught(() => compileAgentPathTemplate("/{{ .InstanceID "));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toMatch(/^failed to parse agent svid template: "\/\{\{ \.InstanceID ": /);
  });

  it("gives the template .PluginName aws_iid and an empty .TrustDomain, like SPIRE", () => {
    expect(compileAgentPathTemplate("/{{ .PluginName }}/[{{ .TrustDomain }}]").render(data())).toBe(
      "/aws_iid/[]",
    );
  });
});

describe("agent_path_template: constructs", () => {
  it.each([
    ["trims white space with {{- and -}}", "/a \n {{- .Region -}} \n b", "/atest-regionb"],
    ["drops comments", "/{{/* why */}}x{{- /* trimmed */ -}} y", "/xy"],
    [
      "chains else if",
      '{{ if eq .Region "x" }}x{{ else if eq .Region "test-region" }}/r{{ else }}z{{ end }}',
      "/r",
    ],
    ["rebinds dot in with, keeps $", "/{{ with .Tags.k }}{{ . }}-{{ $.Region }}{{ end }}", "/v-test-region"],
    ["takes else with", '/{{ with index .Tags "nope" }}{{ . }}{{ else with .Tags.k }}{{ . }}{{ end }}', "/v"],
    ["declares and assigns variables", "/{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "/2"],
    ["pipes the value as the last argument", '/{{ .Tags.k | printf "%s-%s" "a" }}', "/a-v"],
    ["evaluates parenthesised calls", '/{{ upper (printf "%s" (lower "AB")) }}', "/AB"],
    ["short-circuits and/or", '/{{ or .Tags.k (fail "never") }}', "/v"],
    ["reads a tag whose key is not an identifier with index", '/{{ index .Tags "aws:x" }}', "/y"],
    ['yields "" from index for a missing tag', '/{{ index .Tags "missing" | default "none" }}', "/none"],
    ["compares with eq against several values", '/{{ eq .Region "a" "test-region" }}', "/true"],
    ["prints floats like Go", "/{{ 1e6 }}/{{ 0.5 }}/{{ 1.0 }}", "/1e+06/0.5/1"],
    ["formats with printf", '/{{ printf "%s-%03d" .Region 7 }}', "/test-region-007"],
    ["hashes for short stable IDs", "/{{ sha256sum .InstanceID | trunc 8 }}", "/b6a8ed49"],
    ["rewrites with RE2 regexps", '/{{ regexReplaceAll "[^a-z]+" "Test Region" "-" }}', "/-est-egion"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Go's ${name} expansion, not a JS template.
    ["supports RE2 named groups", '/{{ regexReplaceAll "(?P<a>t)e" "test" "${a}E" }}', "/tEst"],
    ["splits and joins", '/{{ splitList "-" .InstanceID | join "_" }}', "/test_instance"],
  ])("%s", (_name, template, expected) => {
    expect(compileAgentPathTemplate(template).render(data({ k: "v", "aws:x": "y" }))).toBe(expected);
  });
});

describe("agent_path_template: refused at configuration time", () => {
  it.each([
    ["range (unbounded)", "/{{ range .Tags }}x{{ end }}", 'action "range" is not available'],
    ["define", '{{ define "a" }}x{{ end }}', 'action "define" is not available'],
    ["template", '{{ template "a" }}', 'action "template" is not available'],
    ["block", '{{ block "a" . }}x{{ end }}', 'action "block" is not available'],
    [
      "a sprig function SPIRE allows but we do not implement",
      "/{{ kebabcase .Region }}",
      'function "kebabcase" is not available in agent_path_template: not implemented; lower, upper and regexReplaceAll',
    ],
    [
      "uuidv4, which would defeat TOFU",
      "/{{ uuidv4 }}",
      'function "uuidv4" is not available in agent_path_template: a random value',
    ],
    [
      "a collection builder, in a nested pipeline",
      '/{{ upper (join "-" (list .Region)) }}',
      'function "list" is not available in agent_path_template: a path template has strings',
    ],
    [
      "base64, whose alphabet is not a path's",
      "/{{ .Region | b64enc }}",
      'function "b64enc" is not available in agent_path_template: base64 and base32 text',
    ],
    ["html escaping", "/{{ html .Region }}", 'function "html" is not available in agent_path_template'],
    ["a function outside SPIRE's allow-list", '/{{ env "HOME" }}', 'function "env" not defined'],
    ["a field the data does not have", "/{{ .Hostname }}", "can't evaluate field Hostname"],
    ["a field of $ the data does not have", "/{{ $.Hostname }}", "can't evaluate field Hostname"],
    ["an RE2-invalid regexp at run time (back-reference)", '/{{ regexFind "(a)\\\\1" "aa" }}', ""],
    ["an undefined variable", "/{{ $x }}", 'undefined variable "$x"'],
    ["an unclosed action", "/{{ .Region ", "unclosed action"],
    ["a template over the length cap", `/${"x".repeat(MAX_TEMPLATE_LENGTH)}`, "the limit is 4096"],
    [
      "nesting beyond the depth cap",
      `${"{{ if true }}".repeat(60)}x${"{{ end }}".repeat(60)}`,
      "nesting exceeds",
    ],
  ])("%s", (_name, template, message) => {
    if (message === "") {
      // RE2 errors surface when the function runs, as in SPIRE, but never as an output.
      const err = caught(() => compileAgentPathTemplate(template).render(data()));
      expect(err.code).toBe(Code.Internal);
      return;
    }
    const err = caught(() => compileAgentPathTemplate(template));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain(message);
  });
});

/** printf pads to any width: the way to make a long string without repeat. */
const padded = (n: number): string => `(printf "%0${n}d" 0)`;

describe("agent_path_template: error codes at attestation time", () => {
  it.each([
    [
      "fail is an operator's rejection",
      '{{ if not (index .Tags "team") }}{{ fail "tag team required" }}{{ end }}',
      Code.PermissionDenied,
      "tag team required",
    ],
    ["a type error is a template bug", "/{{ upper 1 }}", Code.Internal, "expected string; found 1"],
    ["the tag map is not a string", "/{{ .Tags | upper }}", Code.Internal, "got awsiid.instanceTags"],
    ["output over 2048 bytes", `/{{ ${padded(3000)} }}`, Code.PermissionDenied, "output exceeds 2048 bytes"],
    [
      "an intermediate string over the cap",
      `/{{ ${padded(70_000)} | len }}`,
      Code.PermissionDenied,
      "result exceeds 65536 bytes",
    ],
    [
      "replace that would multiply a string, refused before it is built",
      `/{{ replace "" ${padded(60_000)} ${padded(60_000)} | len }}`,
      Code.PermissionDenied,
      "result exceeds 65536 bytes",
    ],
    [
      "regexReplaceAll that would multiply a string, cut off as it grows",
      `/{{ regexReplaceAll "" ${padded(60_000)} ${padded(1000)} | len }}`,
      Code.PermissionDenied,
      "result exceeds 65536 bytes",
    ],
    [
      "join of many long parts, refused before it is built",
      `/{{ splitList "" ${padded(4000)} | join ${padded(60_000)} | len }}`,
      Code.PermissionDenied,
      "result exceeds 65536 bytes",
    ],
    [
      "a list over the element cap",
      `/{{ splitList "" ${padded(5000)} | len }}`,
      Code.PermissionDenied,
      "result exceeds 4096 elements",
    ],
  ])("%s", (_name, template, code, message) => {
    const err = caught(() => compileAgentPathTemplate(template).render(data({ k: "v" })));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });
});

// Go's own results for RE2 syntax JavaScript lacks (\p{…}, inline flags, octal escapes, $01)
// are golden cases (golden.spec.ts); here, what only a linear-time engine survives.
describe("agent_path_template: regular expressions are RE2 (re2js)", () => {
  it.each([
    // A backtracking engine never returns from this; RE2 answers in time linear in the input.
    [
      "the classic catastrophic pattern",
      `/{{ regexMatch "^(0+)+$" (printf "%sb" ${padded(5000)}) }}`,
      "/false",
    ],
    ["astral characters count as one", '/{{ regexFindAll "." "a😀b" -1 | join "," }}', "/a,😀,b"],
  ])("%s", (_name, template, expected) => {
    expect(compileAgentPathTemplate(template).render(data())).toBe(expected);
  });
});

describe("usesTags", () => {
  it.each([
    [DEFAULT_AGENT_PATH_TEMPLATE, false],
    ["/{{ .Tags.Name }}", true],
    ['/{{ index .Tags "Name" }}', true],
    ["/{{ with $ }}{{ .Tags.Name }}{{ end }}", true],
    // SPIRE matches the text, so a literal ".Tags" also counts; harmless, kept for parity.
    ["/literal.Tags", true],
  ])("%j → %s", (template, expected) => {
    expect(usesTags(compileAgentPathTemplate(template))).toBe(expected);
  });
});

describe("deliberate differences from Go that docs/parity.md names", () => {
  it("trunc cutting inside a UTF-8 sequence yields U+FFFD, where Go yields an invalid byte", () => {
    const t = compileAgentPathTemplate('/{{ "aé" | trunc 2 }}');
    expect(t.render(data())).toBe("/a\ufffd");
  });
});

describe("compilePathTemplate (caller-supplied root fields)", () => {
  const schema = {
    typeName: "test.rootData",
    fields: ["PluginName", "RoleName", "Labels"],
    map: {
      field: "Labels",
      typeName: "test.labels",
      hint: "labels: .Labels.<key>",
      missingKeyHint: (key: string) => `add label ${key}`,
    },
  };

  it("renders the caller's fields with the same functions", () => {
    const t = compilePathTemplate(
      '/{{ .PluginName }}/{{ .RoleName | lower }}/{{ index .Labels "team" }}',
      schema,
    );
    expect(t.usesMap).toBe(true);
    expect(t.render({ PluginName: "p", RoleName: "Web", Labels: new Map([["team", "blue"]]) })).toBe(
      "/p/web/blue",
    );
  });

  it("refuses at configure time a field the caller's root does not have, naming its fields", () => {
    const err = caught(() => compilePathTemplate("/{{ .InstanceID }}", schema));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain("can't evaluate field InstanceID in type test.rootData");
    expect(err.message).toContain("(fields: .PluginName, .RoleName, .Labels; labels: .Labels.<key>)");
  });

  it("keeps missingkey=error for the map field: PermissionDenied", () => {
    const t = compilePathTemplate("/{{ .Labels.team }}", schema);
    const err = caught(() => t.render({ PluginName: "p", RoleName: "r", Labels: new Map() }));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('map has no entry for key "team" (add label team)');
  });

  it("a schema without a map field never reports map use", () => {
    const t = compilePathTemplate("/{{ .RoleName }}", { typeName: "t.d", fields: ["RoleName"] });
    expect(t.usesMap).toBe(false);
    expect(t.render({ RoleName: "r" })).toBe("/r");
  });
});
