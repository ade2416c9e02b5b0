# Narrow who may attest before any AWS call is made (all checks are ours, not SPIRE's):
require_rsa2048_signature = true                      # refuse the legacy RSA-1024 signature alone
max_launch_age            = "15m"                     # only freshly launched instances
allowed_regions           = ["us-east-1", "eu-west-1"]
allowed_account_ids       = ["111122223333", "444455556666"]
