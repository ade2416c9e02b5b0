import { agentIdFromPath, makeAgentId } from "../server/agent-id";
import {
  AWS_IAM_TEMPLATE_SCHEMA,
  type CompiledPathTemplate,
  compilePathTemplate,
  type PathTemplateValues,
} from "../template";
import { defaultAgentPathSegments, type Principal } from "./principal";

export const IAM_TEMPLATE_PLUGIN_NAME = "aws_iam";

/** Compiles agent_path_template for aws_iam; throws InvalidArgument like aws_iid's. */
export function compileIamAgentPathTemplate(text: string): CompiledPathTemplate {
  return compilePathTemplate(text, AWS_IAM_TEMPLATE_SCHEMA);
}

export function iamTemplateValues(p: Principal): PathTemplateValues {
  const role = p.kind === "assumed-role";
  return {
    PluginName: IAM_TEMPLATE_PLUGIN_NAME,
    Partition: p.partition,
    AccountID: p.account,
    PrincipalType: p.kind,
    PrincipalARN: p.principalArn,
    RoleName: role ? p.roleName : "",
    RoleARN: role ? p.roleArn : "",
    SessionName: role ? p.sessionName : "",
    UserName: role ? "" : p.userName,
    UserID: p.userId,
  };
}

/** Every value replaced by a valid path segment: tells node-caused failures from template bugs. */
function placeholderValues(): PathTemplateValues {
  const out: Record<string, string> = {};
  for (const f of AWS_IAM_TEMPLATE_SCHEMA.fields) out[f] = "x";
  return out;
}

/**
 * The agent SPIFFE ID for a principal. Without a template: the default layout. With one:
 * errors are prefixed "failed to create spiffe ID: " as aws_iid's; an invalid ID caused by
 * the principal's names is PermissionDenied, one that no principal could fix is Internal.
 */
export function iamAgentId(
  trustDomain: string,
  template: CompiledPathTemplate | undefined,
  p: Principal,
): string {
  if (template === undefined) {
    return makeAgentId(trustDomain, `/${IAM_TEMPLATE_PLUGIN_NAME}/${defaultAgentPathSegments(p).join("/")}`);
  }
  return agentIdFromPath(
    trustDomain,
    (placeholders) => template.render(placeholders ? placeholderValues() : iamTemplateValues(p)),
    {
      node: `caused by the names of ${p.principalArn}: values used in agent_path_template must be valid SPIFFE path segments`,
      every: "agent_path_template produces an invalid path for every principal",
    },
  );
}
