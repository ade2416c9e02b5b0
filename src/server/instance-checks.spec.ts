import type { Instance } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { Code } from "../common/errors";
import { caught } from "../testkit/recording";
import {
  type BlockDeviceCheckOptions,
  checkBlockDevice,
  normalizeIp,
  verifyClientIp,
} from "./instance-checks";

const t0 = new Date("2026-01-01T00:00:00.000Z");
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);

/** SPIRE's fake client default: instance-store root, one ENI at device index 0. */
const spireDefault = (): Instance => ({
  RootDeviceType: "instance-store",
  NetworkInterfaces: [{ Attachment: { DeviceIndex: 0 } }],
});

/** An EBS-rooted instance whose root volume was attached `delta` seconds after ENI 0. */
const ebs = (delta: number): Instance => ({
  RootDeviceType: "ebs",
  RootDeviceName: "root",
  BlockDeviceMappings: [{ DeviceName: "root", Ebs: { AttachTime: at(delta) } }],
  NetworkInterfaces: [{ Attachment: { DeviceIndex: 0, AttachTime: t0 } }],
});

const on: BlockDeviceCheckOptions = {
  skipBlockDevice: false,
  accountIdsForLocalValidation: [],
  accountId: "test-account",
};

describe("checkBlockDevice (SPIRE's anti-tampering check, iid_test.go cases)", () => {
  it.each<[string, Instance, typeof on]>([
    ["accepts SPIRE's default instance (instance-store root)", spireDefault(), on],
    [
      "accepts a non-zero device index when skip_block_device is set",
      { ...spireDefault(), NetworkInterfaces: [{ Attachment: { DeviceIndex: 1 } }] },
      { ...on, skipBlockDevice: true },
    ],
    [
      "accepts a non-zero device index when the account is in account_ids_for_local_validation",
      { ...spireDefault(), NetworkInterfaces: [{ Attachment: { DeviceIndex: 1 } }] },
      { ...on, accountIdsForLocalValidation: ["test-account"] },
    ],
    [
      "finds device index 0 whatever the ENI order (#5299)",
      {
        ...spireDefault(),
        NetworkInterfaces: [{ Attachment: { DeviceIndex: 1 } }, { Attachment: { DeviceIndex: 0 } }],
      },
      on,
    ],
    ["accepts attach times exactly 60 s apart", ebs(60), on],
    ["accepts attach times 60.9 s apart (whole seconds, like Go's Unix())", ebs(60.9), on],
    ["accepts a root volume attached before the ENI", ebs(-30), on],
    [
      "skips ENIs without an attachment instead of crashing",
      { ...spireDefault(), NetworkInterfaces: [{}, { Attachment: { DeviceIndex: 0 } }] },
      on,
    ],
  ])("%s", (_name, instance, options) => {
    expect(() => checkBlockDevice(instance, options)).not.toThrow();
  });

  it.each<[string, Instance, string]>([
    [
      "rejects a missing device index 0",
      { ...spireDefault(), NetworkInterfaces: [{ Attachment: { DeviceIndex: 1 } }] },
      "failed aws ec2 attestation: the EC2 instance network interface with device index 0 is inaccessible",
    ],
    [
      "rejects an instance without network interfaces",
      { RootDeviceType: "ebs" },
      "failed aws ec2 attestation: the EC2 instance network interface with device index 0 is inaccessible",
    ],
    [
      "rejects a root device name without a mapping",
      { ...spireDefault(), RootDeviceType: "ebs", RootDeviceName: "root" },
      'failed aws ec2 attestation: failed to locate the root device block mapping with name "root"',
    ],
    [
      "compares ENI 0 with the root volume, not with the first volume listed",
      {
        ...ebs(61),
        BlockDeviceMappings: [
          { DeviceName: "data", Ebs: { AttachTime: t0 } },
          { DeviceName: "root", Ebs: { AttachTime: at(61) } },
        ],
      },
      "differ by 61 seconds",
    ],
    [
      "rejects attach times 61 s apart",
      ebs(61),
      "failed aws ec2 attestation: failed checking the disparity device attach times, root BlockDeviceMapping and NetworkInterface[0] attach times differ by 61 seconds",
    ],
    [
      "rejects an EBS root without a root device name",
      { ...ebs(0), RootDeviceName: undefined },
      "has no root device name",
    ],
    [
      "rejects ENI 0 without an attach time",
      { ...ebs(0), NetworkInterfaces: [{ Attachment: { DeviceIndex: 0 } }] },
      "device index 0 has no attach time",
    ],
    [
      "rejects a root mapping without EBS data",
      { ...ebs(0), BlockDeviceMappings: [{ DeviceName: "root" }] },
      'root block device mapping "root" has no EBS attach time',
    ],
    [
      "treats a missing root device type like EBS, as SPIRE does",
      { ...ebs(61), RootDeviceType: undefined },
      "differ by 61 seconds",
    ],
  ])("%s, as PermissionDenied", (_name, instance, message) => {
    const err = caught(() => checkBlockDevice(instance, on));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain(message);
  });
});

describe("verify_client_ip", () => {
  const instance: Instance = {
    PrivateIpAddress: "10.0.0.5",
    PublicIpAddress: "54.1.2.3",
    NetworkInterfaces: [
      {
        PrivateIpAddress: "10.0.0.5",
        PrivateIpAddresses: [{ PrivateIpAddress: "10.0.0.6", Association: { PublicIp: "54.1.2.4" } }],
        Ipv6Addresses: [{ Ipv6Address: "2600:1f14:abc:de00::10" }],
        Ipv4Prefixes: [{ Ipv4Prefix: "10.0.1.16/28" }],
      },
      { PrivateIpAddress: "10.0.2.9", Association: { PublicIp: "3.3.3.3" } },
    ],
  };

  it.each([
    ["the primary private address", "10.0.0.5"],
    ["the public address", "54.1.2.3"],
    ["a secondary private address", "10.0.0.6"],
    ["a secondary address's public IP", "54.1.2.4"],
    ["an address of a second ENI", "10.0.2.9"],
    ["the public IP of a second ENI", "3.3.3.3"],
    ["an IPv6 address written differently", "2600:1F14:ABC:DE00:0:0:0:10"],
    ["an IPv4-mapped IPv6 address", "::ffff:10.0.0.5"],
    ["an IPv4-mapped IPv6 address in hex", "::ffff:a00:5"],
    ["an address inside a delegated prefix", "10.0.1.20"],
  ])("accepts %s", (_name, ip) => {
    expect(() => verifyClientIp(instance, "i-1", ip)).not.toThrow();
  });

  it.each([
    [
      "another host's address",
      "10.0.0.7",
      "the agent connected from 10.0.0.7, which is not an address of instance i-1",
    ],
    ["an address just outside a delegated prefix", "10.0.1.32", "not an address of instance i-1"],
    ["a value that is not an IP", "agent.example", "is not an IP address"],
    ["a missing header (old SPIRE or a proxy)", undefined, "SPIRE server 1.15.2 or later is required"],
    ["an empty header", "", "a load balancer or proxy"],
  ])("rejects %s as PermissionDenied", (_name, ip, message) => {
    const err = caught(() => verifyClientIp(instance, "i-1", ip));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain(message);
  });

  it("accepts the instance's own IPv6 address and addresses in a delegated IPv6 prefix, and nothing else", () => {
    const v6: Instance = {
      Ipv6Address: "2600:1f14:abc:de00::99",
      NetworkInterfaces: [{ Ipv6Prefixes: [{ Ipv6Prefix: "2600:1f14:abc:de01::/80" }] }],
    };
    for (const ip of [
      "2600:1f14:abc:de00::99",
      "2600:1f14:abc:de01::5",
      "2600:1f14:abc:de01:0:ffff:ffff:ffff",
    ]) {
      expect(() => verifyClientIp(v6, "i-1", ip)).not.toThrow();
    }
    for (const ip of ["2600:1f14:abc:de00::98", "2600:1f14:abc:de01:1::5", "10.0.0.5"]) {
      expect(caught(() => verifyClientIp(v6, "i-1", ip)).code).toBe(Code.PermissionDenied);
    }
  });

  it("takes a /32 prefix as its one address", () => {
    const instance: Instance = { NetworkInterfaces: [{ Ipv4Prefixes: [{ Ipv4Prefix: "10.9.0.7/32" }] }] };
    expect(() => verifyClientIp(instance, "i-1", "10.9.0.7")).not.toThrow();
    expect(caught(() => verifyClientIp(instance, "i-1", "10.9.0.8")).code).toBe(Code.PermissionDenied);
  });

  it("ignores a delegated prefix without a valid length instead of widening it to everything or throwing", () => {
    for (const prefix of [
      "10.9.0.0",
      "10.9.0.0/",
      "10.9.0.0/x",
      "10.9.0.0/1234",
      "10.9.0.0/33",
      "::ffff:10.9.0.0/129",
    ]) {
      const instance: Instance = { NetworkInterfaces: [{ Ipv4Prefixes: [{ Ipv4Prefix: prefix }] }] };
      expect(caught(() => verifyClientIp(instance, "i-1", "10.9.0.1")).code).toBe(Code.PermissionDenied);
      expect(caught(() => verifyClientIp(instance, "i-1", "192.0.2.1")).code).toBe(Code.PermissionDenied);
    }
  });

  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4"],
    ["not-ip", null],
  ])("normalizeIp(%j) → %j", (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });
});
