/** What the plugin uses of @aws-sdk/client-ec2: one chunk of the bundle, tree-shaken (../sdk.ts). */
export { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
