# File mode: the accounts come from a JSON array you maintain (no Organizations permission
# needed); re-read when the TTL expires, fail closed if it becomes unreadable. Example file:
# examples/plugin_data/org-accounts.json. List only accounts that should attest.
verify_organization {
  account_list_file   = "/etc/spire/org-accounts.json"
  org_account_map_ttl = "10m"
}
