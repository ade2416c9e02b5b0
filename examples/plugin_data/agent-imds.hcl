# Agent plugin_data (plugin_args = ["agent"]): IMDS client settings, shown with their defaults
# except the endpoint. See docs/agent.md.
ec2_metadata_endpoint   = "http://169.254.169.254/latest"
imds_timeout            = "1s"
disable_imdsv1_fallback = false
