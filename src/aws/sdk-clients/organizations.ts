/** What the plugin uses of @aws-sdk/client-organizations: one chunk of the bundle, tree-shaken (../sdk.ts). */
export {
  DescribeAccountCommand,
  ListAccountsCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
