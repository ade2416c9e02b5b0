# Accept only instances of managed node groups of these EKS clusters (SPIRE's key). The server
# needs eks:ListNodegroups, eks:DescribeNodegroup and autoscaling:DescribeAutoScalingGroups in
# the node's account (examples/iam/server-role-policy.json).
validate_eks_cluster_membership {
  eks_cluster_names = ["prod-blue", "prod-green"]
}
