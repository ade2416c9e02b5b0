/**
 * Auto Scaling (awsQuery): DescribeAutoScalingGroups by name with MaxRecords/NextToken
 * pagination (MaxRecords ≤ 100, as AWS). Unknown names are absent from the result, as in AWS.
 */
import { FakeAwsError, type RenderedResponse, xmlEscape, xmlResponse } from "./protocol";
import type { FakeRequest } from "./server";
import { WorldServiceFake } from "./world";

const ASG_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

export class FakeAutoScaling extends WorldServiceFake {
  readonly service = "autoscaling";
  readonly protocol = "query" as const;

  handle(req: FakeRequest): RenderedResponse {
    const account = this.callerFor(req, "DescribeAutoScalingGroups");
    const names: string[] = [];
    for (const [key, value] of req.form) {
      if (/^AutoScalingGroupNames\.member\.\d+$/.test(key)) names.push(value);
    }
    const maxRecords = Number(req.form.get("MaxRecords") ?? "50");
    if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100) {
      throw new FakeAwsError(400, "ValidationError", "MaxRecords must be between 1 and 100");
    }
    const groups = names
      .map((n) => this.world.autoScalingGroup(account, req.region, n))
      .filter((g): g is NonNullable<typeof g> => g !== undefined);
    const offset = Number(req.form.get("NextToken") ?? "0");
    const page = groups.slice(offset, offset + maxRecords);
    const next = offset + page.length < groups.length ? String(offset + page.length) : undefined;
    const e = xmlEscape;
    const members = page
      .map((g) => {
        const instances = g.instanceIds
          .map((id) => {
            const az = this.world.instance(id)?.availabilityZone ?? `${req.region}a`;
            return `<member><InstanceId>${id}</InstanceId><AvailabilityZone>${az}</AvailabilityZone><LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`;
          })
          .join("");
        return `<member><AutoScalingGroupName>${e(g.name)}</AutoScalingGroupName><AutoScalingGroupARN>arn:aws:autoscaling:${req.region}:${account}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${e(g.name)}</AutoScalingGroupARN><MinSize>0</MinSize><MaxSize>${g.instanceIds.length}</MaxSize><DesiredCapacity>${g.instanceIds.length}</DesiredCapacity><DefaultCooldown>300</DefaultCooldown><AvailabilityZones><member>${req.region}a</member></AvailabilityZones><HealthCheckType>EC2</HealthCheckType><CreatedTime>2026-01-01T00:00:00Z</CreatedTime><Instances>${instances}</Instances></member>`;
      })
      .join("");
    return xmlResponse(
      "DescribeAutoScalingGroups",
      ASG_NS,
      `<DescribeAutoScalingGroupsResult><AutoScalingGroups>${members}</AutoScalingGroups>${next === undefined ? "" : `<NextToken>${next}</NextToken>`}</DescribeAutoScalingGroupsResult>`,
    );
  }
}
