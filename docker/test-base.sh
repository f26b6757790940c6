#!/usr/bin/env bash
# Makes the base image the container test builds docker/Dockerfile on, where no image can be pulled:
# Debian bookworm (minbase, from Debian's mirror) plus this host's Node binary and npm, laid out as the
# official node images lay them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
# Usage: docker/test-base.sh [TAG]   (default localhost/mms-test-base:bookworm). Reused when it exists.
set -euo pipefail
tag="${1:-localhost/mms-test-base:bookworm}"
if podman image exists "$tag"; then echo "base image $tag exists"; exit 0; fi

# crun cannot run containers on hosts with hybrid cgroups, and podman's default ulimits fail there too.
conf=/etc/containers/containers.conf
if [ -w /etc/containers ] && ! grep -qs 'default_ulimits' "$conf"; then
  printf '[containers]\ndefault_ulimits = []\n' >>"$conf"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# tini is the image's init; ca-certificates lets npm reach the registry over TLS.
mmdebstrap --quiet --variant=minbase --include=ca-certificates,tini bookworm "$work/rootfs.tar"
podman --runtime runc import "$work/rootfs.tar" localhost/mms-test-debian:bookworm >/dev/null

node_bin="$(command -v node)"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
mkdir -p "$work/ctx"
cp "$node_bin" "$work/ctx/node"
cp -r "$npm_dir" "$work/ctx/npm"
cat >"$work/ctx/Containerfile" <<'EOF'
FROM localhost/mms-test-debian:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
EOF
podman --runtime runc build --quiet --network host -t "$tag" "$work/ctx" >/dev/null
podman image rm localhost/mms-test-debian:bookworm >/dev/null
echo "base image $tag built"
