# What the benchmarks share. Source it after setting root (the repository) and build (the
# build directory measured).

# Stops with a hint when the build has no weft binary.
bench_need_build() {
    [ -x "$build/bin/weft" ] || { echo "build weft first (scripts/test or cmake --build build)"; exit 2; }
}

# bench_header [SETUP]: the machine and the weft build a benchmark ran on, and its setup.
bench_header() {
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)," \
         "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "weft: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
         "build $(basename "$build")${1:+, $1}"
}
