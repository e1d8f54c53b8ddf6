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

# bench_peak_kb OUT CMD [ARG...]: runs CMD with its output to OUT and prints its peak
# resident memory in KiB (its own and any child's it waited for), exiting with its status.
bench_peak_kb() {
    python3 - "$@" <<'PY'
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.execvp(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
