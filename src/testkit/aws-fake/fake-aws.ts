/**
 * One call to get the whole loopback AWS the server attestor talks to: STS, EC2, IAM, EKS and
 * Auto Scaling and Organizations fakes on one AwsFakeServer, answering from one AwsWorld, with AWS's EC2 token
 * buckets on by default. Tests, the demo and the benchmarks start here.
 *
 *   const aws = await startFakeAws();
 *   const creds = aws.baseCredentials("111111111111");
 *   aws.world.addInstance({ account: "111111111111", region: "us-west-2", tags: { app: "web" } });
 *   // point the SDK at aws.url (endpoint option) or aws.env() (AWS_ENDPOINT_URL…)
 */
import { randomBytes } from "node:crypto";
import { FakeAutoScaling } from "./autoscaling";
import { FakeEc2 } from "./ec2";
import { FakeEks } from "./eks";
import { FakeIam } from "./iam";
import { FakeOrganizations } from "./organizations";
import { AwsFakeServer, type RateLimit } from "./server";
import { FakeSts } from "./sts";
import { AwsWorld, type CallerDirectory } from "./world";

export interface FakeAwsOptions {
  world?: AwsWorld;
  /** EC2 buckets; default AWS's (EC2_RATE_LIMITS). [] disables throttling. */
  ec2RateLimits?: readonly RateLimit[];
  iamRateLimits?: readonly RateLimit[];
  /** The organization's management account (default 999999999999); the Organizations fake lists it. */
  managementAccountId?: string;
  /** Apply AWS's Organizations token buckets (default true). */
  organizationsRateLimited?: boolean;
}

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export class FakeAws {
  private constructor(
    readonly server: AwsFakeServer,
    readonly world: AwsWorld,
    readonly sts: FakeSts,
    readonly ec2: FakeEc2,
    readonly iam: FakeIam,
    readonly eks: FakeEks,
    readonly autoscaling: FakeAutoScaling,
    readonly organizations: FakeOrganizations,
  ) {}

  static async start(options: FakeAwsOptions = {}): Promise<FakeAws> {
    const world = options.world ?? new AwsWorld();
    const sts = new FakeSts();
    const callers = stsCallerDirectory(sts);
    const server = await AwsFakeServer.start({ accountOf: (k) => sts.accountOf(k) });
    const ec2 = new FakeEc2(world, callers, options.ec2RateLimits);
    const iam = new FakeIam(world, callers, options.iamRateLimits);
    const eks = new FakeEks(world, callers);
    const autoscaling = new FakeAutoScaling(world, callers);
    const organizations = new FakeOrganizations({
      managementAccountId: options.managementAccountId ?? "999999999999",
      accountOf: (k) => sts.accountOf(k),
      rateLimited: options.organizationsRateLimited ?? true,
    });
    server
      .register(sts)
      .register(ec2)
      .register(iam)
      .register(eks)
      .register(autoscaling)
      .register(organizations);
    return new FakeAws(server, world, sts, ec2, iam, eks, autoscaling, organizations);
  }

  get url(): string {
    return this.server.url;
  }

  /** Long-term keys acting as `account` (what `access_key_id`/`secret_access_key` hold). */
  baseCredentials(account: string): StaticCredentials {
    const creds = {
      accessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
    };
    this.sts.addStaticCredentials(creds.accessKeyId, account);
    return creds;
  }

  /** Environment for a child process that should reach these fakes through the SDK's own settings. */
  env(credentials?: StaticCredentials, region = "us-east-1"): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.url,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...(credentials === undefined
        ? {}
        : { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }),
    };
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** Convenience for `FakeAws.start`. */
export function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  return FakeAws.start(options);
}

/** Account and expiry of every key the STS fake knows (static keys never expire). */
export function stsCallerDirectory(sts: FakeSts): CallerDirectory {
  return {
    accountOf: (k) => sts.accountOf(k),
    isExpired: (k) => {
      if (!k.startsWith("ASIA")) return false;
      const issued = sts.issuedCredentials().find((c) => c.accessKeyId === k);
      return issued !== undefined && issued.expiration.getTime() <= sts.now();
    },
  };
}
