ec2_metadata_endpoint = "http://169.254.169.254/latest"
imds_timeout = "2s"
imds_retries = 5
disable_imdsv1_fallback = true
log_level = "info"
