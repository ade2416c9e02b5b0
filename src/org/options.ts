/**
 * verify_organization (as both methods decode it, src/server/config.ts) → the cache's
 * options. The one mapping aws_iid and aws_iam share; every value comes from the config,
 * whose schema holds the defaults.
 */

import type { Partition } from "../aws/partition";
import type { Clock } from "../common/clock";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import type { OrgConfig } from "../server/config";
import type { OrgMembershipOptions } from "./org-membership-cache";

/** What the method's own configuration and environment add to the block. */
export interface OrgSettings {
  /** Partition of the organization role's ARN. */
  partition: Partition;
  /** The method's static keys; undefined = the SDK's default chain. SPIRE assumes the role with these, not through assume_role. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** aws_call_timeout. */
  callTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /** In-process tests only: the loopback fakes' address. */
  endpoint?: string;
  clock?: Clock;
  random?: () => number;
}

export function orgMembershipOptions(org: OrgConfig, settings: OrgSettings): OrgMembershipOptions {
  return {
    source:
      org.mode === "file"
        ? { mode: "file", path: org.accountListFile }
        : {
            mode: "api",
            managementAccountId: org.managementAccountId,
            roleName: org.assumeOrgRole,
            region: org.managementAccountRegion,
            partition: settings.partition,
            credentials: settings.credentials,
            callTimeoutMs: settings.callTimeoutMs,
            ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
          },
    ttlMs: org.orgAccountMapTtl.ms,
    missRetries: org.orgAccountMissRetries,
    maxStaleMs: org.orgAccountMapMaxStale.ms,
    serverReplicas: org.orgServerReplicas,
    logger: settings.logger,
    metrics: settings.metrics,
    ...(settings.clock === undefined ? {} : { clock: settings.clock }),
    ...(settings.random === undefined ? {} : { random: settings.random }),
  };
}
