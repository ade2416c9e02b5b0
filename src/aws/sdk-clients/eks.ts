/** What the plugin uses of @aws-sdk/client-eks: one chunk of the bundle, tree-shaken (../sdk.ts). */
export { DescribeNodegroupCommand, EKSClient, ListNodegroupsCommand } from "@aws-sdk/client-eks";
