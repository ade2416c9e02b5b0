/**
 * AWS partitions, region names and the other AWS names every part of the plugin checks: the one
 * home of these definitions (config, the identity document, the AWS layer and aws_iam use them).
 *
 * AWS partitions the plugin can build role ARNs for. SPIRE accepts only aws, aws-cn and
 * aws-us-gov (PR #4427) even though it embeds the EU Sovereign Cloud certificate; the
 * isolated partitions and aws-eusc are real partitions with the same ARN shape, so we take
 * them too.
 */
export const PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-eusc"] as const;

export type Partition = (typeof PARTITIONS)[number];

export function isPartition(value: string): value is Partition {
  return (PARTITIONS as readonly string[]).includes(value);
}

const ACCOUNT_ID = /^\d{12}$/;
// IAM role names: 1-64 of [\w+=,.@-] (IAM's documented character set).
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/**
 * The one region-name check (config, identity documents, AWS calls). It is the shape every
 * partition's regionRegex in the AWS SDK's partition table shares: an area of two to four
 * letters (us, eu, ap, cn, eusc), one or more words, a number — us-west-2, us-gov-east-1,
 * cn-northwest-1, us-isob-east-1, eusc-de-east-1. Tight enough that a region can go into a
 * host name, a path or a log line as is; loose enough for a region AWS opens later.
 */
const REGION_NAME = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/** EC2's two instance ID formats: 8 hex digits (before 2016) and 17. */
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

export function isRoleName(value: string): boolean {
  return ROLE_NAME.test(value);
}

export function isInstanceId(value: string): boolean {
  return INSTANCE_ID.test(value);
}

export function isRegionName(value: string): boolean {
  return value.length <= 64 && REGION_NAME.test(value);
}

/** The partition a region belongs to, by its prefix (for names and messages; ARNs use the configured one). */
export function partitionOfRegion(region: string): Partition {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("eusc-")) return "aws-eusc";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  return "aws";
}

/** `assume_role` is a role name in the attesting node's account (SPIRE #2387). */
export function roleArn(partition: Partition, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * The profile name GetInstanceProfile wants, from the ARN DescribeInstances reports, read the way
 * SPIRE's instanceProfileNameFromArn does (pkg/server/plugin/nodeattestor/awsiid/iid.go): Go's
 * arn.Parse (an "arn:" prefix and six ":"-separated sections, any of them empty, so the short
 * `arn:aws::::instance-profile/name` is fine), then `instance-profile[/:](.+)` in the resource,
 * then the last "/" segment (SPIRE #2825: profiles with paths). The account in the ARN is not
 * used: like SPIRE, the profile is looked up in the document's account.
 *
 * Either a name or SPIRE's reason for refusing the ARN. We also refuse a name IAM itself would
 * refuse (1-128 of [\w+=,.@-]), which SPIRE would only learn from a failed GetInstanceProfile.
 */
export function instanceProfileNameFromArn(arn: string): { name: string } | { reason: string } {
  if (!arn.startsWith("arn:")) return { reason: "failed to parse arn: invalid prefix" };
  const sections = arn.split(":");
  if (sections.length < 6) return { reason: "failed to parse arn: not enough sections" };
  const resource = sections.slice(5).join(":");
  const m = /instance-profile[/:](.+)/.exec(resource);
  if (m === null) return { reason: "arn is not for an instance profile" };
  const name = m[1]!.split("/").at(-1)!;
  if (!/^[\w+=,.@-]{1,128}$/.test(name)) return { reason: "arn is not for an instance profile" };
  return { name };
}
