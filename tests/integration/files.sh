#!/usr/bin/env bash
# Files: daemons run with umask 077, so the catalogue, its WAL, task logs, artifacts, keys and
# the state and work directories are their user's alone; the worker's default work directory
# is made by mkdtemp, never a predictable shared path; a work directory owned by someone else,
# or a symlink, is refused. Checked as a second, unprivileged local user made by the test:
# it can read nothing in the state directory and plant nothing in the work directory.
# Control characters in a task's log reach neither the terminal nor the daemon log raw.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
    skip "needs root, useradd and runuser to make a second user"
    exit 0
fi
other="wefttest$$"
useradd --system --no-create-home --shell /usr/sbin/nologin "$other" || { fail "useradd"; exit 1; }
trap 'userdel "$other" 2>/dev/null; cleanup' EXIT
as_other() { runuser -u "$other" -- "$@"; }
# The test's directory is traversable, like a home or /srv, and has a shared tmp like /tmp.
chmod 755 "$T"
mkdir -m 1777 "$T/tmp"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
TMPDIR="$T/tmp" "$WEFT_BIN/weft-worker" --scheduler "$ep" --name files --slots 1 \
    --plugin-path "$WEFT_PLUGIN_PATH" --heartbeat 200 >"$T/worker-files.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 1 || exit 1

printf 'line one\n' >"$T/input.txt"
cat >"$T/wf.yaml" <<YAML
workflow: files
params:
  data: { type: file, default: "$T/input.txt" }
tasks:
  talk:
    type: shell
    with:
      argv: [sh, -c, 'printf "TOKEN-4711\n\033[31mred\033[0m and a bell\a\n"; cat "\$IN"']
      env: { IN: "\${params.data}" }
YAML
"$weft" submit "$T/wf.yaml" --scheduler "$ep" --wait >/dev/null || fail "run"

mode() { stat -c %a "$1"; }
expect "the state directory is 0700" 700 "$(mode "$state")"
expect "the catalogue is 0600" 600 "$(mode "$state/catalog.db")"
expect "its WAL is 0600" 600 "$(mode "$state/catalog.db-wal")"
expect "the lock file is 0600" 600 "$(mode "$state/scheduler.lock")"
expect "the ipc socket is 0600" 600 "$(mode "$state/scheduler.sock")"
log=$(ls "$state"/logs/1/*)
expect "a task log is 0600" 600 "$(mode "$log")"
expect "the logs directory is 0700" 700 "$(mode "$state/logs")"
blob=$(find "$state/artifacts" -type f ! -path "$state/artifacts/tmp/*" ! -name store-id | head -n 1)
expect "an artifact is 0400" 400 "$(mode "$blob")"
work=$(ls -d "$T"/tmp/weft-worker-files.* 2>/dev/null | head -n 1)
expect_grep "the worker's default work directory is made by mkdtemp" 'weft-worker-files\.[A-Za-z0-9]{6}$' <(echo "$work")
expect "... and is 0700" 700 "$(mode "$work")"
[ -e "$T/tmp/weft-worker-files" ] && fail "a predictable work directory exists" || ok "no predictable work directory"

# The second user reads nothing and plants nothing.
for f in "$state/catalog.db" "$state/catalog.db-wal" "$log" "$state/scheduler.key" "$blob"; do
    if as_other cat "$f" >/dev/null 2>&1; then fail "$other can read $f"; else ok "$other cannot read $(basename "$f")"; fi
done
if as_other ls "$state" >/dev/null 2>&1; then fail "$other can list the state directory"; else ok "$other cannot list the state directory"; fi
if as_other ln -s /etc/passwd "$work/logs/99.log" 2>/dev/null; then fail "$other planted a link in the work directory"; else ok "$other cannot plant a link in the work directory"; fi
if as_other "$WEFT_BIN/weft" status --scheduler "ipc://$state/scheduler.sock" --timeout 2s >/dev/null 2>&1; then
    fail "$other talked to the scheduler's local socket"
else
    ok "$other cannot use the scheduler's local socket"
fi

# A work directory that is not ours, or a symlink, is refused.
mkdir "$T/theirs" && chown "$other" "$T/theirs"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name theirs --work-dir "$T/theirs" >"$T/theirs.txt" 2>&1
expect "a worker refuses a work directory owned by another user" 1 "$?"
expect_grep "... saying whose it is" "is owned by uid [0-9]+, not by this user" "$T/theirs.txt"
ln -s "$T/theirs" "$T/link"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name link --work-dir "$T/link" >"$T/link.txt" 2>&1
expect "a worker refuses a symlinked work directory" 1 "$?"
expect_grep "... saying why" "is a symlink or not a directory" "$T/link.txt"
mkdir -m 755 "$T/open"
"$WEFT_BIN/weft-scheduler" --state "$T/open" --listen "tcp://127.0.0.1:$(free_port)" --insecure \
    >"$T/open.log" 2>&1 &
open_pid=$!
for _ in $(seq 50); do [ -S "$T/open/scheduler.sock" ] && break; sleep 0.1; done
expect "a state directory open to others is made private" 700 "$(mode "$T/open")"
kill "$open_pid"; wait "$open_pid"

# Control characters: escaped for the terminal and in the daemon's log.
"$weft" logs 1 talk --scheduler "$ep" >"$T/logs.txt"
expect_grep "weft logs shows the log" "TOKEN-4711" "$T/logs.txt"
if grep -q $'\033' "$T/logs.txt" || grep -q $'\a' "$T/logs.txt"; then
    fail "weft logs wrote raw control characters"
else
    ok "weft logs escapes control characters"
fi
expect_grep "... as \\xNN" '\\x1b\[31mred' "$T/logs.txt"
"$weft" logs 1 talk --scheduler "$ep" --json | grep -qi '\\u001b' && ok "--json keeps the log as it is" || fail "--json changed the log"
