/**
 * Selector values exactly as SPIRE's aws_iid emits them (pkg/server/plugin/nodeattestor/awsiid
 * iid.go: resolveSelectors, resolveIIDocSelectors, resolveTags, resolveSecurityGroups,
 * resolveInstanceProfile), so registration entries written for SPIRE keep matching:
 *
 *   account_id:<acct>  az:<az>  image:id:<ami>  instance:id:<id>  region:<region>
 *   tag:<key>:<value>  (every tag, aws: keys included; a missing value gives "tag:<key>:")
 *   sg:id:<sg-id>  sg:name:<name>  iamrole:<role ARN>
 *
 * Tags and security groups come from every instance DescribeInstances returned; the set is
 * de-duplicated and sorted byte-wise (Go's sort.Strings). SPIRE core prefixes each value with
 * the configured plugin name as the selector type.
 */
import type { Instance } from "@aws-sdk/client-ec2";
import { compareGoStrings } from "../common/go-strings";

/** The verified instance identity document fields that become selectors. */
export interface IidSelectorFields {
  readonly accountId: string;
  readonly availabilityZone: string;
  readonly imageId: string;
  readonly instanceId: string;
  readonly region: string;
}

/** What an EC2 instance contributes; the SDK's Instance type, read-only. */
export type SelectorInstance = Pick<Instance, "Tags" | "SecurityGroups">;

export interface SelectorInputs {
  readonly document: IidSelectorFields;
  /** Every instance DescribeInstances returned (normally one). */
  readonly instances: readonly SelectorInstance[];
  /** Role ARNs of the instance profiles' roles (empty with disable_instance_profile_selectors). */
  readonly roleArns: readonly (string | undefined)[];
}

export function iidSelectors(doc: IidSelectorFields): string[] {
  return [
    `account_id:${doc.accountId}`,
    `image:id:${doc.imageId}`,
    `instance:id:${doc.instanceId}`,
    `region:${doc.region}`,
    `az:${doc.availabilityZone}`,
  ];
}

/** Tags and security groups; Go's aws.ToString turns a missing field into "". */
export function instanceSelectors(instance: SelectorInstance): string[] {
  const out: string[] = [];
  for (const tag of instance.Tags ?? []) out.push(`tag:${tag.Key ?? ""}:${tag.Value ?? ""}`);
  for (const sg of instance.SecurityGroups ?? []) {
    out.push(`sg:id:${sg.GroupId ?? ""}`, `sg:name:${sg.GroupName ?? ""}`);
  }
  return out;
}

/** SPIRE skips roles without an ARN. */
export function roleSelectors(roleArns: readonly (string | undefined)[]): string[] {
  return roleArns.filter((arn): arn is string => arn !== undefined).map((arn) => `iamrole:${arn}`);
}

/** All selector values, de-duplicated and sorted as SPIRE does. */
export function buildSelectors(inputs: SelectorInputs): string[] {
  const set = new Set<string>();
  for (const instance of inputs.instances) for (const v of instanceSelectors(instance)) set.add(v);
  for (const v of roleSelectors(inputs.roleArns)) set.add(v);
  for (const v of iidSelectors(inputs.document)) set.add(v);
  return [...set].sort(compareGoStrings);
}
