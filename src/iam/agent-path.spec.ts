import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { caught } from "../testkit/recording";
import { compileIamAgentPathTemplate, iamAgentId, iamTemplateValues } from "./agent-path";
import type { Principal } from "./principal";

const role: Principal = {
  kind: "assumed-role",
  partition: "aws",
  account: "111122223333",
  roleName: "spire-node",
  sessionName: "alice@example.com",
  roleArn: "arn:aws:iam::111122223333:role/spire-node",
  principalArn: "arn:aws:sts::111122223333:assumed-role/spire-node/alice@example.com",
  userId: "AROAEXAMPLE:alice@example.com",
};
const user: Principal = {
  kind: "user",
  partition: "aws",
  account: "111122223333",
  userName: "ci-runner",
  principalArn: "arn:aws:iam::111122223333:user/ci-runner",
  userId: "AIDAEXAMPLE",
};

describe("aws_iam agent ID", () => {
  it("keeps the escaped default layout without a template", () => {
    expect(iamAgentId("example.org", undefined, role)).toBe(
      "spiffe://example.org/spire/agent/aws_iam/111122223333/spire-node/alice_40example.com",
    );
    expect(iamAgentId("example.org", undefined, user)).toBe(
      "spiffe://example.org/spire/agent/aws_iam/111122223333/user/ci-runner/AIDAEXAMPLE",
    );
  });

  it("gives the template every principal field; role fields are empty for users", () => {
    expect(iamTemplateValues(role)).toMatchObject({
      PluginName: "aws_iam",
      Partition: "aws",
      AccountID: "111122223333",
      PrincipalType: "assumed-role",
      RoleName: "spire-node",
      RoleARN: "arn:aws:iam::111122223333:role/spire-node",
      SessionName: "alice@example.com",
      UserName: "",
      UserID: "AROAEXAMPLE:alice@example.com",
    });
    expect(iamTemplateValues(user)).toMatchObject({
      PrincipalType: "user",
      RoleName: "",
      UserName: "ci-runner",
    });
  });

  it("renders a template with SPIRE's sprig functions", () => {
    const t = compileIamAgentPathTemplate(
      '/{{ .PluginName }}/{{ .AccountID }}/{{ .RoleName }}/{{ .SessionName | replace "@" "-at-" }}',
    );
    expect(iamAgentId("example.org", t, role)).toBe(
      "spiffe://example.org/spire/agent/aws_iam/111122223333/spire-node/alice-at-example.com",
    );
  });

  it("refuses a principal whose raw name is no valid path segment as PermissionDenied, naming it", () => {
    const t = compileIamAgentPathTemplate("/{{ .RoleName }}/{{ .SessionName }}");
    const err = caught(() => iamAgentId("example.org", t, role));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/^failed to create spiffe ID: .*caused by the names of arn:aws:sts::/);
    // A role-only template applied to an IAM user: empty segment, the principal's doing.
    expect(caught(() => iamAgentId("example.org", t, user)).code).toBe(Code.PermissionDenied);
  });

  it("reports a template that is wrong for every principal as Internal", () => {
    const t = compileIamAgentPathTemplate("/{{ .AccountID }}/");
    const err = caught(() => iamAgentId("example.org", t, role));
    expect(err.code).toBe(Code.Internal);
    expect(err.message).toContain("invalid path for every principal");
  });

  it("refuses aws_iid's fields at configure time", () => {
    expect(caught(() => compileIamAgentPathTemplate("/{{ .Tags.Name }}")).code).toBe(Code.InvalidArgument);
  });
});
