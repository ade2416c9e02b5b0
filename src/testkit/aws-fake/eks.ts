/**
 * EKS (restJson1): ListNodegroups and DescribeNodegroup, the two calls the EKS membership
 * check makes before asking Auto Scaling for the instances. Unknown clusters and node groups
 * give ResourceNotFoundException (404) as EKS does.
 */
import { FakeAwsError, jsonResponse, type RenderedResponse } from "./protocol";
import type { FakeRequest } from "./server";
import { type AwsWorld, WorldServiceFake } from "./world";

const NODEGROUPS_PATH = /^\/clusters\/([^/]+)\/node-groups\/?$/;
const NODEGROUP_PATH = /^\/clusters\/([^/]+)\/node-groups\/([^/]+)$/;

export class FakeEks extends WorldServiceFake {
  readonly service = "eks";
  readonly protocol = "rest-json" as const;

  actionOf(method: string, path: string): string {
    if (method === "GET" && NODEGROUPS_PATH.test(path)) return "ListNodegroups";
    if (method === "GET" && NODEGROUP_PATH.test(path)) return "DescribeNodegroup";
    return `${method} ${path}`;
  }

  handle(req: FakeRequest): RenderedResponse {
    const account = this.callerAccount(req);
    const list = NODEGROUPS_PATH.exec(req.path);
    if (req.action === "ListNodegroups" && list !== null) {
      const cluster = this.cluster(account, req.region, decodeURIComponent(list[1]!));
      const max = Number(req.query.get("maxResults") ?? "100");
      if (!Number.isInteger(max) || max < 1 || max > 100) {
        throw new FakeAwsError(400, "InvalidParameterException", "maxResults must be between 1 and 100");
      }
      const offset = Number(req.query.get("nextToken") ?? "0");
      const names = cluster.nodegroups.map((n) => n.name);
      const page = names.slice(offset, offset + max);
      const next = offset + page.length < names.length ? String(offset + page.length) : undefined;
      return jsonResponse(
        { nodegroups: page, ...(next === undefined ? {} : { nextToken: next }) },
        "application/json",
      );
    }
    const describe = NODEGROUP_PATH.exec(req.path);
    if (req.action === "DescribeNodegroup" && describe !== null) {
      const clusterName = decodeURIComponent(describe[1]!);
      const cluster = this.cluster(account, req.region, clusterName);
      const name = decodeURIComponent(describe[2]!);
      const nodegroup = cluster.nodegroups.find((n) => n.name === name);
      if (nodegroup === undefined) {
        throw new FakeAwsError(404, "ResourceNotFoundException", `No node group found for name: ${name}.`);
      }
      return jsonResponse(
        {
          nodegroup: {
            nodegroupName: name,
            nodegroupArn: `arn:aws:eks:${req.region}:${account}:nodegroup/${clusterName}/${name}/00000000-0000-0000-0000-000000000000`,
            clusterName,
            status: "ACTIVE",
            resources: { autoScalingGroups: nodegroup.autoScalingGroups.map((g) => ({ name: g })) },
          },
        },
        "application/json",
      );
    }
    throw new FakeAwsError(404, "UnknownOperationException", `No route for ${req.method} ${req.path}`);
  }

  private cluster(
    account: string,
    region: string,
    name: string,
  ): NonNullable<ReturnType<AwsWorld["eksCluster"]>> {
    const cluster = this.world.eksCluster(account, region, name);
    if (cluster === undefined) {
      throw new FakeAwsError(404, "ResourceNotFoundException", `No cluster found for name: ${name}.`);
    }
    return cluster;
  }
}
