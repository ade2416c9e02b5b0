/**
 * What a plugin process serves, from what SPIRE gives it: plugin_args (optional) and the path
 * it was started as (plugin_cmd). SPIRE passes neither the plugin's name nor its side
 * (spiffe/spire pkg/common/catalog/external.go runs plugin_cmd with plugin_args and the
 * go-plugin environment only), so:
 * - plugin_args, when given, name both: "server"/"agent" (aws_iid), "server-iam"/"agent-iam"
 *   (aws_iam);
 * - without them the side is chosen at Init from the host services offered
 *   (src/spire/plugin-sides.ts), and the method comes from the executable's file name: a name
 *   containing "aws_iam" or "aws-iam" is aws_iam, any other aws_iid. The spiffe Helm chart
 *   installs an image-route plugin as /plugins/nodeAttestor/<plugin name>, so there the
 *   NodeAttestor's name decides (docs/configuration.md#plugin-side-and-method).
 */
import type { PluginSide } from "./spire/service-names";

export type Method = "aws_iid" | "aws_iam";

export interface PluginSelection {
  /** undefined: chosen at Init. */
  side: PluginSide | undefined;
  method: Method;
}

const PLUGIN_ARGS = new Map<string, { side: PluginSide; method: Method }>([
  ["server", { side: "server", method: "aws_iid" }],
  ["agent", { side: "agent", method: "aws_iid" }],
  ["server-iam", { side: "server", method: "aws_iam" }],
  ["agent-iam", { side: "agent", method: "aws_iam" }],
]);

export function isPluginArg(arg: string): boolean {
  return PLUGIN_ARGS.has(arg);
}

/** aws_iam when the executable's file name says so (basename of argv[1], also in the SEA). */
export function methodFromProgramName(program: string): Method {
  return /aws[-_]iam/.test(program) ? "aws_iam" : "aws_iid";
}

/** The selection, or a message for SPIRE's log when plugin_args hold something unknown. */
export function selectPlugin(pluginArg: string | undefined, program: string): PluginSelection | string {
  if (pluginArg === undefined) return { side: undefined, method: methodFromProgramName(program) };
  return (
    PLUGIN_ARGS.get(pluginArg) ??
    `unknown plugin_args ${JSON.stringify(pluginArg)}: leave plugin_args out (the side is chosen at Init, the method from the file name), or use "server"/"agent" (aws_iid) or "server-iam"/"agent-iam" (aws_iam)`
  );
}

/** Init's warning when plugin_args name the other side than the host's services (check-config says the same). */
export function wrongSideMessage(side: PluginSide, hostSide: PluginSide): string {
  return `plugin_args say "${side}" but the host offers the services of a SPIRE ${hostSide}; plugin_args can be left out, the side is then chosen at Init`;
}
