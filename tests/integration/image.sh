#!/usr/bin/env bash
# deploy/container/Containerfile, checked, then built. The recipe: two stages (build, then
# a Debian slim runtime), a numeric non-root USER, no remote ADD, apt lists removed, and a
# runtime stage that installs (itself or as a dependency) the Debian package of every
# shared library weft's binaries and plugins link directly, so that a new dependency cannot
# be forgotten there. The image: scripts/build-image.sh builds it with buildah on a
# debootstrapped Debian 12 base (kept for the next build) and checks that it runs as uid
# 10001, that its plugins load and that a workflow runs in it.
. "$(dirname "$0")/lib.sh"
cf="$WEFT_SRC/deploy/container/Containerfile"
expect "two stages: build, then the runtime" 2 "$(grep -c '^FROM ' "$cf")"
expect_grep "the build stage is named" '^FROM \$\{DEBIAN\} AS build$' "$cf"
expect_grep "the base is Debian 12 slim" '^ARG DEBIAN=docker.io/library/debian:bookworm-slim$' "$cf"
expect_grep "the runtime takes only the build's installation" '^COPY --from=build /opt/weft /opt/weft$' "$cf"
user=$(sed -n 's/^USER //p' "$cf" | tail -n 1)
expect_grep "the image runs as a numeric non-root user" '^[1-9][0-9]{3,}:[1-9][0-9]{3,}$' <(echo "$user")
[ "$(grep -cE '^ADD .*https?://' "$cf")" = 0 ] && ok "nothing is fetched by ADD" || fail "a remote ADD"
expect "every apt-get install skips recommends" "$(grep -c 'apt-get install' "$cf")" \
    "$(grep -c 'apt-get install -y --no-install-recommends' "$cf")"
expect "every stage removes apt's lists" 2 "$(grep -c 'rm -rf /var/lib/apt/lists/\*' "$cf")"
expect_grep ".containerignore leaves out the build trees and .git" '^build\*$' \
    "$WEFT_SRC/.containerignore"

# The runtime stage's packages: from its apt-get install to the next command.
runtime=$(awk '/^FROM \$\{DEBIAN\}$/ {on = 1} on' "$cf" |
    sed -n '/apt-get install/,/&& rm -rf/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
    grep -vE '^(apt-get|install|rm|rf|y)$' | sort -u)
# What they bring along: apt installs every package they depend on.
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $runtime 2>/dev/null | grep -E '^[a-z0-9]' | sort -u)
missing=""
for f in "$WEFT_BIN"/weft "$WEFT_BIN"/weft-scheduler "$WEFT_BIN"/weft-gateway "$WEFT_BIN"/weft-worker \
    "$WEFT_BIN"/weft-executor "$WEFT_PLUGIN_PATH"/*.so; do
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        case "$lib" in libc.so.*|libm.so.*|libgcc_s.so.*|libstdc++.so.*|ld-linux*|libdl.so.*|libpthread.so.*|libasan*|libubsan*) continue ;; esac
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
        grep -qx "$pkg" <<<"$closure" || missing="$missing $lib($pkg)"
    done
done
expect "the runtime stage brings the package of every library weft links" "" \
    "$(echo "$missing" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//')"

# The build itself, once per suite (the sanitizer run checks the same recipe): Debian's
# buildah, crun and debootstrap, as root (scripts/deps.sh installs them).
if [ "${WEFT_IMAGE_BUILD:-1}" = 0 ]; then
    echo "note: WEFT_IMAGE_BUILD=0: the image is not built"
elif [[ "$WEFT_BIN" == *asan* ]]; then
    echo "note: the image is built by the suite's plain run, not again under sanitizers"
elif [ "$(id -u)" -ne 0 ] || ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
    skip "building the image needs root, buildah and debootstrap (scripts/deps.sh installs them)"
else
    tag="localhost/weft:test-$$"
    "$WEFT_SRC/scripts/build-image.sh" "$tag" >"$T/build.log" 2>&1
    expect "the image builds and passes its checks (scripts/build-image.sh)" 0 $?
    grep -E '^(ok|FAIL|image)' "$T/build.log"
    # The image goes, and the build stage's layers with it (a gigabyte each build); the
    # debootstrapped base stays for the next build.
    STORAGE_DRIVER=vfs buildah rmi "$tag" >/dev/null 2>&1
    STORAGE_DRIVER=vfs buildah rmi --prune >/dev/null 2>&1
fi
finish
