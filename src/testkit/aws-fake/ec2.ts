/**
 * EC2 (EC2 query protocol): DescribeInstances as real EC2 answers it, from the world model.
 *
 * Semantics copied from EC2 because the plugin's batching depends on them:
 * - `InstanceId.N`: one unknown ID fails the whole call with InvalidInstanceID.NotFound
 *   (listing the unknown IDs), a badly formed one with InvalidInstanceID.Malformed;
 *   InstanceIds cannot be combined with MaxResults (InvalidParameterCombination).
 * - Filters (`Filter.N.Name` / `Filter.N.Value.M`): unknown IDs are simply absent; at most
 *   200 filter values per call (FilterLimitExceeded, the error AWS gives above 200).
 * - MaxResults 5..1000 with NextToken pagination.
 * - Throttling per account and region with AWS's buckets: filtered or paginated Describe*
 *   burst 100 refill 20/s; DescribeInstances without filters and pagination 50 refill 10/s.
 * - Eventual consistency: an instance with `invisibleForLookups > 0` is missing from that
 *   many calls that ask for it.
 */
import { FakeAwsError, nextRequestId, type RenderedResponse, xmlEscape } from "./protocol";
import type { FakeRequest, RateLimit } from "./server";
import {
  type AwsWorld,
  type CallerDirectory,
  INSTANCE_STATE_CODES,
  type WorldInstance,
  WorldServiceFake,
} from "./world";

const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const MAX_FILTER_VALUES = 200;
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** A DescribeInstances call without filters and without pagination (EC2's smaller bucket). */
export function isUnfilteredDescribe(req: FakeRequest): boolean {
  for (const key of req.form.keys()) {
    if (key.startsWith("Filter.") || key === "MaxResults" || key === "NextToken") return false;
  }
  return true;
}

/** AWS's published EC2 buckets (per account and region). */
export const EC2_RATE_LIMITS: readonly RateLimit[] = [
  {
    actions: ["DescribeInstances"],
    capacity: 50,
    refillPerSecond: 10,
    when: (req) => isUnfilteredDescribe(req),
  },
  {
    actions: "*",
    capacity: 100,
    refillPerSecond: 20,
    when: (req) => !(req.action === "DescribeInstances" && isUnfilteredDescribe(req)),
  },
];

export class FakeEc2 extends WorldServiceFake {
  readonly service = "ec2";
  readonly protocol = "ec2" as const;
  /** Instance IDs each DescribeInstances call asked for (by ID or instance-id filter). */
  readonly requestedIds: string[][] = [];

  constructor(world: AwsWorld, callers: CallerDirectory, rateLimits: readonly RateLimit[] = EC2_RATE_LIMITS) {
    super(world, callers, rateLimits);
  }

  handle(req: FakeRequest): RenderedResponse {
    const account = this.callerAccount(req);
    switch (req.action) {
      case "DescribeInstances":
        return this.describeInstances(req, account);
      default:
        throw new FakeAwsError(
          400,
          "InvalidAction",
          `The action ${req.action} is not valid for this web service.`,
        );
    }
  }

  private describeInstances(req: FakeRequest, account: string): RenderedResponse {
    const ids = indexedValues(req.form, "InstanceId");
    const filters = parseFilters(req.form);
    const maxResultsText = req.form.get("MaxResults");
    const nextToken = req.form.get("NextToken");
    if (ids.length > 0 && maxResultsText !== null) {
      throw new FakeAwsError(
        400,
        "InvalidParameterCombination",
        "The parameter instancesSet cannot be used with the parameter maxResults",
      );
    }
    let maxResults: number | undefined;
    if (maxResultsText !== null) {
      maxResults = Number(maxResultsText);
      if (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000) {
        throw new FakeAwsError(
          400,
          "InvalidParameterValue",
          `Value ( ${maxResultsText} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
        );
      }
    }
    const filterValueCount = filters.reduce((n, f) => n + f.values.length, 0);
    if (filterValueCount > MAX_FILTER_VALUES) {
      throw new FakeAwsError(
        400,
        "FilterLimitExceeded",
        `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`,
      );
    }
    for (const id of ids) {
      if (!INSTANCE_ID.test(id))
        throw new FakeAwsError(400, "InvalidInstanceID.Malformed", `Invalid id: "${id}"`);
    }
    const idFilter = filters.find((f) => f.name === "instance-id");
    this.requestedIds.push([...ids, ...(idFilter?.values ?? [])]);

    let visible: WorldInstance[];
    if (ids.length > 0) {
      const missing: string[] = [];
      const present: WorldInstance[] = [];
      for (const id of new Set(ids)) {
        const instance = this.world.instance(id);
        if (instance === undefined || instance.account !== account || instance.region !== req.region) {
          missing.push(id);
        } else if (instance.invisibleForLookups > 0) {
          instance.invisibleForLookups -= 1;
          missing.push(id);
        } else {
          present.push(instance);
        }
      }
      if (missing.length === 1) {
        throw new FakeAwsError(
          400,
          "InvalidInstanceID.NotFound",
          `The instance ID '${missing[0]}' does not exist`,
        );
      }
      if (missing.length > 1) {
        throw new FakeAwsError(
          400,
          "InvalidInstanceID.NotFound",
          `The instance IDs '${missing.join(", ")}' do not exist`,
        );
      }
      visible = present.filter((instance) => filters.every((f) => matches(instance, f)));
    } else {
      visible = [];
      // With an instance-id filter only those instances can match: skip scanning the region.
      const candidates =
        idFilter === undefined
          ? this.world.instancesIn(account, req.region)
          : [...idFilter.set]
              .map((id) => this.world.instance(id))
              .filter(
                (i): i is WorldInstance =>
                  i !== undefined && i.account === account && i.region === req.region,
              );
      for (const instance of candidates) {
        if (!filters.every((f) => matches(instance, f))) continue;
        if (instance.invisibleForLookups > 0) {
          instance.invisibleForLookups -= 1;
          continue;
        }
        visible.push(instance);
      }
    }

    const offset = nextToken === null ? 0 : decodeToken(nextToken);
    const page =
      maxResults === undefined ? visible.slice(offset) : visible.slice(offset, offset + maxResults);
    const more = maxResults !== undefined && offset + page.length < visible.length;
    return {
      status: 200,
      headers: { "content-type": "text/xml;charset=UTF-8" },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="${EC2_NS}"><requestId>${nextRequestId()}</requestId><reservationSet>${renderReservations(page)}</reservationSet>${more ? `<nextToken>${encodeToken(offset + page.length)}</nextToken>` : ""}</DescribeInstancesResponse>`,
    };
  }
}

interface Filter {
  name: string;
  values: string[];
  set: Set<string>;
}

function indexedValues(form: URLSearchParams, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const [key, value] of form) {
    const m = new RegExp(`^${prefix}\\.(\\d+)$`).exec(key);
    if (m !== null) out.push([Number(m[1]), value]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function parseFilters(form: URLSearchParams): Filter[] {
  const byIndex = new Map<number, Filter>();
  for (const [key, value] of form) {
    const m = /^Filter\.(\d+)\.(Name|Value\.\d+)$/.exec(key);
    if (m === null) continue;
    const index = Number(m[1]);
    const filter = byIndex.get(index) ?? { name: "", values: [], set: new Set<string>() };
    if (m[2] === "Name") filter.name = value;
    else {
      filter.values.push(value);
      filter.set.add(value);
    }
    byIndex.set(index, filter);
  }
  const filters = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
  for (const f of filters) {
    if (!isKnownFilter(f.name)) {
      throw new FakeAwsError(400, "InvalidParameterValue", `The filter '${f.name}' is invalid`);
    }
  }
  return filters;
}

function isKnownFilter(name: string): boolean {
  return (
    name === "instance-id" ||
    name === "instance-state-name" ||
    name === "availability-zone" ||
    name === "iam-instance-profile.arn" ||
    name === "tag-key" ||
    name.startsWith("tag:")
  );
}

function matches(instance: WorldInstance, filter: Filter): boolean {
  const values = filter.set;
  switch (filter.name) {
    case "instance-id":
      return values.has(instance.instanceId);
    case "instance-state-name":
      return values.has(instance.state);
    case "availability-zone":
      return values.has(instance.availabilityZone);
    case "iam-instance-profile.arn":
      return instance.profileArn !== undefined && values.has(instance.profileArn);
    case "tag-key":
      return Object.keys(instance.tags).some((k) => values.has(k));
    default: {
      const key = filter.name.slice("tag:".length);
      const value = instance.tags[key];
      return value !== undefined && values.has(value);
    }
  }
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64");
}

function decodeToken(token: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64").toString("utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "offset" in parsed &&
      typeof parsed.offset === "number"
    ) {
      return parsed.offset;
    }
  } catch {
    // fall through
  }
  throw new FakeAwsError(400, "InvalidParameterValue", "The specified NextToken is not valid");
}

function renderReservations(instances: readonly WorldInstance[]): string {
  const groups = new Map<string, WorldInstance[]>();
  for (const instance of instances) {
    const list = groups.get(instance.reservationId) ?? [];
    list.push(instance);
    groups.set(instance.reservationId, list);
  }
  let xml = "";
  for (const [reservationId, members] of groups) {
    xml += `<item><reservationId>${reservationId}</reservationId><ownerId>${members[0]!.account}</ownerId><groupSet/><instancesSet>${members.map(renderInstance).join("")}</instancesSet></item>`;
  }
  return xml;
}

function renderInstance(i: WorldInstance): string {
  const e = xmlEscape;
  const tags = Object.entries(i.tags)
    .map(([k, v]) => `<item><key>${e(k)}</key><value>${e(v)}</value></item>`)
    .join("");
  const groups = i.securityGroups
    .map((g) => `<item><groupId>${e(g.id)}</groupId><groupName>${e(g.name)}</groupName></item>`)
    .join("");
  const enis = i.networkInterfaces
    .map(
      (n) =>
        `<item><networkInterfaceId>${n.networkInterfaceId}</networkInterfaceId><status>in-use</status><privateIpAddress>${i.privateIpAddress}</privateIpAddress><attachment><attachmentId>eni-attach-${n.networkInterfaceId.slice(4)}</attachmentId><deviceIndex>${n.deviceIndex}</deviceIndex><networkCardIndex>0</networkCardIndex><status>attached</status><attachTime>${n.attachTime.toISOString()}</attachTime><deleteOnTermination>true</deleteOnTermination></attachment><groupSet>${groups}</groupSet></item>`,
    )
    .join("");
  const blockDevices =
    i.rootDeviceType === "ebs"
      ? `<item><deviceName>${e(i.rootDeviceName)}</deviceName><ebs><volumeId>vol-${i.instanceId.slice(2)}</volumeId><status>attached</status><attachTime>${i.rootVolumeAttachTime.toISOString()}</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item>`
      : "";
  const profile =
    i.profileArn === undefined
      ? ""
      : `<iamInstanceProfile><arn>${e(i.profileArn)}</arn><id>AIPA${i.instanceId.slice(2, 18).toUpperCase()}</id></iamInstanceProfile>`;
  return (
    `<item><instanceId>${i.instanceId}</instanceId><imageId>${e(i.imageId)}</imageId>` +
    `<instanceState><code>${INSTANCE_STATE_CODES[i.state]}</code><name>${i.state}</name></instanceState>` +
    `<privateDnsName>ip-${i.privateIpAddress.replaceAll(".", "-")}.${i.region}.compute.internal</privateDnsName>` +
    `<instanceType>${e(i.instanceType)}</instanceType><launchTime>${i.launchTime.toISOString()}</launchTime>` +
    `<placement><availabilityZone>${e(i.availabilityZone)}</availabilityZone><tenancy>default</tenancy></placement>` +
    `<privateIpAddress>${i.privateIpAddress}</privateIpAddress>` +
    (i.publicIpAddress === undefined ? "" : `<ipAddress>${i.publicIpAddress}</ipAddress>`) +
    `<groupSet>${groups}</groupSet><architecture>x86_64</architecture>` +
    `<rootDeviceType>${i.rootDeviceType}</rootDeviceType><rootDeviceName>${e(i.rootDeviceName)}</rootDeviceName>` +
    `<blockDeviceMapping>${blockDevices}</blockDeviceMapping>${profile}` +
    `<networkInterfaceSet>${enis}</networkInterfaceSet><tagSet>${tags}</tagSet>` +
    `</item>`
  );
}
