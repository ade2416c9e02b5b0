/**
 * Everything the aws_iid server refuses at Configure, in the one function that Configure,
 * Validate and check-config all call: plugin_data decoded against the schema (config.ts),
 * then what it names — agent_path_template compiled, each aws_certificate's pem_path read
 * (bounded, regular files only) and parsed, verify_organization's account_list_file read and
 * checked. Each problem carries the position of the key it comes from, in the text or syntax
 * tree given, so check-config can point into the operator's own file.
 */
import { describeError } from "../common/errors";
import type { Pos } from "../hcl/ast";
import { type ConfigInput, type ConfigProblem, parseForDecoding } from "../hcl/schema";
import type { TrustedCertificate } from "../iid/certificate";
import { loadOperatorCertificate, MAX_OPERATOR_CERTIFICATES } from "../iid/certificate-store";
import { accountListFileProblem } from "../org/account-list-file";
import {
  type CompiledTemplate,
  compileAgentPathTemplate,
  DEFAULT_AGENT_PATH_TEMPLATE,
  prepareTemplateFunctions,
} from "../template";
import {
  type ConfigParseResult,
  type ServerConfig,
  type ServerConfigOptions,
  serverConfigFromAst,
  sortProblems,
} from "./config";

export interface PreparedServerConfig {
  config: ServerConfig;
  /** The operator's aws_certificate entries, parsed (added to the embedded set). */
  certificates: TrustedCertificate[];
  template: CompiledTemplate;
}

/** plugin_data as SPIRE sends it (text), or a body already parsed (check-config, in place). */
export async function prepareServerConfig(
  input: ConfigInput,
  options: ServerConfigOptions = {},
): Promise<ConfigParseResult<PreparedServerConfig>> {
  const parsed = parseForDecoding(input);
  if (parsed.root === undefined) return { problems: parsed.problems };
  const root = parsed.root;
  const decoded = serverConfigFromAst(root, options);
  // What the keys name is read only once the keys themselves are right.
  if (decoded.config === undefined) return { problems: decoded.problems };
  const config = decoded.config;
  const at = (path: string): Pos | undefined =>
    config.positions.get(`${path}#value`) ?? config.positions.get(path);
  const problems: ConfigProblem[] = [];

  let template: CompiledTemplate | undefined;
  const templateText = config.agentPathTemplate ?? DEFAULT_AGENT_PATH_TEMPLATE;
  await prepareTemplateFunctions(templateText);
  try {
    template = compileAgentPathTemplate(templateText);
  } catch (err) {
    problems.push({
      path: "agent_path_template",
      pos: at("agent_path_template"),
      message: describeError(err),
    });
  }

  const certificates: TrustedCertificate[] = [];
  if (config.awsCertificates.length > MAX_OPERATOR_CERTIFICATES) {
    problems.push({
      path: "aws_certificate",
      pos: config.awsCertificates[0]?.pos,
      message: `too many aws_certificate blocks: ${config.awsCertificates.length} (limit ${MAX_OPERATOR_CERTIFICATES})`,
    });
  } else {
    config.awsCertificates.forEach((entry, i) => {
      try {
        certificates.push(loadOperatorCertificate(entry, i));
      } catch (err) {
        const path = `aws_certificate[${i}].pem_path`;
        problems.push({ path, pos: at(path) ?? entry.pos, message: describeError(err) });
      }
    });
  }

  const listProblem = await accountListFileProblem(config.verifyOrganization, at);
  if (listProblem !== undefined) problems.push(listProblem);

  if (problems.length > 0 || template === undefined) return { problems: sortProblems(problems) };
  return { problems: [], config: { config, certificates, template } };
}
