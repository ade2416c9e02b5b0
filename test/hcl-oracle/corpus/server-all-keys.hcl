access_key_id = "AKIAEXAMPLE"
secret_access_key = "not-a-real-secret"
skip_block_device = false
disable_instance_profile_selectors = true
account_ids_for_local_validation = ["111122223333"]
agent_path_template = "/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}"
assume_role = "spire-node-reader"
partition = "aws"
verify_organization {
  management_account_id = "123456789012"
  assume_org_role = "spire-org-reader"
  management_account_region = "us-east-1"
  org_account_map_ttl = "1h"
  org_account_miss_retries = 3
  org_account_map_max_stale = "30m"
}
validate_eks_cluster_membership {
  eks_cluster_names = ["prod", "staging"]
}
require_rsa2048_signature = true
allowed_regions = ["us-east-1", "us-west-2"]
allowed_account_ids = ["111122223333", "444455556666"]
max_launch_age = "24h"
aws_certificate {
  region = "eu-south-2"
  kind = "rsa2048"
  pem_path = "/etc/spire/aws/eu-south-2.pem"
}
aws_certificate {
  region = "eu-south-2"
  kind = "rsa"
  pem_path = "/etc/spire/aws/eu-south-2-rsa.pem"
}
verify_client_ip = true
aws_call_timeout = "15s"
describe_instances_batch_window = "5ms"
instance_profile_cache_ttl = "10m"
log_level = "warn"
