import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsFakeServer } from "./server";
import { FakeSts } from "./sts";
import { TokenBucket } from "./token-bucket";

const base = { accessKeyId: "AKIDBASE", secretAccessKey: "base-secret" };

describe("AwsFakeServer with the real SDK", () => {
  let server: AwsFakeServer;
  let sts: FakeSts;
  let client: STSClient;

  beforeEach(async () => {
    sts = new FakeSts().addStaticCredentials(base.accessKeyId, "111111111111");
    server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
    server.register(sts);
    client = new STSClient({ region: "us-east-1", endpoint: server.url, credentials: base, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  it("assumes a role and reports the caller identity of the issued credentials", async () => {
    const out = await client.send(
      new AssumeRoleCommand({ RoleArn: "arn:aws:iam::222222222222:role/spire", RoleSessionName: "s1" }),
    );
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    const assumed = new STSClient({
      region: "us-east-1",
      endpoint: server.url,
      maxAttempts: 1,
      credentials: {
        accessKeyId: out.Credentials!.AccessKeyId!,
        secretAccessKey: out.Credentials!.SecretAccessKey!,
        sessionToken: out.Credentials!.SessionToken!,
      },
    });
    const who = await assumed.send(new GetCallerIdentityCommand({}));
    expect(who.Account).toBe("222222222222");
    expect(who.Arn).toBe("arn:aws:sts::222222222222:assumed-role/spire/s1");
    assumed.destroy();
    expect(server.calls.count({ service: "sts", action: "AssumeRole" })).toBe(1);
  });

  it("turns a denied role into the SDK's AccessDenied error", async () => {
    sts.deniedRoles.add("arn:aws:iam::222222222222:role/spire");
    await expect(
      client.send(
        new AssumeRoleCommand({ RoleArn: "arn:aws:iam::222222222222:role/spire", RoleSessionName: "s" }),
      ),
    ).rejects.toMatchObject({ name: "AccessDenied" });
  });

  it("injects throttling the SDK recognises, a bounded number of times", async () => {
    server.faults.add({ service: "sts", action: "GetCallerIdentity", times: 1 }, { kind: "throttle" });
    await expect(client.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: "Throttling" });
    await expect(client.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Account: "111111111111",
    });
    expect(server.calls.summary()["sts:GetCallerIdentity"]).toEqual({
      total: 2,
      ok: 1,
      throttled: 1,
      other: 0,
    });
  });

  it("answers unknown keys like AWS does", async () => {
    const stranger = new STSClient({
      region: "us-east-1",
      endpoint: server.url,
      maxAttempts: 1,
      credentials: { accessKeyId: "AKIDNOBODY", secretAccessKey: "x" },
    });
    await expect(stranger.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    stranger.destroy();
  });
});

describe("TokenBucket", () => {
  it("allows a burst of its capacity, then refills at its rate", () => {
    let now = 0;
    const bucket = new TokenBucket(100, 20, () => now);
    let granted = 0;
    for (let i = 0; i < 150; i++) if (bucket.tryTake()) granted++;
    expect(granted).toBe(100);
    now += 1000;
    granted = 0;
    for (let i = 0; i < 50; i++) if (bucket.tryTake()) granted++;
    expect(granted).toBe(20);
  });
});
