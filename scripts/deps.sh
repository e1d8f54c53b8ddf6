#!/bin/sh
# Installs the Debian packages weft needs to build and test, when any is missing; with
# arguments, those packages instead (scripts/glove.sh asks for npm this way).
# Safe to run repeatedly; does nothing when everything is present.
set -eu
BUILD_PKGS="build-essential cmake pkg-config libzmq3-dev libsodium-dev libprotobuf-c-dev \
protobuf-c-compiler libsqlite3-dev sqlite3 libyaml-dev libuv1-dev libcurl4-openssl-dev \
libjansson-dev libmicrohttpd-dev openssl \
libglpk-dev coinor-libcbc-dev coinor-libipopt-dev libamplsolver-dev libxgboost-dev liblinear-dev \
libfaiss-dev libopenblas-dev python3.11-doc \
clang libclang-rt-14-dev llvm \
jq python3 python3-aiosmtpd tzdata systemd \
slurmctld slurmd slurm-client munge netcat-openbsd awscli \
buildah crun debootstrap prometheus chromium wrk"
PKGS=${*:-$BUILD_PKGS}
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# Node.js and npm run the tests' validators: Debian's unless a Node.js with npm is there.
[ $# -eq 0 ] && ! command -v npm >/dev/null && missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    echo "weft: installing missing packages:$missing" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "weft: need root to install packages (run as root or install them yourself)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
# The npm packages the tests use (tests/node/package-lock.json), once.
node_dir="$(dirname "$0")/../tests/node"
if [ $# -eq 0 ] && { [ ! -d "$node_dir/node_modules/kubernetes-models" ] ||
    [ ! -d "$node_dir/node_modules/s3rver" ] ||
    [ ! -d "$node_dir/node_modules/@apidevtools/swagger-parser" ] ||
    [ ! -d "$node_dir/node_modules/playwright-core" ]; }; then
    echo "weft: installing the tests' npm packages into tests/node" >&2
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
