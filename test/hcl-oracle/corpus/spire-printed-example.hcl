assume_role = "spire-role"

account_ids_for_local_validation = ["111122223333", "444455556666"]

verify_organization = {
  management_account_id     = "123456789012"
  assume_org_role           = "spire-org"
  management_account_region = "us-west-2"
  org_account_map_ttl       = "10m"
}

skip_block_device = true
