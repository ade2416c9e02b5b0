# The agent's source address (x-forwarded-client-ip, passed by SPIRE server >= 1.15.2) must be
# one of the instance's private or public IPs: a stolen document replayed from elsewhere fails.
# Not behind a TLS-terminating proxy or NAT that hides the agent's address.
verify_client_ip = true
