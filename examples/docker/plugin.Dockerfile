# The plugin image for the spiffe Helm chart's image route (customPlugins.<type>.<name>.image).
#
# The chart runs this image as an init container with its own busybox
# (`/plugins/busybox cp -a <plugin_cmd> /plugins/nodeAttestor/<name>`), so the image needs no
# shell: only the one file plugin_cmd names, a regular file (cp -a would copy a symlink as a
# symlink). The spire-server/spire-agent container that then runs it must provide glibc: use
# the image from spire-server.Dockerfile (or its agent variant), not SPIRE's FROM-scratch one.
#
#   cp dist/spire-aws-iid-sea spire-aws-iid
#   docker build -f plugin.Dockerfile -t registry.example.org/spire-aws-iid:0.1.0 .
#
# The chart names the copy after the plugin, /plugins/nodeAttestor/aws_iid or .../aws_iam, and
# the plugin takes its method from that name and its side from SPIRE's Init: no plugin_args.
FROM scratch
COPY --chmod=0755 spire-aws-iid /spire-aws-iid
