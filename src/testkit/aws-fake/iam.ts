/**
 * IAM (awsQuery): GetInstanceProfile with its roles, from the world model. IAM is global per
 * partition; the fake answers whatever region the client signed for. Unknown names give
 * NoSuchEntity (404) as IAM does.
 */
import { FakeAwsError, type RenderedResponse, xmlEscape, xmlResponse } from "./protocol";
import type { FakeRequest } from "./server";
import { WorldServiceFake } from "./world";

const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";

export class FakeIam extends WorldServiceFake {
  readonly service = "iam";
  readonly protocol = "query" as const;

  handle(req: FakeRequest): RenderedResponse {
    const account = this.callerFor(req, "GetInstanceProfile");
    const name = req.form.get("InstanceProfileName") ?? "";
    if (!/^[\w+=,.@-]{1,128}$/.test(name)) {
      throw new FakeAwsError(
        400,
        "ValidationError",
        `1 validation error detected: Value '${name}' at 'instanceProfileName' failed to satisfy constraint`,
      );
    }
    const profile = this.world.instanceProfile(account, name);
    if (profile === undefined) {
      throw new FakeAwsError(404, "NoSuchEntity", `Instance Profile ${name} cannot be found.`);
    }
    const e = xmlEscape;
    const created = profile.created.toISOString();
    const roles = profile.roles
      .map(
        (r) =>
          `<member><Path>${e(r.path)}</Path><RoleName>${e(r.name)}</RoleName><RoleId>${r.id}</RoleId><Arn>${e(r.arn)}</Arn><CreateDate>${created}</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></member>`,
      )
      .join("");
    return xmlResponse(
      "GetInstanceProfile",
      IAM_NS,
      `<GetInstanceProfileResult><InstanceProfile><InstanceProfileId>${profile.id}</InstanceProfileId><Roles>${roles}</Roles><InstanceProfileName>${e(profile.name)}</InstanceProfileName><Path>${e(profile.path)}</Path><Arn>${e(profile.arn)}</Arn><CreateDate>${created}</CreateDate></InstanceProfile></GetInstanceProfileResult>`,
    );
  }
}
