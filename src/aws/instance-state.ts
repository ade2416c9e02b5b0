/**
 * Only a pending or running instance attests, whatever the other options say. SPIRE filters
 * DescribeInstances on pending/running but only insists on a result when the block-device
 * check is on or the template uses .Tags, so with `skip_block_device = true` a stopped or
 * terminated instance's document still attests there. We always require the instance, and
 * name its state (the call has no state filter: describe-instances-batcher.ts).
 */
import type { Instance } from "@aws-sdk/client-ec2";
import { permissionDenied, unavailable } from "../common/errors";

const ACCEPTED_INSTANCE_STATES: ReadonlySet<string> = new Set(["pending", "running"]);

/** The instance, if it may attest; PermissionDenied naming its state otherwise. */
export function checkInstanceState(instance: Instance, account: string, region: string): Instance {
  const state = instance.State?.Name;
  if (state === undefined) {
    // Every instance EC2 describes has a state: a response without one is AWS's fault, not the node's.
    throw unavailable(
      `malformed response from AWS DescribeInstances in account ${account} region ${region}: instance ${instance.InstanceId} has no state`,
    );
  }
  if (!ACCEPTED_INSTANCE_STATES.has(state)) {
    throw permissionDenied(
      `instance ${instance.InstanceId} is ${state} in account ${account} region ${region}; only pending or running instances can attest`,
    );
  }
  return instance;
}
