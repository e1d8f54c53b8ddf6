#!/usr/bin/env bash
# Builds weft's container image (deploy/container/Containerfile) with Debian's buildah, as
# root, where no registry is reachable: the Debian 12 base comes from debootstrap and
# Debian's mirror, kept in buildah's storage as localhost/debian:bookworm-slim for the next
# build. Then checks the image: it runs as uid 10001, not root; its binaries start; its
# plugins load. Prints the image's size.
#   scripts/build-image.sh [TAG]     (default weft:latest)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-weft:latest}
base=localhost/debian:bookworm-slim
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} # works without overlay mounts, e.g. in a container
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot} # and without a cgroup manager
command -v buildah >/dev/null && command -v crun >/dev/null && command -v debootstrap >/dev/null ||
    "$root/scripts/deps.sh" buildah crun debootstrap
if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "weft: making the base image $base with debootstrap" >&2
    debootstrap --variant=minbase bookworm "$tmp/rootfs" http://deb.debian.org/debian >&2
    rm -rf "$tmp"/rootfs/var/cache/apt/archives/*.deb "$tmp"/rootfs/var/lib/apt/lists/*
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    cp -a "$tmp/rootfs/." "$mnt/"
    buildah umount "$ctr" >/dev/null
    buildah config --cmd /bin/bash "$ctr"
    buildah commit --quiet "$ctr" "$base" >/dev/null
    buildah rm "$ctr" >/dev/null
fi
buildah bud --layers --build-arg DEBIAN="$base" -f "$root/deploy/container/Containerfile" \
    -t "$tag" "$root"
fail=0
check() { # WHAT EXPECTED GOT
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: expected '$2', got '$3'"; fail=1; fi
}
check "the image runs as the weft user" "10001:10001" \
    "$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$tag")"
ctr=$(buildah from "$tag")
check "... which is not root" 10001 "$(buildah run "$ctr" -- id -u)"
check "the CLI starts" 0 "$(buildah run "$ctr" -- weft --help >/dev/null 2>&1; echo $?)"
check "its plugins load" yes "$(buildah run "$ctr" -- weft plugins 2>&1 | grep -q '^train ' && echo yes)"
check "a workflow runs in it (weft run)" 0 "$(buildah run "$ctr" -- sh -c 'cd /tmp &&
    printf "workflow: w\ntasks:\n  a: { type: echo, with: { x: 1 } }\n" >w.yaml &&
    weft run w.yaml >/dev/null 2>&1; echo $?')"
check "the gateway starts, with its OpenAPI document" 0 "$(buildah run "$ctr" -- sh -c \
    'weft-gateway --routes | grep -q "^GET /metrics$" &&
     test -s /opt/weft/share/weft/gateway/openapi.yaml'; echo $?)"
buildah rm "$ctr" >/dev/null
echo "image $tag: $(buildah images --format '{{.Size}}' "$tag" | head -n 1)"
exit "$fail"
