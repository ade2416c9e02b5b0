# Operational knobs (ours), shown with their defaults.
aws_call_timeout                = "20s"  # per phase of AWS calls in one attestation (SPIRE: fixed 20s)
describe_instances_batch_window = "200ms" # at most one partial DescribeInstances per window per account/region; 0s = off
instance_profile_cache_ttl      = "5m"   # cache GetInstanceProfile; 0s = off
log_level                       = "debug" # SPIRE's log_level filters again
