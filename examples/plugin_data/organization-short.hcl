# Short form of organization-api.hcl: the management account id, with assume_role as the role
# name there (and in the node accounts). Defaults: TTL 3m, 5 misses per window, 5 replicas.
assume_role            = "spire-server-delegate"
require_org_account_id = "999988887777"
