/**
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
// Region codes such as us-west-2, us-gov-east-1, eusc-de-east-1, us-isob-east-1.
const REGION = /^[a-z]{2,5}(-[a-z]+)+-\d{1,2}$/;

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

export function isRoleName(value: string): boolean {
  return ROLE_NAME.test(value);
}

export function isRegion(value: string): boolean {
  return REGION.test(value);
}

/** `assume_role` is a role name in the attesting node's account (SPIRE #2387). */
export function roleArn(partition: Partition, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

export interface InstanceProfileArn {
  partition: string;
  account: string;
  /** Last path segment: what GetInstanceProfile wants (SPIRE #2825 for profiles with paths). */
  name: string;
  path: string;
}

const PROFILE_ARN =
  /^arn:([a-z-]+):iam::(\d{12}):instance-profile(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,128})$/;

export function parseInstanceProfileArn(arn: string): InstanceProfileArn | undefined {
  const m = PROFILE_ARN.exec(arn);
  if (m === null) return undefined;
  return { partition: m[1]!, account: m[2]!, path: m[3]!, name: m[4]! };
}
