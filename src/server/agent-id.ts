/**
 * The agent's SPIFFE ID: `spiffe://<trust domain>/spire/agent<rendered template>`, validated
 * exactly as SPIRE's idutil.AgentID and go-spiffe's spiffeid do (lower-case trust domain
 * characters; path segments of [A-Za-z0-9._-]; no empty, "." or ".." segment; no trailing
 * slash), so an ID we hand to SPIRE is one SPIRE accepts.
 *
 * Error codes, chosen by cause (SPIRE returns Internal "failed to create spiffe ID: …" for all):
 * - the template output is invalid because of the node's data (a tag value with a space or a
 *   slash, a missing tag that `index` turned into an empty segment) → PermissionDenied: the
 *   node must be re-tagged; retrying changes nothing. We tell the two apart by rendering the
 *   template again with every tag value replaced by a harmless placeholder: if that output is
 *   valid, the node's tags made the difference;
 * - the template is invalid for every node, or the trust domain is bad → Internal (a
 *   configuration bug the operator must fix on the server).
 *
 * One deliberate difference: SPIRE accepts an empty rendered path (agent ID
 * `spiffe://td/spire/agent`, shared by every node); we refuse it.
 */
import { Code, PluginError } from "../common/errors";
import { goQuote } from "../common/go-strings";
import type { ConfigProblem } from "../hcl/schema";
import type { CoreConfig } from "../spire/contracts";
import type { AgentPathTemplateData, CompiledTemplate } from "../template";

export const AGENT_PATH_PREFIX = "/spire/agent";
const SERVER_ID_PATH = "/spire/server";
/** Longer SPIFFE IDs are refused by X.509 SVID consumers (SPIFFE X509-SVID spec: 2048 bytes). */
export const MAX_SPIFFE_ID_BYTES = 2048;

// go-spiffe's error texts (spiffeid/errors.go).
const ERR = {
  badTrustDomainChar:
    "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
  badPathSegmentChar:
    "path segment characters are limited to letters, numbers, dots, dashes, and underscores",
  dotSegment: "path cannot contain dot segments",
  noLeadingSlash: "path must have a leading slash",
  emptySegment: "path cannot contain empty segments",
  missingTrustDomain: "trust domain is missing",
  trailingSlash: "path cannot have a trailing slash",
} as const;

const isPathChar = (c: string): boolean => /^[A-Za-z0-9._-]$/.test(c);

/** go-spiffe spiffeid.ValidatePath: null when valid, else its error text. */
export function validateSpiffePath(path: string): string | null {
  if (path === "") return null;
  if (path[0] !== "/") return ERR.noLeadingSlash;
  let segStart = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i] ?? "";
    if (c === "/") {
      const seg = path.slice(segStart, i);
      if (seg === "/") return ERR.emptySegment;
      if (seg === "/." || seg === "/..") return ERR.dotSegment;
      segStart = i;
      continue;
    }
    if (!isPathChar(c)) return ERR.badPathSegmentChar;
  }
  const last = path.slice(segStart);
  if (last === "/") return ERR.trailingSlash;
  if (last === "/." || last === "/..") return ERR.dotSegment;
  return null;
}

/** go-spiffe spiffeid.TrustDomainFromString for a bare name: null when valid. */
export function validateTrustDomainName(name: string): string | null {
  if (name === "") return ERR.missingTrustDomain;
  return /^[a-z0-9._-]+$/.test(name) ? null : ERR.badTrustDomainChar;
}

/** What is wrong with an agent path suffix, or null. Stricter than SPIRE only for "" and length. */
function agentPathProblem(trustDomain: string, suffix: string): string | null {
  if (suffix === "") return "the agent path is empty: every node would get the same agent ID";
  const pathErr = validateSpiffePath(suffix);
  if (pathErr !== null) return `invalid agent path suffix ${goQuote(suffix)}: ${pathErr}`;
  const id = `spiffe://${trustDomain}${AGENT_PATH_PREFIX}${suffix}`;
  if (Buffer.byteLength(id, "utf8") > MAX_SPIFFE_ID_BYTES) {
    return `agent ID is longer than ${MAX_SPIFFE_ID_BYTES} bytes`;
  }
  return null;
}

/** SPIRE's idutil.AgentID(td, suffix). Throws Internal for a bad trust domain or path. */
export function makeAgentId(trustDomain: string, suffix: string): string {
  const tdErr = validateTrustDomainName(trustDomain);
  if (tdErr !== null) {
    throw new PluginError(Code.Internal, `invalid trust domain ${goQuote(trustDomain)}: ${tdErr}`);
  }
  const problem = agentPathProblem(trustDomain, suffix);
  if (problem !== null) throw new PluginError(Code.Internal, problem);
  const path = AGENT_PATH_PREFIX + suffix;
  // Unreachable with the /spire/agent prefix; kept because SPIRE core checks it too.
  if (path === SERVER_ID_PATH)
    throw new PluginError(Code.Internal, "agent ID cannot collide with the server ID");
  return `spiffe://${trustDomain}${path}`;
}

const PLACEHOLDER = "x";

/** Tags where every key exists and every value is a valid path segment. */
class PlaceholderTags extends Map<string, string> {
  constructor(keys: Iterable<string>) {
    super([...keys].map((k): [string, string] => [k, PLACEHOLDER]));
  }
  override has(_key: string): boolean {
    return true;
  }
  override get(key: string): string {
    return super.get(key) ?? PLACEHOLDER;
  }
}

/**
 * The agent ID from a path template's output, for both methods, with SPIRE's prefix ("failed
 * to create spiffe ID: …"); render errors keep their code (see the module comment). When the
 * path is invalid, `render(true)` renders again with every node value replaced by a valid path
 * segment: a valid path then means the node's own values are at fault (PermissionDenied,
 * `hints.node`); an invalid one, that no node could fix the template (Internal, `hints.every`).
 */
export function agentIdFromPath(
  trustDomain: string,
  render: (placeholders: boolean) => string,
  hints: { node: string; every: string },
): string {
  const tdErr = validateTrustDomainName(trustDomain);
  if (tdErr !== null) {
    throw new PluginError(Code.Internal, `failed to create spiffe ID: invalid trust domain: ${tdErr}`);
  }
  let suffix: string;
  try {
    suffix = render(false);
  } catch (err) {
    if (err instanceof PluginError) {
      throw new PluginError(err.code, `failed to create spiffe ID: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const problem = agentPathProblem(trustDomain, suffix);
  if (problem === null) return `spiffe://${trustDomain}${AGENT_PATH_PREFIX}${suffix}`;
  const nodeCaused = renders(
    () => render(true),
    (tame) => agentPathProblem(trustDomain, tame) === null,
  );
  throw new PluginError(
    nodeCaused ? Code.PermissionDenied : Code.Internal,
    `failed to create spiffe ID: ${problem} (${nodeCaused ? hints.node : hints.every})`,
  );
}

function renders(render: () => string, valid: (suffix: string) => boolean): boolean {
  try {
    return valid(render());
  } catch {
    return false;
  }
}

/** aws_iid's agent ID: agent_path_template over the document and the instance's tags. */
export function agentIdFromTemplate(
  trustDomain: string,
  template: CompiledTemplate,
  data: AgentPathTemplateData,
): string {
  return agentIdFromPath(
    trustDomain,
    (placeholders) =>
      template.render(placeholders ? { ...data, tags: new PlaceholderTags(data.tags.keys()) } : data),
    {
      node: `caused by the tags of instance ${data.instanceId}: tag values used in agent_path_template must be valid SPIFFE path segments`,
      every: "agent_path_template produces an invalid path for every node",
    },
  );
}

/**
 * What the server side needs of SPIRE's core configuration (both methods). SPIRE validates
 * trust_domain before it loads plugins, so these come only from a host that is not SPIRE.
 */
export function coreConfigProblems(core: CoreConfig): ConfigProblem[] {
  if (core.trustDomain === "") return [{ message: "server core configuration must contain trust_domain" }];
  const problem = validateTrustDomainName(core.trustDomain);
  return problem === null ? [] : [{ message: `invalid trust domain "${core.trustDomain}": ${problem}` }];
}
