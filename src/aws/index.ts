/**
 * The AWS access layer of the server attestor: every AWS call the plugin makes for an
 * attesting node goes through the facade below.
 *
 *   const aws = createAwsAccess({ partition: "aws", assumeRole: "spire-node-reader", logger, metrics });
 *   const instance = await aws.describeInstance(account, region, instanceId, signal);
 *   const roles = await aws.getInstanceProfileRoles(account, region, instance.IamInstanceProfile.Arn, signal);
 *   const member = await aws.isEksClusterMember(account, region, instanceId, ["prod"], signal);
 *   await aws.close();
 *
 * Contract (what the server pipeline can rely on):
 * - `describeInstance` resolves only with an instance in state pending or running. It rejects
 *   with PermissionDenied "…returned no reservations: instance i-… not found in account … region …" (after bounded
 *   retries for EC2's eventual consistency, and only when the credentials act in the
 *   document's account; the verdict is then kept NOT_FOUND_CACHE_TTL_MS per account and
 *   instance) or "instance i-… is stopped …"; with
 *   InvalidArgument for a malformed account/region/instance ID; with Unavailable for every
 *   AWS trouble (throttling, timeouts, 5xx, network, malformed responses, missing IAM
 *   permissions of the server, bad server credentials); with PermissionDenied when
 *   `assume_role` cannot be assumed in the node's account. Lookups are budgeted and batched
 *   per (credentials, region) (describe-instances-batcher.ts).
 * - `getInstanceProfileRoles` returns the role ARNs of the profile (cached per profile ARN,
 *   TTL `instanceProfileCacheTtlMs`, single flight); PermissionDenied if the profile no
 *   longer exists.
 * - `isEksClusterMember` returns whether the instance belongs to an Auto Scaling group of a
 *   node group of one of the clusters (cached per account/region/cluster for 30 s).
 * - Every method is bounded by `callTimeoutMs` (aws_call_timeout) and by the caller's signal.
 *   Nothing here ever logs or returns a secret.
 *
 * Metrics: counter aws.call{api,outcome} (outcome: ok, throttled, timeout, access-denied,
 * credentials, server-error, network, malformed, other, not-found), counter
 * aws.cache.hit / aws.cache.miss {cache: instance_profile | eks_nodes | instance_not_found}, sample
 * aws.describe_instances.batch_size, counter aws.retries{api}.
 */
import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { Instance } from "@aws-sdk/client-ec2";
import type { EKSClient } from "@aws-sdk/client-eks";
import type { GetInstanceProfileCommandOutput } from "@aws-sdk/client-iam";
import { internal, invalidArgument, isPluginError, permissionDenied, unavailable } from "../common/errors";
import { type Logger, silentLogger } from "../common/logger";
import { type Metrics, noopMetrics } from "../common/metrics";
import { type Deadline, raceSignal, sleep, startDeadline } from "../common/signals";
import { AwsClientPool, type RetryMode } from "./clients";
import {
  AssumedRoleCredentials,
  BaseCredentialsAccount,
  baseCredentialProvider,
  type CredentialProvider,
  describePrincipal,
} from "./credentials";
import { type BatchTarget, DescribeInstancesBatcher } from "./describe-instances-batcher";
import { EksMembership } from "./eks-membership";
import { awsErrorCode, classifyAwsError, failureKind } from "./errors";
import { checkInstanceState } from "./instance-state";
import {
  instanceProfileNameFromArn,
  isAccountId,
  isInstanceId,
  isPartition,
  isRegionName,
  isRoleName,
  type Partition,
} from "./partition";
import { loadAutoScaling, loadEc2, loadEks, loadIam } from "./sdk";
import { SingleFlightCache } from "./single-flight-cache";

export type { RetryMode } from "./clients";
export { type AwsCallContext, awsErrorCode, classifyAwsError, failureKind } from "./errors";
export {
  instanceProfileNameFromArn,
  isAccountId,
  isPartition,
  isRegionName,
  isRoleName,
  PARTITIONS,
  type Partition,
  roleArn,
} from "./partition";

/** The SDK's EC2 Instance shape (tags, security groups, ENIs, block devices, profile…). */
export type Ec2Instance = Instance;

export interface AwsAccessOptions {
  /** `access_key_id` / `secret_access_key`; both or neither (else the SDK default chain). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `assume_role`: a role name in the node's account. */
  assumeRole?: string;
  // The four settings below come from the server configuration; their defaults live only in its
  // schema (server/config.ts, awsAccessSettings).
  /** `partition`. */
  partition: Partition | string;
  /** `aws_call_timeout`: bounds every method. */
  callTimeoutMs: number;
  /**
   * `describe_instances_batch_window`: the refill interval of the DescribeInstances budget per
   * (credentials, region) (describe-instances-batcher.ts); 0 disables batching.
   */
  describeBatchWindowMs: number;
  /** `instance_profile_cache_ttl`; 0 disables the cache. */
  instanceProfileCacheTtlMs: number;
  /** EKS node-set cache lifetime, default 30 s (SPIRE's). */
  eksCacheTtlMs?: number;
  /** Retries of a lookup that EC2 answered "not there" (eventual consistency). Default 3. */
  instanceNotFoundRetries?: number;
  /** First delay of those retries, doubled each time. Default 250 ms. */
  instanceNotFoundRetryDelayMs?: number;
  /** How long a refused AssumeRole is remembered per account, default 30 s (credentials.ts). */
  assumeRoleFailureTtlMs?: number;
  /** SDK attempts per call (1 + retries), default 4. */
  maxAttempts?: number;
  /** SDK retry mode, default "standard" (see clients.ts for why). */
  retryMode?: RetryMode;
  /** Explicit endpoint for every service. Only for in-process tests; operators use AWS_ENDPOINT_URL*. */
  endpoint?: string;
  /** Bound of the client cache, default 256 (account, region) pairs. */
  maxClients?: number;
  logger?: Logger;
  metrics?: Metrics;
}

export interface AwsAccess {
  describeInstance(
    account: string,
    region: string,
    instanceId: string,
    signal?: AbortSignal,
  ): Promise<Ec2Instance>;
  getInstanceProfileRoles(
    account: string,
    region: string,
    profileArn: string,
    signal?: AbortSignal,
  ): Promise<string[]>;
  isEksClusterMember(
    account: string,
    region: string,
    instanceId: string,
    clusterNames: readonly string[],
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** The role ARN used for `account` when assume_role is set. */
  roleArnFor(account: string): string | undefined;
  close(): Promise<void>;
}

const MAX_PAGES = 50;

/**
 * How long a final "not found" is kept per (account, instance). Signed documents never
 * expire and public ones exist: replaying one must not cost a DescribeInstances each time.
 * Short, because a just-launched instance that attested too early should succeed on the
 * agent's next try.
 */
export const NOT_FOUND_CACHE_TTL_MS = 5_000;
const NOT_FOUND_CACHE_ENTRIES = 10_000;

/** SPIRE's EKS node-set cache lifetime. */
const EKS_NODES_CACHE_TTL_MS = 30_000;
/** "Not there" answers retried (EC2 is eventually consistent after a launch), first delay doubled each time. */
const INSTANCE_NOT_FOUND_RETRIES = 3;
const INSTANCE_NOT_FOUND_RETRY_DELAY_MS = 250;
/** SDK attempts per call, first included (clients.ts says why standard mode). */
const SDK_MAX_ATTEMPTS = 4;

export function createAwsAccess(options: AwsAccessOptions): AwsAccess {
  return new AwsAccessImpl(options);
}

interface Settings {
  partition: Partition;
  callTimeoutMs: number;
  batchWindowMs: number;
  profileTtlMs: number;
  notFoundRetries: number;
  notFoundDelayMs: number;
}

class AwsAccessImpl implements AwsAccess {
  private readonly settings: Settings;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly assumed: AssumedRoleCredentials | undefined;
  private readonly pool: AwsClientPool;
  private readonly batcher: DescribeInstancesBatcher<Instance>;
  private readonly profiles: SingleFlightCache<string[]>;
  /** Final "not found" verdicts per account|instance: the number of lookups made. */
  private readonly notFound = new SingleFlightCache<number>({
    ttlMs: NOT_FOUND_CACHE_TTL_MS,
    maxEntries: NOT_FOUND_CACHE_ENTRIES,
  });
  private readonly baseAccount: BaseCredentialsAccount;
  private readonly eks: EksMembership;
  private closed = false;

  constructor(private readonly options: AwsAccessOptions) {
    const partition = options.partition;
    if (!isPartition(partition)) {
      throw invalidArgument(
        `invalid partition "${partition}", must be one of: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc`,
      );
    }
    if (!(Number.isFinite(options.callTimeoutMs) && options.callTimeoutMs > 0)) {
      throw invalidArgument(`aws_call_timeout must be positive, got ${options.callTimeoutMs} ms`);
    }
    if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) {
      throw invalidArgument(
        options.accessKeyId
          ? "configuration missing secret access key, but has access key id"
          : "configuration missing access key id, but has secret access key",
      );
    }
    if (options.assumeRole !== undefined && options.assumeRole !== "" && !isRoleName(options.assumeRole)) {
      throw invalidArgument(`assume_role "${options.assumeRole}" is not a valid IAM role name`);
    }
    this.settings = {
      partition,
      callTimeoutMs: options.callTimeoutMs,
      batchWindowMs: Math.max(0, options.describeBatchWindowMs),
      profileTtlMs: Math.max(0, options.instanceProfileCacheTtlMs),
      notFoundRetries: Math.max(0, options.instanceNotFoundRetries ?? INSTANCE_NOT_FOUND_RETRIES),
      notFoundDelayMs: Math.max(0, options.instanceNotFoundRetryDelayMs ?? INSTANCE_NOT_FOUND_RETRY_DELAY_MS),
    };
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noopMetrics;
    const base = baseCredentialProvider(options);
    const roleName = options.assumeRole === "" ? undefined : options.assumeRole;
    this.pool = new AwsClientPool({
      credentialsFor: (account, region): CredentialProvider =>
        this.assumed === undefined ? base : this.assumed.provider(account, region),
      scopeOf: (account) => this.credentialScope(account),
      callTimeoutMs: this.settings.callTimeoutMs,
      maxAttempts: positive(options.maxAttempts, SDK_MAX_ATTEMPTS),
      retryMode: options.retryMode ?? "standard",
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.maxClients === undefined ? {} : { maxClients: options.maxClients }),
    });
    this.assumed =
      roleName === undefined
        ? undefined
        : new AssumedRoleCredentials({
            base,
            partition,
            roleName,
            stsConfig: (region) => this.pool.config(undefined, region),
            timeoutMs: this.settings.callTimeoutMs,
            ...(options.assumeRoleFailureTtlMs === undefined
              ? {}
              : { refusalTtlMs: options.assumeRoleFailureTtlMs }),
            deniedMeans: "node",
            logger: this.logger,
            metrics: this.metrics,
          });
    this.baseAccount = new BaseCredentialsAccount({
      base,
      stsConfig: (region) => this.pool.config(undefined, region),
      timeoutMs: this.settings.callTimeoutMs,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.batcher = new DescribeInstancesBatcher<Instance>({
      windowMs: this.settings.batchWindowMs,
      fetch: (target, ids) => this.fetchInstances(target, ids),
      onCall: (_target, size) => this.metrics.addSample(["aws", "describe_instances", "batch_size"], size),
    });
    this.profiles = new SingleFlightCache<string[]>({ ttlMs: this.settings.profileTtlMs, maxEntries: 4096 });
    this.eks = new EksMembership({
      fetch: (account, region, cluster) => this.fetchClusterNodes(account, region, cluster),
      ttlMs: options.eksCacheTtlMs ?? EKS_NODES_CACHE_TTL_MS,
      onCache: (hit) => this.countCache("eks_nodes", hit),
    });
  }

  roleArnFor(account: string): string | undefined {
    return this.assumed?.roleArn(account);
  }

  /**
   * Whose credentials sign calls about nodes of `account`: the account's own role session with
   * assume_role, else the server's base credentials for every account. Clients and the
   * DescribeInstances budget are per scope, because EC2 throttles the signing account.
   */
  private credentialScope(account: string): string {
    return this.assumed === undefined ? "*" : account;
  }

  /**
   * Whether looking again for an instance EC2 did not show can ever find it: only when the
   * credentials act in the document's account (always with assume_role). Without assume_role
   * the server's credentials see only their own account, so a document from another account
   * is answered "not found" after one lookup. Unknown (STS unreachable): look again.
   */
  private async mayLookAgain(account: string, region: string): Promise<boolean> {
    if (this.assumed !== undefined) return true;
    const home = await this.baseAccount.get(region);
    return home === undefined || home === account;
  }

  async describeInstance(
    account: string,
    region: string,
    instanceId: string,
    signal?: AbortSignal,
  ): Promise<Ec2Instance> {
    this.checkOpen();
    checkLocation(account, region);
    if (!isInstanceId(instanceId)) {
      throw invalidArgument(`malformed instance ID ${JSON.stringify(instanceId.slice(0, 40))}`);
    }
    const cacheKey = `${account}|${instanceId}`;
    const known = this.notFound.peek(cacheKey);
    this.countCache("instance_not_found", known !== undefined);
    if (known !== undefined) throw this.notFoundError(instanceId, account, region, known.value, true);
    const target: BatchTarget = { key: `${this.credentialScope(account)}|${region}`, account, region };
    const deadline = this.deadline("DescribeInstances", account, region, signal);
    try {
      for (let attempt = 0; ; attempt++) {
        // The batcher also gets the signal, so a cancelled or timed-out lookup that is still
        // waiting for its (paced) call leaves it instead of spending AWS capacity.
        const instance = await raceSignal(
          this.batcher.lookup(target, instanceId, deadline.signal),
          deadline.signal,
        );
        if (instance !== undefined) return checkInstanceState(instance, account, region);
        const delay = this.settings.notFoundDelayMs * 2 ** attempt;
        // A just-launched instance can be briefly unknown to DescribeInstances (eventual
        // consistency); look again a few times, but never past the deadline, and never when
        // these credentials cannot see the document's account.
        if (
          attempt >= this.settings.notFoundRetries ||
          delay >= deadline.remainingMs() ||
          (attempt === 0 && !(await raceSignal(this.mayLookAgain(account, region), deadline.signal)))
        ) {
          this.metrics.incrCounter(["aws", "instance_not_found"], 1);
          this.notFound.set(cacheKey, attempt + 1);
          throw this.notFoundError(instanceId, account, region, attempt + 1, false);
        }
        this.logger.debug("instance not visible yet, looking again", {
          instance_id: instanceId,
          account,
          region,
          attempt,
        });
        await sleep(delay, deadline.signal);
      }
    } finally {
      deadline.dispose();
    }
  }

  private notFoundError(
    instanceId: string,
    account: string,
    region: string,
    lookups: number,
    cached: boolean,
  ): Error {
    const credentials =
      this.assumed === undefined
        ? "; the server's credentials only see their own account unless assume_role is set"
        : ` using role ${this.assumed.roleArn(account)}`;
    const when = cached ? ` within the last ${NOT_FOUND_CACHE_TTL_MS / 1000} s` : "";
    // SPIRE's words first ("returned no reservations"; its "returned no instances", a
    // reservation without instances, is the same answer for a lookup by ID), then why.
    return permissionDenied(
      `failed to query AWS via describe-instances: returned no reservations: instance ${instanceId} not found in account ${account} region ${region} (DescribeInstances, ${lookups} lookups${when})${credentials}`,
    );
  }

  async getInstanceProfileRoles(
    account: string,
    region: string,
    profileArn: string,
    signal?: AbortSignal,
  ): Promise<string[]> {
    this.checkOpen();
    checkLocation(account, region);
    const parsed = instanceProfileNameFromArn(profileArn);
    if ("reason" in parsed) {
      // SPIRE's code and words: AWS handed us an ARN we cannot use, and asking again will not
      // change it, so never Unavailable (the agent would retry forever).
      throw internal(`${parsed.reason}: ${JSON.stringify(profileArn.slice(0, 200))}`);
    }
    const load = (): Promise<string[]> => this.fetchProfileRoles(account, region, profileArn, parsed.name);
    const deadline = this.deadline("GetInstanceProfile", account, region, signal);
    try {
      const work =
        this.settings.profileTtlMs > 0
          ? // Keyed by the document's account too: a short ARN (arn:aws::::instance-profile/x)
            // names no account, and the lookup is made in the document's account.
            this.profiles.get(`${account}|${profileArn}`, load).then(({ value, hit }) => {
              this.countCache("instance_profile", hit);
              return value;
            })
          : load();
      const roles = await raceSignal(work, deadline.signal);
      return [...roles];
    } finally {
      deadline.dispose();
    }
  }

  async isEksClusterMember(
    account: string,
    region: string,
    instanceId: string,
    clusterNames: readonly string[],
    signal?: AbortSignal,
  ): Promise<boolean> {
    this.checkOpen();
    checkLocation(account, region);
    const deadline = this.deadline("EKS membership lookup", account, region, signal);
    try {
      return await raceSignal(this.eks.isMember(account, region, instanceId, clusterNames), deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batcher.flushAll();
    this.assumed?.close();
    await this.pool.close();
  }

  // --- AWS calls ---------------------------------------------------------------------------

  private async fetchInstances(
    target: BatchTarget,
    ids: readonly string[],
  ): Promise<ReadonlyMap<string, Instance>> {
    const { account, region } = target;
    const deadline = this.deadline("DescribeInstances", account, region);
    try {
      const [client, { DescribeInstancesCommand }] = await Promise.all([
        this.pool.ec2(account, region),
        loadEc2(),
      ]);
      const wanted = new Set(ids);
      const found = new Map<string, Instance>();
      let token: string | undefined;
      for (let page = 0; ; page++) {
        const out = await this.send("DescribeInstances", "ec2:DescribeInstances", account, region, () =>
          client.send(
            new DescribeInstancesCommand({
              Filters: [{ Name: "instance-id", Values: [...ids] }],
              MaxResults: 1000,
              ...(token === undefined ? {} : { NextToken: token }),
            }),
            { abortSignal: deadline.signal },
          ),
        );
        // A real answer always has a reservationSet (possibly empty); an empty or foreign
        // 200 body parses as {} and must not turn into "instance not found".
        if (out.Reservations === undefined)
          throw this.malformed("DescribeInstances", account, region, "no reservationSet");
        for (const reservation of out.Reservations) {
          for (const instance of reservation.Instances ?? []) {
            if (instance.InstanceId !== undefined && wanted.has(instance.InstanceId)) {
              found.set(instance.InstanceId, instance);
            }
          }
        }
        const next = out.NextToken;
        if (next === undefined || next === "" || next === token) break;
        if (page + 1 >= MAX_PAGES) {
          throw this.malformed(
            "DescribeInstances",
            account,
            region,
            `pagination did not end after ${MAX_PAGES} pages`,
          );
        }
        token = next;
      }
      this.logger.debug("DescribeInstances batch", { account, region, asked: ids.length, found: found.size });
      return found;
    } finally {
      deadline.dispose();
    }
  }

  private async fetchProfileRoles(
    account: string,
    region: string,
    arn: string,
    name: string,
  ): Promise<string[]> {
    const deadline = this.deadline("GetInstanceProfile", account, region);
    try {
      const [client, { GetInstanceProfileCommand }] = await Promise.all([
        this.pool.iam(account, region),
        loadIam(),
      ]);
      let out: GetInstanceProfileCommandOutput;
      try {
        out = await this.send("GetInstanceProfile", "iam:GetInstanceProfile", account, region, () =>
          client.send(new GetInstanceProfileCommand({ InstanceProfileName: name }), {
            abortSignal: deadline.signal,
          }),
        );
      } catch (err) {
        if (awsErrorCode(isPluginError(err) ? err.cause : err) === "NoSuchEntityException") {
          throw permissionDenied(
            `instance profile ${arn} of the instance does not exist (iam:GetInstanceProfile NoSuchEntity) in account ${account}`,
          );
        }
        throw err;
      }
      const profile = out.InstanceProfile;
      if (profile === undefined)
        throw this.malformed("GetInstanceProfile", account, region, "no InstanceProfile");
      return (profile.Roles ?? [])
        .map((r) => r.Arn)
        .filter((a): a is string => typeof a === "string" && a !== "");
    } finally {
      deadline.dispose();
    }
  }

  private async fetchClusterNodes(
    account: string,
    region: string,
    cluster: string,
  ): Promise<ReadonlySet<string>> {
    const deadline = this.deadline("EKS membership lookup", account, region);
    try {
      const [eks, asg] = await Promise.all([
        this.pool.eks(account, region),
        this.pool.autoscaling(account, region),
      ]);
      const groups = await this.nodegroupAutoScalingGroups(eks, account, region, cluster, deadline.signal);
      const nodes = await this.autoScalingInstances(asg, account, region, groups, deadline.signal);
      this.logger.debug("EKS cluster nodes", {
        account,
        region,
        cluster,
        asgs: groups.length,
        nodes: nodes.size,
      });
      return nodes;
    } finally {
      deadline.dispose();
    }
  }

  private async nodegroupAutoScalingGroups(
    eks: EKSClient,
    account: string,
    region: string,
    cluster: string,
    signal: AbortSignal,
  ): Promise<string[]> {
    const { ListNodegroupsCommand, DescribeNodegroupCommand } = await loadEks();
    const nodegroups: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let out: { nodegroups?: string[]; nextToken?: string };
      try {
        out = await this.send("ListNodegroups", "eks:ListNodegroups", account, region, () =>
          eks.send(
            new ListNodegroupsCommand({
              clusterName: cluster,
              maxResults: 100,
              ...(token === undefined ? {} : { nextToken: token }),
            }),
            { abortSignal: signal },
          ),
        );
      } catch (err) {
        // The cluster does not exist in this account and region: its node set is empty.
        if (awsErrorCode(isPluginError(err) ? err.cause : err) === "ResourceNotFoundException") return [];
        throw err;
      }
      // EKS always sends the list (empty at worst); an answer without it would otherwise read as
      // "not in the cluster", a PermissionDenied caused by an AWS fault.
      if (out.nodegroups === undefined)
        throw this.malformed("ListNodegroups", account, region, "no nodegroups");
      nodegroups.push(...out.nodegroups);
      if (out.nextToken === undefined || out.nextToken === token) break;
      token = out.nextToken;
    }
    const described = await Promise.all(
      nodegroups.map(async (nodegroupName) => {
        try {
          const out = await this.send("DescribeNodegroup", "eks:DescribeNodegroup", account, region, () =>
            eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName }), {
              abortSignal: signal,
            }),
          );
          if (out.nodegroup === undefined) {
            throw this.malformed("DescribeNodegroup", account, region, "no nodegroup");
          }
          // A node group still being created has no resources yet: no instances of it can attest.
          return (out.nodegroup.resources?.autoScalingGroups ?? [])
            .map((g) => g.name ?? "")
            .filter((n) => n !== "");
        } catch (err) {
          // Deleted between ListNodegroups and DescribeNodegroup.
          if (awsErrorCode(isPluginError(err) ? err.cause : err) === "ResourceNotFoundException") return [];
          throw err;
        }
      }),
    );
    return [...new Set(described.flat())];
  }

  private async autoScalingInstances(
    asg: AutoScalingClient,
    account: string,
    region: string,
    groups: readonly string[],
    signal: AbortSignal,
  ): Promise<Set<string>> {
    const { DescribeAutoScalingGroupsCommand } = await loadAutoScaling();
    const nodes = new Set<string>();
    // DescribeAutoScalingGroups takes up to 50 names per call by default.
    for (let i = 0; i < groups.length; i += 50) {
      const names = groups.slice(i, i + 50);
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const out = await this.send(
          "DescribeAutoScalingGroups",
          "autoscaling:DescribeAutoScalingGroups",
          account,
          region,
          () =>
            asg.send(
              new DescribeAutoScalingGroupsCommand({
                AutoScalingGroupNames: names,
                MaxRecords: 100,
                ...(token === undefined ? {} : { NextToken: token }),
              }),
              { abortSignal: signal },
            ),
        );
        if (out.AutoScalingGroups === undefined) {
          throw this.malformed("DescribeAutoScalingGroups", account, region, "no AutoScalingGroups");
        }
        for (const group of out.AutoScalingGroups) {
          for (const instance of group.Instances ?? [])
            if (instance.InstanceId) nodes.add(instance.InstanceId);
        }
        if (out.NextToken === undefined || out.NextToken === token) break;
        token = out.NextToken;
      }
    }
    return nodes;
  }

  /** One AWS call: metrics, a DEBUG summary, and classification of its failure. */
  private async send<T extends { $metadata?: { attempts?: number } }>(
    api: string,
    permission: string,
    account: string,
    region: string,
    call: () => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    const apiLabel = { name: "api", value: api };
    try {
      const out = await call();
      const attempts = out.$metadata?.attempts ?? 1;
      this.metrics.incrCounter(["aws", "call"], 1, [apiLabel, { name: "outcome", value: "ok" }]);
      if (attempts > 1) this.metrics.incrCounter(["aws", "retries"], attempts - 1, [apiLabel]);
      this.metrics.measureSince(["aws", "call", "duration"], started, [apiLabel]);
      this.logger.debug("AWS call", {
        api,
        account,
        region,
        outcome: "ok",
        attempts,
        ms: Date.now() - started,
      });
      return out;
    } catch (err) {
      if (isPluginError(err)) throw err;
      const kind = failureKind(err);
      this.metrics.incrCounter(["aws", "call"], 1, [apiLabel, { name: "outcome", value: kind }]);
      const classified = classifyAwsError(err, {
        api,
        permission,
        account,
        region,
        principal: describePrincipal(
          this.options,
          this.assumed === undefined ? undefined : this.options.assumeRole,
          account,
          this.settings.partition,
        ),
        timeoutMs: this.settings.callTimeoutMs,
      });
      // Missing permissions and rejected credentials are the operator's to fix: say so at WARN.
      if (kind === "access-denied" || kind === "credentials" || kind === "no-credentials") {
        this.logger.warn(classified.message, { api, account, region, code: awsErrorCode(err) });
      }
      this.logger.debug("AWS call failed", {
        api,
        account,
        region,
        outcome: kind,
        code: awsErrorCode(err),
        ms: Date.now() - started,
      });
      throw classified;
    }
  }

  private malformed(api: string, account: string, region: string, what: string): Error {
    this.metrics.incrCounter(["aws", "call"], 1, [
      { name: "api", value: api },
      { name: "outcome", value: "malformed" },
    ]);
    return unavailable(`malformed response from AWS ${api} in account ${account} region ${region}: ${what}`);
  }

  /**
   * Bounds one lookup (or, without a caller's signal, one shared AWS call) by aws_call_timeout;
   * a cancelled caller's signal ends it earlier with the caller's reason.
   */
  private deadline(what: string, account: string, region: string, signal?: AbortSignal): Deadline {
    return startDeadline(
      this.settings.callTimeoutMs,
      () =>
        unavailable(
          `AWS ${what} in account ${account} region ${region} did not complete within aws_call_timeout (${this.settings.callTimeoutMs} ms); the agent will retry`,
        ),
      signal,
    );
  }

  private countCache(cache: string, hit: boolean): void {
    this.metrics.incrCounter(["aws", "cache", hit ? "hit" : "miss"], 1, [{ name: "cache", value: cache }]);
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable("AWS access is closed (plugin reconfigured or shutting down)");
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

function checkLocation(account: string, region: string): void {
  if (!isAccountId(account))
    throw invalidArgument(`malformed account ID ${JSON.stringify(account.slice(0, 40))}`);
  if (!isRegionName(region)) throw invalidArgument(`malformed region ${JSON.stringify(region.slice(0, 40))}`);
}
