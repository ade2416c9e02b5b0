export {
  ACCOUNT_LIST_FILE_MAX_BYTES,
  AccountListFileError,
  readAccountListFile,
  validateAccountListFile,
} from "./account-list-file";
export {
  type AccountListing,
  type AccountSource,
  AccountSourceError,
  type AccountStates,
  type DescribeResult,
  FileAccountSource,
  type SourceErrorKind,
} from "./account-source";
export {
  type MembershipVerdict,
  type NonMemberReason,
  ORG_DEFAULTS,
  type OrgApiModeOptions,
  type OrgFileModeOptions,
  OrgMembershipCache,
  type OrgMembershipCommonOptions,
  type OrgMembershipOptions,
} from "./org-membership-cache";
export {
  accountState,
  OrganizationsAccountSource,
  type OrganizationsSourceOptions,
} from "./organizations-source";
export { RequestPacer } from "./request-pacer";
