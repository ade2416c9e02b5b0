/**
 * The SDK's own endpoint and credential settings must work as-is (operators use them for VPC
 * and FIPS endpoints, IRSA, profiles). The plugin never sets `endpoint` itself, so a child
 * process configured only through AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> and the
 * default credential chain must reach the fakes. A child keeps the env of the forked test
 * worker untouched.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeAws, type StaticCredentials } from "../testkit/aws-fake";

const ACCOUNT = "111111111111";
const REGION = "eu-west-1";

function runChild(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ["--import", "tsx", script],
      {
        cwd: resolve(__dirname, "..", ".."),
        // NODE_OPTIONS carries the loopback guard (test/loopback-guard.cjs) into the child.
        env: {
          PATH: process.env.PATH ?? "",
          HOME: "/nonexistent",
          NODE_OPTIONS: process.env.NODE_OPTIONS ?? "",
          ...env,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : done(stdout.trim())),
    );
  });
}

describe("SDK endpoint and credential settings from the environment", () => {
  let aws: FakeAws;
  let creds: StaticCredentials;
  let dir: string;
  let script: string;
  let instanceId: string;
  let profileArn: string;

  beforeAll(async () => {
    aws = await FakeAws.start();
    creds = aws.baseCredentials(ACCOUNT);
    profileArn = aws.world.addInstanceProfile({ account: ACCOUNT, name: "p", roles: ["R"] }).arn;
    instanceId = aws.world.addInstance({ account: ACCOUNT, region: REGION, profileArn }).instanceId;
    dir = await mkdtemp(join(tmpdir(), "aws-env-"));
    script = join(dir, "child.mts");
    const index = resolve(__dirname, "index.ts");
    const defaults = resolve(__dirname, "../testkit/config-defaults.ts");
    await writeFile(
      script,
      `import { createAwsAccess } from ${JSON.stringify(index)};
import { awsAccessOptions } from ${JSON.stringify(defaults)};
const aws = createAwsAccess(awsAccessOptions({ callTimeoutMs: 10000 }));
const [account, region, id, arn] = process.argv.slice(2).length ? process.argv.slice(2) : JSON.parse(process.env.ARGS ?? "[]");
const instance = await aws.describeInstance(account, region, id);
const roles = await aws.getInstanceProfileRoles(account, region, arn);
console.log(JSON.stringify({ id: instance.InstanceId, roles }));
await aws.close();
`,
    );
  });
  afterAll(async () => {
    await aws.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("honours AWS_ENDPOINT_URL and the default credential chain (env keys)", async () => {
    const out = await runChild(script, {
      ...aws.env(creds, REGION),
      ARGS: JSON.stringify([ACCOUNT, REGION, instanceId, profileArn]),
    });
    expect(JSON.parse(out)).toEqual({ id: instanceId, roles: [`arn:aws:iam::${ACCOUNT}:role/R`] });
    expect(aws.server.calls.count({ service: "ec2", action: "DescribeInstances", outcome: "ok" })).toBe(1);
  });

  it("honours per-service AWS_ENDPOINT_URL_<SERVICE> over a dead global endpoint", async () => {
    aws.server.calls.reset();
    const env = aws.env(creds, REGION);
    const out = await runChild(script, {
      ...env,
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ENDPOINT_URL_EC2: aws.url,
      AWS_ENDPOINT_URL_IAM: aws.url,
      ARGS: JSON.stringify([ACCOUNT, REGION, instanceId, profileArn]),
    });
    expect(JSON.parse(out).id).toBe(instanceId);
    expect(aws.server.calls.count({ service: "iam", action: "GetInstanceProfile" })).toBe(1);
  });
});
