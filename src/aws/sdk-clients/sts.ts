/** What the plugin uses of @aws-sdk/client-sts: one chunk of the bundle, tree-shaken (../sdk.ts). */
export { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
