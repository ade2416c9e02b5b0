# spire-server on a glibc distroless base, carrying spire-aws-iid.
#
# SPIRE's own images are FROM scratch with static binaries: no libc, so the plugin's single
# executable (which links glibc, libstdc++, libm, libgcc_s) cannot run there. This image takes
# SPIRE's files from the official image and puts them on gcr.io/distroless/cc-debian12, which
# holds exactly those runtime libraries and no shell or node.
#
# Build context: a directory holding spire-aws-iid (the single executable from
# `npm run build:sea`, dist/spire-aws-iid-sea, renamed) for the same CPU architecture.
#   docker build -f spire-server.Dockerfile -t registry.example.org/spire-server-glibc:1.15.3 .
# The same recipe for spire-agent: replace "server" by "agent" and use USER 0:0 as SPIRE's
# agent image does.
#
# docker is not available where this project is built and tested; what proves the recipe is
# test/deploy/sea-chroot.spec.ts: the executable loaded, configured and attesting in a root
# that holds only the libraries `ldd` lists (a subset of this base) and a static host.
ARG SPIRE_VERSION=1.15.3
FROM ghcr.io/spiffe/spire-server:${SPIRE_VERSION} AS spire

FROM gcr.io/distroless/cc-debian12
# SPIRE's layout and user (uid/gid 1000) as in its own image.
COPY --from=spire --chown=1000:1000 /opt/spire /opt/spire
COPY --from=spire --chown=1000:1000 /etc/spire /etc/spire
COPY --from=spire --chown=1000:1000 /run/spire /run/spire
COPY --from=spire --chown=1000:1000 /var/lib/spire /var/lib/spire
COPY --from=spire --chown=1000:1000 /tmp/spire-server /tmp/spire-server
# aws_iid by default; the same file named spire-aws-iam runs aws_iam (no plugin_args needed,
# docs/configuration.md#plugin-side-and-method). Same checksum for both names.
COPY --chmod=0755 spire-aws-iid /opt/spire/plugins/spire-aws-iid
COPY --chmod=0755 spire-aws-iid /opt/spire/plugins/spire-aws-iam
WORKDIR /opt/spire
# No passwd entry for 1000 in this base: container runtimes then set HOME=/, which the AWS SDK
# needs (it looks for ~/.aws/config). Set it here for runtimes that do not.
ENV HOME=/
USER 1000:1000
ENTRYPOINT ["/opt/spire/bin/spire-server", "run"]
