#!/usr/bin/env bash
# Makes the base image the container test builds docker/Dockerfile on, where no image can be pulled:
# Debian bookworm (minbase, from Debian's mirror) plus this host's Node binary and npm, laid out as the
# official node images lay them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
# Usage: docker/test-base.sh [TAG]   (default localhost/mms-test-base:bookworm). Reused when it exists.
set -euo pipefail
tag="${1:-localhost/mms-test-base:bookworm}"
# One build at a time (.ci/run starts one early; the test waits for it, then finds the image).
exec 9>"${TMPDIR:-/tmp}/mms-test-base.lock"
flock 9
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

mkdir -p "$work/ctx"
cp "$(command -v node)" "$work/ctx/node"
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$work/ctx/npm"
# npm in the build reaches the registry as this host's npm does: its registry and CA bundle (a
# TLS-inspecting proxy's CA may be only there), cached metadata first (the test mounts the host's cache).
cafile="$(npm config get cafile 2>/dev/null || true)"
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then cp "$cafile" "$work/ctx/npm-ca.crt"; else : >"$work/ctx/npm-ca.crt"; fi
registry="$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)"
{
  echo 'FROM localhost/mms-test-debian:bookworm'
  echo 'COPY node /usr/local/bin/node'
  echo 'COPY npm /usr/local/lib/node_modules/npm'
  echo 'COPY npm-ca.crt /etc/ssl/certs/npm-ca.crt'
  echo 'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version'
  echo "ENV npm_config_registry=$registry npm_config_prefer_offline=true"
  if [ -s "$work/ctx/npm-ca.crt" ]; then echo 'ENV npm_config_cafile=/etc/ssl/certs/npm-ca.crt'; fi
} >"$work/ctx/Containerfile"
podman --runtime runc build --quiet --network host -t "$tag" "$work/ctx" >/dev/null
podman image rm localhost/mms-test-debian:bookworm >/dev/null
echo "base image $tag built"
