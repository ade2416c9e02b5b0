/**
 * The AWS estate the loopback fakes describe: accounts → regions → instances, instance
 * profiles, Auto Scaling groups and EKS clusters. Tests, the demo and the benchmarks fill it
 * with a few calls; the EC2, IAM, EKS and Auto Scaling fakes answer from it, scoped to the
 * account the caller's access key belongs to (as AWS does: another account's instance is
 * simply not there).
 */
import { randomBytes } from "node:crypto";
import { type AwsProtocol, FakeAwsError, type RenderedResponse } from "./protocol";
import type { FakeRequest, RateLimit, ServiceFake } from "./server";

export type InstanceStateName =
  | "pending"
  | "running"
  | "shutting-down"
  | "terminated"
  | "stopping"
  | "stopped";

/** EC2's numeric state codes (low byte), as DescribeInstances reports them. */
export const INSTANCE_STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface SecurityGroupRef {
  id: string;
  name: string;
}

export interface NetworkInterfaceSpec {
  deviceIndex: number;
  attachTime: Date;
  networkInterfaceId?: string;
}

export interface InstanceSpec {
  account: string;
  region: string;
  /** Default: a fresh 17-hex-digit ID. */
  instanceId?: string;
  /** Default: running. */
  state?: InstanceStateName;
  /** Default: `<region>a`. */
  availabilityZone?: string;
  imageId?: string;
  instanceType?: string;
  privateIpAddress?: string;
  publicIpAddress?: string;
  tags?: Record<string, string>;
  securityGroups?: readonly SecurityGroupRef[];
  /** Instance profile ARN (see `addInstanceProfile`). */
  profileArn?: string;
  /** Default: now. */
  launchTime?: Date;
  /** Default: /dev/xvda. */
  rootDeviceName?: string;
  /** Default: ebs. An instance-store root has no block device mapping for the root. */
  rootDeviceType?: "ebs" | "instance-store";
  /** Attach time of the root EBS volume. Default: launchTime. */
  rootVolumeAttachTime?: Date;
  /** Network interfaces. Default: one at device index 0 attached at launchTime. */
  networkInterfaces?: readonly NetworkInterfaceSpec[];
  /**
   * Eventual consistency: the instance is invisible to this many DescribeInstances calls that
   * ask for it (by ID or by filter) before it shows up, like a just-launched instance.
   */
  invisibleForLookups?: number;
  /** Instances sharing a reservation (one RunInstances call). Default: its own. */
  reservationId?: string;
}

export interface WorldInstance {
  account: string;
  region: string;
  instanceId: string;
  state: InstanceStateName;
  availabilityZone: string;
  imageId: string;
  instanceType: string;
  privateIpAddress: string;
  publicIpAddress: string | undefined;
  tags: Record<string, string>;
  securityGroups: SecurityGroupRef[];
  profileArn: string | undefined;
  launchTime: Date;
  rootDeviceName: string;
  rootDeviceType: "ebs" | "instance-store";
  rootVolumeAttachTime: Date;
  networkInterfaces: Required<NetworkInterfaceSpec>[];
  invisibleForLookups: number;
  reservationId: string;
}

export interface InstanceProfileSpec {
  account: string;
  name: string;
  /** IAM path, e.g. "/team/". Default "/". SPIRE #2796: paths end up in the ARN. */
  path?: string;
  /** Role names (created in the same account). */
  roles: readonly string[];
}

export interface WorldInstanceProfile {
  account: string;
  name: string;
  path: string;
  arn: string;
  id: string;
  roles: { name: string; arn: string; id: string; path: string }[];
  created: Date;
}

export interface AutoScalingGroupSpec {
  account: string;
  region: string;
  name: string;
  instanceIds: readonly string[];
}

export interface EksClusterSpec {
  account: string;
  region: string;
  name: string;
  /** Node groups and the Auto Scaling groups EKS created for them. */
  nodegroups: readonly { name: string; autoScalingGroups: readonly string[] }[];
}

/** Which account an access key acts as, and whether it has expired (the STS fake knows). */
export interface CallerDirectory {
  accountOf(accessKeyId: string): string | undefined;
  isExpired?(accessKeyId: string): boolean;
}

export function partitionOfRegion(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

export function newInstanceId(): string {
  return `i-${hex(9).slice(0, 17)}`;
}

let ipCounter = 0;
function nextPrivateIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

export class AwsWorld {
  /** Partition used in ARNs of profiles and roles (instances use their region's). */
  partition = "aws";
  private readonly instances = new Map<string, WorldInstance>();
  private readonly byLocation = new Map<string, WorldInstance[]>();
  private readonly profiles = new Map<string, WorldInstanceProfile>();
  private readonly asgs = new Map<string, AutoScalingGroupSpec>();
  private readonly clusters = new Map<string, EksClusterSpec>();

  addInstance(spec: InstanceSpec): WorldInstance {
    const launchTime = spec.launchTime ?? new Date();
    const instance: WorldInstance = {
      account: spec.account,
      region: spec.region,
      instanceId: spec.instanceId ?? newInstanceId(),
      state: spec.state ?? "running",
      availabilityZone: spec.availabilityZone ?? `${spec.region}a`,
      imageId: spec.imageId ?? "ami-0123456789abcdef0",
      instanceType: spec.instanceType ?? "m6i.large",
      privateIpAddress: spec.privateIpAddress ?? nextPrivateIp(),
      publicIpAddress: spec.publicIpAddress,
      tags: { ...(spec.tags ?? {}) },
      securityGroups: [...(spec.securityGroups ?? [])],
      profileArn: spec.profileArn,
      launchTime,
      rootDeviceName: spec.rootDeviceName ?? "/dev/xvda",
      rootDeviceType: spec.rootDeviceType ?? "ebs",
      rootVolumeAttachTime: spec.rootVolumeAttachTime ?? launchTime,
      networkInterfaces: (spec.networkInterfaces ?? [{ deviceIndex: 0, attachTime: launchTime }]).map(
        (n) => ({
          deviceIndex: n.deviceIndex,
          attachTime: n.attachTime,
          networkInterfaceId: n.networkInterfaceId ?? `eni-${hex(9).slice(0, 17)}`,
        }),
      ),
      invisibleForLookups: spec.invisibleForLookups ?? 0,
      reservationId: spec.reservationId ?? `r-${hex(9).slice(0, 17)}`,
    };
    if (this.instances.has(instance.instanceId)) {
      throw new Error(`instance ${instance.instanceId} already exists in the fake world`);
    }
    this.instances.set(instance.instanceId, instance);
    const key = locationKey(instance.account, instance.region);
    const list = this.byLocation.get(key) ?? [];
    list.push(instance);
    this.byLocation.set(key, list);
    return instance;
  }

  /** Launches `count` instances sharing one reservation (an Auto Scaling burst). */
  addInstances(count: number, spec: Omit<InstanceSpec, "instanceId">): WorldInstance[] {
    const reservationId = spec.reservationId ?? `r-${hex(9).slice(0, 17)}`;
    const out: WorldInstance[] = [];
    for (let i = 0; i < count; i++) out.push(this.addInstance({ ...spec, reservationId }));
    return out;
  }

  instance(instanceId: string): WorldInstance | undefined {
    return this.instances.get(instanceId);
  }

  /** Instances in an account and region, in launch order. */
  instancesIn(account: string, region: string): readonly WorldInstance[] {
    return this.byLocation.get(locationKey(account, region)) ?? [];
  }

  setInstanceState(instanceId: string, state: InstanceStateName): void {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Error(`no instance ${instanceId} in the fake world`);
    instance.state = state;
  }

  addInstanceProfile(spec: InstanceProfileSpec): WorldInstanceProfile {
    const path = spec.path ?? "/";
    const profile: WorldInstanceProfile = {
      account: spec.account,
      name: spec.name,
      path,
      arn: `arn:${this.partition}:iam::${spec.account}:instance-profile${path}${spec.name}`,
      id: `AIPA${hex(8).toUpperCase()}`,
      roles: spec.roles.map((name) => ({
        name,
        path: "/",
        arn: `arn:${this.partition}:iam::${spec.account}:role/${name}`,
        id: `AROA${hex(8).toUpperCase()}`,
      })),
      created: new Date(),
    };
    this.profiles.set(`${spec.account}/${spec.name}`, profile);
    return profile;
  }

  instanceProfile(account: string, name: string): WorldInstanceProfile | undefined {
    return this.profiles.get(`${account}/${name}`);
  }

  addAutoScalingGroup(spec: AutoScalingGroupSpec): AutoScalingGroupSpec {
    const group = { ...spec, instanceIds: [...spec.instanceIds] };
    this.asgs.set(`${locationKey(spec.account, spec.region)}/${spec.name}`, group);
    return group;
  }

  autoScalingGroup(account: string, region: string, name: string): AutoScalingGroupSpec | undefined {
    return this.asgs.get(`${locationKey(account, region)}/${name}`);
  }

  addEksCluster(spec: EksClusterSpec): EksClusterSpec {
    this.clusters.set(`${locationKey(spec.account, spec.region)}/${spec.name}`, spec);
    return spec;
  }

  eksCluster(account: string, region: string, name: string): EksClusterSpec | undefined {
    return this.clusters.get(`${locationKey(account, region)}/${name}`);
  }
}

function locationKey(account: string, region: string): string {
  return `${account}/${region}`;
}

type WorldProtocol = Extract<AwsProtocol, "ec2" | "query" | "rest-json">;

/**
 * What each protocol family answers for an unknown or an expired key. The codes differ per
 * service, and the SDK's retry and our classification depend on them.
 */
const CALLER_ERRORS: Record<WorldProtocol, { unknown: [number, string]; expired: [number, string] }> = {
  ec2: { unknown: [401, "AuthFailure"], expired: [400, "RequestExpired"] },
  query: { unknown: [403, "InvalidClientTokenId"], expired: [403, "ExpiredToken"] },
  "rest-json": { unknown: [403, "UnrecognizedClientException"], expired: [403, "ExpiredTokenException"] },
};

/** A service fake (EC2, IAM, EKS, Auto Scaling) that answers from the world model for the caller's account. */
export abstract class WorldServiceFake implements ServiceFake {
  abstract readonly service: string;
  abstract readonly protocol: WorldProtocol;

  constructor(
    protected readonly world: AwsWorld,
    private readonly callers: CallerDirectory,
    /** Token buckets; none unless the service's test asks. */
    readonly rateLimits: readonly RateLimit[] = [],
  ) {}

  abstract handle(req: FakeRequest): RenderedResponse | Promise<RenderedResponse>;

  /**
   * The caller's account for a request to the service's one `action`, or the error the service
   * gives for unknown or expired keys, then for any other action (awsQuery's InvalidAction).
   */
  protected callerFor(req: FakeRequest, action: string): string {
    const account = this.callerAccount(req);
    if (req.action !== action) {
      throw new FakeAwsError(400, "InvalidAction", `Could not find operation ${req.action}`);
    }
    return account;
  }

  /** The caller's account, or the error the service gives for unknown or expired keys. */
  protected callerAccount(req: FakeRequest): string {
    const errors = CALLER_ERRORS[this.protocol];
    const account = this.callers.accountOf(req.accessKeyId);
    if (account === undefined) {
      throw new FakeAwsError(
        errors.unknown[0],
        errors.unknown[1],
        "The security token included in the request is invalid.",
      );
    }
    if (this.callers.isExpired?.(req.accessKeyId) === true) {
      throw new FakeAwsError(
        errors.expired[0],
        errors.expired[1],
        "The security token included in the request is expired",
      );
    }
    return account;
  }
}
