/** What the plugin uses of @aws-sdk/client-auto-scaling: one chunk of the bundle, tree-shaken (../sdk.ts). */
export { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
