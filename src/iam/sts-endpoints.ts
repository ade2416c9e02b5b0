/**
 * The STS host names a signed GetCallerIdentity may name. The server never sends the
 * agent's request to a URL the agent chose: it only accepts hosts from this fixed table
 * (Teleport's IAM join, RFD 41, does the same), because a server that forwards to any
 * host would let an attacker point it at their own "STS" that answers with any ARN.
 *
 * Region lists are those of the AWS SDK's partition table (@aws-sdk/core
 * util-endpoints partitions, 2026); a region launched later is rejected with a message
 * that says so until the table is updated. Only the partitions a SPIRE deployment can use
 * with public STS are covered: aws, aws-cn, aws-us-gov.
 */

import type { Partition } from "../aws/partition";

/** The partitions (of aws/partition.ts) whose STS aws_iam can name: those with public STS. */
export type StsPartition = Extract<Partition, "aws" | "aws-cn" | "aws-us-gov">;

export const STS_PARTITIONS: readonly StsPartition[] = ["aws", "aws-cn", "aws-us-gov"];

const REGIONS: Record<StsPartition, readonly string[]> = {
  aws: [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "me-west-1",
    "mx-central-1",
    "sa-east-1",
    "sa-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
  ],
  "aws-cn": ["cn-north-1", "cn-northwest-1"],
  "aws-us-gov": ["us-gov-east-1", "us-gov-west-1"],
};

const DNS_SUFFIX: Record<StsPartition, string> = {
  aws: "amazonaws.com",
  "aws-cn": "amazonaws.com.cn",
  "aws-us-gov": "amazonaws.com",
};

/** One acceptable STS host and the SigV4 region its requests must be scoped to. */
export interface StsEndpoint {
  host: string;
  partition: StsPartition;
  signingRegion: string;
  kind: "regional" | "fips" | "global";
}

/**
 * The partition whose regionRegex in the AWS SDK's partition table matches `region`. Stricter
 * than aws/partition.ts's prefix rule on purpose: only a name AWS could really give a region
 * may be told "a newer release is needed".
 */
function sdkPartitionOf(region: string): StsPartition | undefined {
  if (/^cn-[a-z]+-\d+$/.test(region)) return "aws-cn";
  if (/^us-gov-[a-z]+-\d+$/.test(region)) return "aws-us-gov";
  if (/^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$/.test(region)) return "aws";
  return undefined;
}

/** The STS partition whose region table lists `region`. */
function stsPartitionOf(region: string): StsPartition | undefined {
  return STS_PARTITIONS.find((p) => REGIONS[p].includes(region));
}

export function isKnownRegion(region: string): boolean {
  return stsPartitionOf(region) !== undefined;
}

/** Every host the server accepts for these partitions, keyed by host name. */
export function knownStsEndpoints(partitions: readonly StsPartition[]): Map<string, StsEndpoint> {
  const out = new Map<string, StsEndpoint>();
  for (const partition of partitions) {
    const suffix = DNS_SUFFIX[partition];
    if (partition === "aws") {
      // The legacy global endpoint; SigV4 scopes it to us-east-1.
      out.set("sts.amazonaws.com", {
        host: "sts.amazonaws.com",
        partition,
        signingRegion: "us-east-1",
        kind: "global",
      });
    }
    for (const region of REGIONS[partition]) {
      const regional = `sts.${region}.${suffix}`;
      out.set(regional, { host: regional, partition, signingRegion: region, kind: "regional" });
      // GovCloud's regional endpoints are already FIPS endpoints; the SDK has no sts-fips there.
      if (partition !== "aws-us-gov") {
        const fips = `sts-fips.${region}.${suffix}`;
        out.set(fips, { host: fips, partition, signingRegion: region, kind: "fips" });
      }
    }
  }
  return out;
}

/**
 * Why a host is not acceptable, phrased for an operator: an unknown region in a known
 * partition gets its own message (Teleport's precedent), since that is the usual cause
 * after AWS opens a region.
 */
export function explainUnknownHost(host: string, partitions: readonly StsPartition[]): string {
  const match = /^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host);
  const region = match?.[1];
  if (region !== undefined) {
    const partition = sdkPartitionOf(region);
    if (partition !== undefined && !REGIONS[partition].includes(region)) {
      return `STS region "${region}" is not known to this plugin version; a newer release is needed to accept it`;
    }
    if (partition !== undefined && !partitions.includes(partition)) {
      return `STS host ${JSON.stringify(host)} belongs to partition ${partition}, which is not in the configured partitions [${partitions.join(", ")}]`;
    }
  }
  return `STS host ${JSON.stringify(host.slice(0, 128))} is not a known STS endpoint of partitions [${partitions.join(", ")}]`;
}

/** The host the agent signs for: a real STS name, never an override (see docs/aws-iam.md). */
export function agentStsEndpoint(region: string, options: { global: boolean; fips: boolean }): StsEndpoint {
  const partition = stsPartitionOf(region);
  if (partition === undefined) throw new Error(`unknown AWS region ${JSON.stringify(region)}`);
  if (options.global) {
    if (partition !== "aws") throw new Error("the global STS endpoint exists only in the aws partition");
    if (options.fips) throw new Error("use_global_endpoint and use_fips_endpoint cannot both be set");
    return { host: "sts.amazonaws.com", partition, signingRegion: "us-east-1", kind: "global" };
  }
  const suffix = DNS_SUFFIX[partition];
  if (options.fips && partition !== "aws-us-gov") {
    return { host: `sts-fips.${region}.${suffix}`, partition, signingRegion: region, kind: "fips" };
  }
  return { host: `sts.${region}.${suffix}`, partition, signingRegion: region, kind: "regional" };
}
