import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsFakeServer } from "./server";
import { FakeSts } from "./sts";

describe("FakeSts with verifySignatures", () => {
  let server: AwsFakeServer;
  let sts: FakeSts;
  beforeAll(async () => {
    sts = new FakeSts().addStaticCredentials("AKIDSIGNED0000000001", "111111111111", "ci", "the-secret");
    sts.verifySignatures = true;
    server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
    server.register(sts);
  });
  afterAll(async () => {
    await server.close();
  });

  const client = (credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  }): STSClient => new STSClient({ region: "us-east-1", endpoint: server.url, credentials, maxAttempts: 1 });

  it("accepts what the real SDK signs, for static and issued credentials", async () => {
    const c = client({ accessKeyId: "AKIDSIGNED0000000001", secretAccessKey: "the-secret" });
    await expect(c.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Account: "111111111111",
    });
    c.destroy();
    const issued = sts.issueRoleCredentials("arn:aws:iam::222222222222:role/app", "s1");
    const r = client(issued);
    await expect(r.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
      Arn: "arn:aws:sts::222222222222:assumed-role/app/s1",
    });
    r.destroy();
  });

  it("refuses a wrong secret, a missing session token and an expired credential as STS does", async () => {
    const wrong = client({ accessKeyId: "AKIDSIGNED0000000001", secretAccessKey: "nope" });
    await expect(wrong.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
    });
    wrong.destroy();
    const issued = sts.issueRoleCredentials("arn:aws:iam::222222222222:role/app", "s2");
    const noToken = client({ accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey });
    await expect(noToken.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    noToken.destroy();
    const old = sts.issueRoleCredentials("arn:aws:iam::222222222222:role/app", "s3", -10);
    const expired = client(old);
    await expect(expired.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: "ExpiredToken",
    });
    expired.destroy();
  });

  it("refuses a signature older than 15 minutes", async () => {
    sts.now = () => Date.now() + 16 * 60_000;
    try {
      const c = client({ accessKeyId: "AKIDSIGNED0000000001", secretAccessKey: "the-secret" });
      await expect(c.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: "SignatureDoesNotMatch",
        message: expect.stringContaining("Signature expired"),
      });
      c.destroy();
    } finally {
      sts.now = () => Date.now();
    }
  });
});
