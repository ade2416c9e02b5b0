/** What the plugin uses of @aws-sdk/client-iam: one chunk of the bundle, tree-shaken (../sdk.ts). */
export { GetInstanceProfileCommand, IAMClient } from "@aws-sdk/client-iam";
