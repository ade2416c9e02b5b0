export {
  ACCOUNT_LIST_FILE_MAX_BYTES,
  AccountListFileError,
  readAccountListFile,
  validateAccountListFile,
} from "./account-list-file";
export { type AccountSource, FileAccountSource, OrganizationsAccountSource } from "./account-source";
export { type OrgSettings, orgMembershipOptions } from "./options";
export {
  type MembershipVerdict,
  type NonMemberReason,
  OrgMembershipCache,
  type OrgMembershipOptions,
} from "./org-membership-cache";
