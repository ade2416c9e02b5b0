# Server plugin_data: nothing is required. Credentials come from the AWS SDK default chain
# (instance role, IRSA, environment); agent IDs and selectors are SPIRE's defaults. Nodes must
# be in the server's own account (see assume-role.hcl otherwise).
