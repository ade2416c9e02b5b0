/**
 * Checks on the EC2 instance that DescribeInstances returned for a verified identity document.
 *
 * SPIRE parity and differences (all rejections are PermissionDenied here; SPIRE uses Internal,
 * which makes a rejected agent retry for nothing):
 * - state: checked where the instance is described (src/aws/instance-state.ts), so no check
 *   here ever sees a stopped or terminated instance.
 * - block device ("anti-tampering"): SPIRE's checkBlockDevice, same scope
 *   (unless `skip_block_device` or the account is in `account_ids_for_local_validation`),
 *   same order-independent search for the ENI with device index 0 (SPIRE #5299/#5300), same
 *   root-mapping lookup by RootDeviceName, same instance-store exemption (#410/#452), same
 *   60-second tolerance on whole seconds, same messages. SPIRE dereferences optional fields
 *   (attachment, device index, root device name, EBS, attach times) and would crash the
 *   attestation on a response without them; each gets a clear message here.
 * - verify_client_ip (ours): the address SPIRE forwards as `x-forwarded-client-ip` must be
 *   one of the instance's addresses, so a stolen identity document cannot be replayed from
 *   another host.
 */

import { BlockList, isIP } from "node:net";
import type { Instance } from "@aws-sdk/client-ec2";
import { permissionDenied } from "../common/errors";
import { goQuote } from "../common/go-strings";

/** SPIRE's maxSecondsBetweenDeviceAttachments. */
export const MAX_SECONDS_BETWEEN_DEVICE_ATTACHMENTS = 60;

export const CLIENT_IP_METADATA_KEY = "x-forwarded-client-ip";

export interface BlockDeviceCheckOptions {
  readonly skipBlockDevice: boolean;
  readonly accountIdsForLocalValidation: readonly string[];
  /** From the verified identity document. */
  readonly accountId: string;
}

/** Whether SPIRE would run the block-device check for this node. */
export function blockDeviceCheckApplies(options: BlockDeviceCheckOptions): boolean {
  return !options.skipBlockDevice && !options.accountIdsForLocalValidation.includes(options.accountId);
}

const unixSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);

function blockDeviceError(detail: string): never {
  throw permissionDenied(`failed aws ec2 attestation: ${detail}`);
}

/**
 * SPIRE's checkBlockDevice: the root EBS volume must have been attached within 60 s of the
 * primary network interface, otherwise the volume may have been moved from another instance.
 */
export function checkBlockDevice(instance: Instance, options: BlockDeviceCheckOptions): void {
  if (!blockDeviceCheckApplies(options)) return;

  const eni0 = (instance.NetworkInterfaces ?? []).find((ni) => ni.Attachment?.DeviceIndex === 0);
  if (eni0 === undefined) {
    blockDeviceError("the EC2 instance network interface with device index 0 is inaccessible");
  }
  if (instance.RootDeviceType === "instance-store") return;

  const rootName = instance.RootDeviceName;
  if (rootName === undefined) blockDeviceError("the instance has no root device name");
  const root = (instance.BlockDeviceMappings ?? []).find((bdm) => bdm.DeviceName === rootName);
  if (root === undefined) {
    blockDeviceError(`failed to locate the root device block mapping with name ${goQuote(rootName)}`);
  }
  const eniAttach = eni0.Attachment?.AttachTime;
  if (eniAttach === undefined) {
    blockDeviceError("the network interface with device index 0 has no attach time");
  }
  const rootAttach = root.Ebs?.AttachTime;
  if (rootAttach === undefined) {
    blockDeviceError(`the root block device mapping ${goQuote(rootName)} has no EBS attach time`);
  }
  // Go compares time.Unix() values: whole seconds, truncated.
  const disparity = Math.abs(unixSeconds(eniAttach) - unixSeconds(rootAttach));
  if (disparity > MAX_SECONDS_BETWEEN_DEVICE_ATTACHMENTS) {
    blockDeviceError(
      "failed checking the disparity device attach times, root BlockDeviceMapping and " +
        `NetworkInterface[0] attach times differ by ${disparity} seconds`,
    );
  }
}

/** Lower-case, without brackets or zone, IPv4-mapped IPv6 as IPv4; null if not an IP. */
export function normalizeIp(raw: string): string | null {
  let ip = raw.trim();
  if (ip.startsWith("[") && ip.includes("]")) ip = ip.slice(1, ip.indexOf("]"));
  const zone = ip.indexOf("%");
  if (zone >= 0) ip = ip.slice(0, zone);
  ip = ip.toLowerCase();
  // IPv4-mapped IPv6 (a dual-stack listener reports IPv4 peers this way) compares as IPv4.
  const dotted = /^(?:::|(?:0{1,4}:){5})ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (dotted?.[1] !== undefined && isIP(dotted[1]) === 4) return dotted[1];
  const hex = /^(?:::|(?:0{1,4}:){5})ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return isIP(ip) === 0 ? null : ip;
}

/** Every private and public address of the instance, over all its network interfaces. */
export function instanceAddresses(instance: Instance): { addresses: string[]; prefixes: string[] } {
  const addresses: (string | undefined)[] = [
    instance.PrivateIpAddress,
    instance.PublicIpAddress,
    instance.Ipv6Address,
  ];
  const prefixes: (string | undefined)[] = [];
  for (const ni of instance.NetworkInterfaces ?? []) {
    addresses.push(ni.PrivateIpAddress, ni.Association?.PublicIp);
    for (const p of ni.PrivateIpAddresses ?? []) addresses.push(p.PrivateIpAddress, p.Association?.PublicIp);
    for (const p of ni.Ipv6Addresses ?? []) addresses.push(p.Ipv6Address);
    // Prefix delegation: every address in an assigned prefix belongs to the instance.
    for (const p of ni.Ipv4Prefixes ?? []) prefixes.push(p.Ipv4Prefix);
    for (const p of ni.Ipv6Prefixes ?? []) prefixes.push(p.Ipv6Prefix);
  }
  return {
    addresses: addresses.filter((a): a is string => a !== undefined && a !== ""),
    prefixes: prefixes.filter((p): p is string => p !== undefined && p !== ""),
  };
}

/**
 * verify_client_ip: the agent's address as SPIRE saw it must belong to the instance.
 * `forwardedClientIp` is the `x-forwarded-client-ip` value SPIRE passes to the plugin.
 */
export function verifyClientIp(
  instance: Instance,
  instanceId: string,
  forwardedClientIp: string | undefined,
): void {
  if (forwardedClientIp === undefined || forwardedClientIp.trim() === "") {
    throw permissionDenied(
      `verify_client_ip is enabled but SPIRE did not pass the agent's address (${CLIENT_IP_METADATA_KEY}): ` +
        "SPIRE server 1.15.2 or later is required, and a load balancer or proxy that terminates TLS in front " +
        "of SPIRE hides the agent's address (disable verify_client_ip there)",
    );
  }
  const ip = normalizeIp(forwardedClientIp);
  if (ip === null) {
    throw permissionDenied(`${CLIENT_IP_METADATA_KEY} ${goQuote(forwardedClientIp)} is not an IP address`);
  }
  const family = isIP(ip) === 4 ? "ipv4" : "ipv6";
  const { addresses, prefixes } = instanceAddresses(instance);
  const list = new BlockList();
  for (const a of addresses) {
    const n = normalizeIp(a);
    if (n !== null) list.addAddress(n, isIP(n) === 4 ? "ipv4" : "ipv6");
  }
  for (const p of prefixes) {
    const [net = "", bits = ""] = p.split("/");
    const n = normalizeIp(net);
    if (n === null || !/^\d{1,3}$/.test(bits)) continue;
    const v4 = isIP(n) === 4;
    // A length past the family's width is not a prefix (BlockList would throw on it): skipped.
    if (Number(bits) <= (v4 ? 32 : 128)) list.addSubnet(n, Number(bits), v4 ? "ipv4" : "ipv6");
  }
  if (!list.check(ip, family)) {
    throw permissionDenied(
      `the agent connected from ${ip}, which is not an address of instance ${instanceId} ` +
        "(private or public, on any network interface); verify_client_ip rejects it",
    );
  }
}
