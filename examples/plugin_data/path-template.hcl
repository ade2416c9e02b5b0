# Agent ID path under /spire/agent (SPIRE's Go text/template subset, docs/selectors.md).
# Tags are fetched only when the template uses .Tags; a missing tag rejects the node.
agent_path_template = "/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ index .Tags \"Name\" }}"
