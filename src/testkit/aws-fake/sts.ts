/**
 * STS (awsQuery protocol): AssumeRole for assume_role / assume_org_role chains and
 * GetCallerIdentity. Knows which account every access key acts as, so the other fakes can
 * scope data and token buckets per account as AWS does.
 */
import { randomBytes } from "node:crypto";
import { FakeAwsError, type RenderedResponse, xmlEscape, xmlResponse } from "./protocol";
import type { FakeRequest, ServiceFake } from "./server";
import { type SigV4Secret, verifySigV4 } from "./sts-sigv4";

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  account: string;
  sessionName: string;
  expiration: Date;
}

export class FakeSts implements ServiceFake {
  readonly service = "sts";
  readonly protocol = "query" as const;
  /** Role ARNs that refuse AssumeRole with AccessDenied. */
  readonly deniedRoles = new Set<string>();
  /** When set, issued credentials live this long regardless of DurationSeconds. */
  credentialLifetimeSeconds: number | undefined;
  /**
   * Opt-in: check every request's SigV4 signature against the secrets this fake knows
   * (static keys declared with a secret, and every credential it issued), as real STS does.
   * Off by default so that fakes used with placeholder secrets keep working.
   */
  verifySignatures = false;
  /** The fake's clock for signature and expiry checks (tests move it). */
  now: () => number = () => Date.now();
  private readonly keys = new Map<string, { account: string; arn: string; secretAccessKey?: string }>();
  private readonly issued = new Map<string, IssuedCredentials>();

  /** Declares long-term keys (what the plugin is configured with) and their account. */
  addStaticCredentials(
    accessKeyId: string,
    account: string,
    userName = "spire-server",
    secretAccessKey?: string,
  ): this {
    this.keys.set(accessKeyId, {
      account,
      arn: `arn:aws:iam::${account}:user/${userName}`,
      ...(secretAccessKey === undefined ? {} : { secretAccessKey }),
    });
    return this;
  }

  /** Issues role credentials directly, as if some trusted principal had called AssumeRole. */
  issueRoleCredentials(roleArn: string, sessionName: string, lifetimeSeconds = 3600): IssuedCredentials {
    const match = ROLE_ARN.exec(roleArn);
    if (match === null) throw new Error(`${roleArn} is not a role ARN`);
    const creds: IssuedCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: randomBytes(32).toString("base64"),
      roleArn,
      account: match[2]!,
      sessionName,
      expiration: new Date(this.now() + lifetimeSeconds * 1000),
    };
    this.issued.set(creds.accessKeyId, creds);
    return creds;
  }

  /** What the SigV4 verifier needs to know about a key; undefined when unknown or secretless. */
  signingSecret(accessKeyId: string): SigV4Secret | undefined {
    const issued = this.issued.get(accessKeyId);
    if (issued !== undefined) {
      return {
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: issued.expiration,
      };
    }
    const secret = this.keys.get(accessKeyId)?.secretAccessKey;
    return secret === undefined ? undefined : { secretAccessKey: secret };
  }

  accountOf(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId)?.account ?? this.issued.get(accessKeyId)?.account;
  }

  /** Credentials handed out so far (tests check the chain that was used). */
  issuedCredentials(): IssuedCredentials[] {
    return [...this.issued.values()];
  }

  handle(req: FakeRequest): RenderedResponse {
    if (this.verifySignatures) {
      verifySigV4(req, { service: "sts", lookup: (id) => this.signingSecret(id), nowMs: this.now() });
    }
    const caller = this.keys.get(req.accessKeyId) ?? this.issued.get(req.accessKeyId);
    if (caller === undefined) {
      throw new FakeAwsError(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
      );
    }
    const expired = this.issued.get(req.accessKeyId);
    if (expired !== undefined && expired.expiration.getTime() <= this.now()) {
      throw new FakeAwsError(400, "ExpiredToken", "The security token included in the request is expired");
    }
    switch (req.action) {
      case "AssumeRole":
        return this.assumeRole(req);
      case "GetCallerIdentity": {
        const arn =
          "arn" in caller
            ? caller.arn
            : `arn:aws:sts::${caller.account}:assumed-role/${roleName(caller.roleArn)}/${caller.sessionName}`;
        return xmlResponse(
          "GetCallerIdentity",
          STS_NS,
          `<GetCallerIdentityResult><Arn>${xmlEscape(arn)}</Arn><UserId>${xmlEscape(req.accessKeyId)}</UserId><Account>${caller.account}</Account></GetCallerIdentityResult>`,
        );
      }
      default:
        throw new FakeAwsError(400, "InvalidAction", `Could not find operation ${req.action}`);
    }
  }

  private assumeRole(req: FakeRequest): RenderedResponse {
    const roleArn = req.form.get("RoleArn") ?? "";
    const sessionName = req.form.get("RoleSessionName") ?? "";
    const match = ROLE_ARN.exec(roleArn);
    if (match === null) throw new FakeAwsError(400, "ValidationError", `${roleArn} is invalid`);
    if (sessionName === "") throw new FakeAwsError(400, "ValidationError", "RoleSessionName is required");
    if (this.deniedRoles.has(roleArn)) {
      throw new FakeAwsError(
        403,
        "AccessDenied",
        `User: ${req.accessKeyId} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    const duration = this.credentialLifetimeSeconds ?? Number(req.form.get("DurationSeconds") ?? "3600");
    const creds = this.issueRoleCredentials(roleArn, sessionName, duration);
    return xmlResponse(
      "AssumeRole",
      STS_NS,
      `<AssumeRoleResult><Credentials><AccessKeyId>${creds.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(creds.secretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(creds.sessionToken)}</SessionToken><Expiration>${creds.expiration.toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${creds.account}:assumed-role/${xmlEscape(match[3]!)}/${xmlEscape(sessionName)}</Arn><AssumedRoleId>AROA${creds.accessKeyId.slice(4)}:${xmlEscape(sessionName)}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>`,
    );
  }
}

const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-eusc):iam::(\d{12}):role\/(?:[\w+=,.@/-]+\/)?([\w+=,.@-]+)$/;

function roleName(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf("/") + 1);
}
