export { DescribeInstances$ } from "../node_modules/@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js";
