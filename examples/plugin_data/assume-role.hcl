# Cross-account: for a node in account A the server assumes arn:aws:iam::A:role/spire-server-delegate
# before DescribeInstances / GetInstanceProfile. Each node account needs that role
# (examples/iam/target-role-policy.json, trusting the server: target-role-trust.json).
assume_role = "spire-server-delegate"
# partition = "aws-us-gov"   # for role ARNs in GovCloud (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc)
