# Accept only accounts that are ACTIVE members of the AWS Organization (docs/organization.md).
# The server assumes spire-list-accounts in the management account
# (examples/iam/organization-role-policy.json + organization-role-trust.json).
assume_role = "spire-server-delegate"
verify_organization {
  management_account_id = "999988887777"
  assume_org_role       = "spire-list-accounts"
  # management_account_region defaults per partition (us-west-2 for aws)
  org_account_map_ttl       = "5m"
  org_account_miss_retries  = 5     # unknown-account lookups per TTL window
  org_account_map_max_stale = "30m" # keep using the last list for 30m once refreshes fail (0s: look accounts up one by one)
  org_server_replicas       = 5     # SPIRE servers sharing the management account's Organizations quota
}
