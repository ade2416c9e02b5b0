import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { compileAgentPathTemplate, DEFAULT_AGENT_PATH_TEMPLATE } from "../template";
import { caught } from "../testkit/recording";
import { agentIdFromTemplate, makeAgentId, validateSpiffePath, validateTrustDomainName } from "./agent-id";

const doc = { accountId: "123456789012", region: "us-west-2", instanceId: "i-0b22a22eec53b9321" };

describe("validateSpiffePath (go-spiffe spiffeid.ValidatePath)", () => {
  it.each([
    ["", null],
    ["/a", null],
    ["/a/b.c/d-e_f/A9", null],
    ["/...", null],
    ["a", "path must have a leading slash"],
    ["/", "path cannot have a trailing slash"],
    ["/a/", "path cannot have a trailing slash"],
    ["//a", "path cannot contain empty segments"],
    ["/a//b", "path cannot contain empty segments"],
    ["/./a", "path cannot contain dot segments"],
    ["/a/..", "path cannot contain dot segments"],
    ["/a b", "path segment characters are limited to letters, numbers, dots, dashes, and underscores"],
    ["/a:b", "path segment characters are limited to letters, numbers, dots, dashes, and underscores"],
    ["/naïve", "path segment characters are limited to letters, numbers, dots, dashes, and underscores"],
    ["/a%20b", "path segment characters are limited to letters, numbers, dots, dashes, and underscores"],
  ])("%j → %s", (path, expected) => {
    expect(validateSpiffePath(path)).toBe(expected);
  });
});

describe("validateTrustDomainName", () => {
  it.each([
    ["example.org", null],
    ["my_td-1.example", null],
    ["", "trust domain is missing"],
    [
      "Example.org",
      "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
    ],
    [
      "example.org:8080",
      "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
    ],
  ])("%j → %s", (td, expected) => {
    expect(validateTrustDomainName(td)).toBe(expected);
  });
});

describe("makeAgentId (idutil.AgentID)", () => {
  it("prefixes /spire/agent", () => {
    expect(makeAgentId("example.org", "/aws_iid/1/r/i")).toBe(
      "spiffe://example.org/spire/agent/aws_iid/1/r/i",
    );
  });
  it.each([
    ["a bad trust domain", "EXAMPLE", "/x", "invalid trust domain"],
    ["a bad path", "example.org", "/a b", 'invalid agent path suffix "/a b"'],
    [
      "an empty path (SPIRE accepts it; every node would share one ID)",
      "example.org",
      "",
      "the agent path is empty",
    ],
  ])("refuses %s as Internal", (_name, td, suffix, message) => {
    const err = caught(() => makeAgentId(td, suffix));
    expect(err.code).toBe(Code.Internal);
    expect(err.message).toContain(message);
  });
});

describe("agentIdFromTemplate", () => {
  it("builds SPIRE's default agent ID", () => {
    const id = agentIdFromTemplate("example.org", compileAgentPathTemplate(DEFAULT_AGENT_PATH_TEMPLATE), {
      ...doc,
      tags: new Map(),
    });
    expect(id).toBe("spiffe://example.org/spire/agent/aws_iid/123456789012/us-west-2/i-0b22a22eec53b9321");
  });

  it.each([
    [
      "a tag value with a space is the node's fault",
      "/aws_iid/{{ .Tags.Name }}",
      { Name: "web server" },
      Code.PermissionDenied,
      "caused by the tags of instance",
    ],
    [
      "a tag value with a slash making an empty segment is the node's fault",
      "/aws_iid/{{ .Tags.Name }}/x",
      { Name: "a//b" },
      Code.PermissionDenied,
      "path cannot contain empty segments",
    ],
    [
      "a missing tag read through index is the node's fault",
      '/aws_iid/{{ index .Tags "Name" }}',
      {},
      Code.PermissionDenied,
      "path cannot have a trailing slash",
    ],
    [
      "a missing tag read as a field keeps SPIRE's text and is the node's fault",
      "/aws_iid/{{ .Tags.Name }}",
      {},
      Code.PermissionDenied,
      'failed to create spiffe ID: template: agent-path:1:17: executing "agent-path" at <.Tags.Name>: map has no entry for key "Name"',
    ],
    [
      "a template literal with a space is a configuration bug",
      "/aws iid/{{ .InstanceID }}",
      {},
      Code.Internal,
      "produces an invalid path for every node",
    ],
    [
      "a template without a leading slash is a configuration bug",
      "{{ .InstanceID }}",
      {},
      Code.Internal,
      "leading slash",
    ],
    ["an empty output is refused", "{{ if false }}x{{ end }}", {}, Code.Internal, "the agent path is empty"],
  ])("%s", (_name, template, tags, code, message) => {
    const err = caught(() =>
      agentIdFromTemplate("example.org", compileAgentPathTemplate(template), {
        ...doc,
        tags: new Map(Object.entries(tags)),
      }),
    );
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect(err.message.startsWith("failed to create spiffe ID: ")).toBe(true);
  });
});
