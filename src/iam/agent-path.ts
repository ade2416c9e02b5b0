/**
 * aws_iam's agent ID: `spiffe://<td>/spire/agent/aws_iam/<account>/<role>/<session>` by
 * default (the collision-free escaping of principal.ts), or `agent_path_template` rendered
 * by the same engine as aws_iid's (src/template: the same functions, bounds and
 * configure-time checks), over the principal STS reported.
 *
 * Template values are the raw names STS returned. IAM names may hold `+=,@` (SSO session
 * names are e-mail addresses), which are not valid SPIFFE path characters; a template that
 * uses such a name as is yields an invalid ID for that principal only, refused as
 * PermissionDenied naming the principal (the same rule as aws_iid's tag values).
 */
import { Code, PluginError } from "../common/errors";
import { makeAgentId } from "../server/agent-id";
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
  let suffix: string;
  try {
    suffix = template.render(iamTemplateValues(p));
  } catch (err) {
    if (err instanceof PluginError) {
      throw new PluginError(err.code, `failed to create spiffe ID: ${err.message}`, { cause: err });
    }
    throw err;
  }
  try {
    return makeAgentId(trustDomain, suffix);
  } catch (err) {
    if (!(err instanceof PluginError)) throw err;
    if (causedByPrincipal(trustDomain, template)) {
      throw new PluginError(
        Code.PermissionDenied,
        `failed to create spiffe ID: ${err.message} (caused by the names of ${p.principalArn}: values used in agent_path_template must be valid SPIFFE path segments)`,
        { cause: err },
      );
    }
    throw new PluginError(
      Code.Internal,
      `failed to create spiffe ID: ${err.message} (agent_path_template produces an invalid path for every principal)`,
      { cause: err },
    );
  }
}

function causedByPrincipal(trustDomain: string, template: CompiledPathTemplate): boolean {
  try {
    makeAgentId(trustDomain, template.render(placeholderValues()));
    return true;
  } catch {
    return false;
  }
}
