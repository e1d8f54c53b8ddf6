#!/usr/bin/env bash
# Notifications against real local servers: an HTTP server (hook_server.py) and an SMTP
# server (Debian's python3-aiosmtpd, writing a maildir). A failed run's webhook carries the
# failed task, its class, message and log tail, signed with HMAC-SHA256 that Python's hmac
# verifies; Slack gets blocks; the email has the subject and body. A 500-then-200 endpoint
# gets the notification once after a retry; a 10-second-slow endpoint does not delay the
# dispatch of other tasks (a chain's duration with and without it); a notification queued
# while its endpoint is down survives a kill -9 of the scheduler and is delivered after the
# restart; a secret the scheduler lacks is named in the attempt's error.
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
hook_port=$(free_port)
smtp_port=$(free_port)
down_port=$(free_port)
hooks="http://127.0.0.1:$hook_port"
mkdir -p "$T/hooks" "$T/mail/tmp" "$T/mail/new" "$T/mail/cur" "$T/secrets/default"
"$py" "$WEFT_SRC/tests/integration/hook_server.py" "$hook_port" "$T/hooks" >"$T/hook-server.out" 2>&1 &
PIDS+=($!)
# aiosmtpd ends with status 0 on SIGTERM only when told to: run it from a wrapper that is.
"$py" -c 'import os, signal, sys
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
sys.argv = ["aiosmtpd"] + sys.argv[1:]
from aiosmtpd.main import main
main()' -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$T/mail" \
    >"$T/smtp-server.out" 2>&1 &
PIDS+=($!)
printf 'hook-key-0123456789' >"$T/secrets/default/hook-key" # project default's secrets
chmod 600 "$T/secrets/default/hook-key"
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure \
    --secrets-dir "$T/secrets" >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
start_worker w1 "$ep" 4
wait_for_workers "$ep" 1 || exit 1
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$hook_port) 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$smtp_port) 2>/dev/null && break; sleep 0.1; done
w() { "$weft" "$@" --scheduler "$ep"; }
# requests PATH: the requests the hook server got on PATH, one JSON object a line.
requests() { grep -F "\"path\": \"$1\"" "$T/hooks/requests.jsonl" 2>/dev/null; }
# wait_state RUN STATE N: until N notifications of RUN are in STATE.
wait_state() {
    for _ in $(seq 300); do
        [ "$(sql "$state" "SELECT count(*) FROM notifications WHERE run_id = $1 AND
            state = '$2'")" -ge "$3" ] && return 0
        sleep 0.1
    done
    fail "run $1: $3 notifications never reached $2"
}

# ---- a failed run: webhook (signed), Slack and email ----
cat >"$T/fails.yaml" <<EOF
workflow: fails
notify:
  - type: webhook
    url: $hooks/ok/fails
    secret: hook-key
    headers: { X-Team: forecast }
    on: [started, retrying, task_failed, failed]
  - { type: slack, url: "$hooks/ok/slack", on: failed }
  - type: email
    smtp: smtp://127.0.0.1:$smtp_port
    from: weft@example.com
    to: [ops@example.com, ml@example.com]
tasks:
  train:
    type: shell
    retry: { max_attempts: 2, interval: 100ms, on: [fatal] }
    with: { argv: [sh, -c, 'for i in \$(seq 1 30); do echo "line \$i"; done; exit 3'] }
EOF
w submit "$T/fails.yaml" --wait >/dev/null 2>&1
run=$(sql "$state" "SELECT max(id) FROM runs")
expect "the run failed" failed "$(sql "$state" "SELECT state FROM runs WHERE id = $run")"
wait_state "$run" delivered 6
expect "events queued once each: started, retrying, task_failed, failed x3 targets" \
    "failed|3 retrying|1 started|1 task_failed|1" \
    "$(sql "$state" "SELECT event || '|' || count(*) FROM notifications WHERE run_id = $run
        GROUP BY event ORDER BY event" | tr '\n' ' ' | sed 's/ $//')"
req=$(requests /ok/fails | "$py" -c 'import json,sys
for l in sys.stdin:
    r = json.loads(l)
    if json.loads(r["body"])["event"] == "failed": print(l.strip())')
body=$(jq -r .body <<<"$req")
expect "webhook: the event" failed "$(jq -r .event <<<"$body")"
expect "webhook: the run and workflow" "$run fails" "$(jq -r '"\(.run) \(.workflow)"' <<<"$body")"
expect "webhook: the failed task and its class" "train fatal" \
    "$(jq -r '.failed_tasks[0] | "\(.task) \(.class)"' <<<"$body")"
expect_text "webhook: its message" "exited with status 3" "$(jq -r '.failed_tasks[0].message' <<<"$body")"
tail_text=$(jq -r '.failed_tasks[0].log_tail' <<<"$body")
expect_text "webhook: the log tail ends with the last line" "line 30" "$tail_text"
expect "webhook: the log tail is the last 20 lines" "20 0" \
    "$(awk 'END { print NR }' <<<"$tail_text") $(grep -c '^line 10$' <<<"$tail_text")"
expect "webhook: how to retry" "weft retry $run" "$(jq -r .retry <<<"$body")"
expect "webhook: the target's header" forecast "$(jq -r '.headers["X-Team"]' <<<"$req")"
expect "webhook: the delivery key" "run-$run-failed#0" "$(jq -r '.headers["X-Weft-Delivery"]' <<<"$req")"
verdict=$(jq -c '{sig: .headers["X-Weft-Signature"], ts: .headers["X-Weft-Timestamp"], body: .body}' <<<"$req" |
    "$py" -c 'import hmac, hashlib, json, sys, time
r = json.load(sys.stdin)
want = "sha256=" + hmac.new(b"hook-key-0123456789", (r["ts"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
fresh = abs(time.time() - int(r["ts"])) < 300
print("valid" if hmac.compare_digest(want, r["sig"]) and fresh else "invalid " + r["sig"] + " " + want)')
expect "webhook: the HMAC-SHA256 signature verifies with Python's hmac (and is fresh)" valid "$verdict"
forged=$(jq -c '{sig: .headers["X-Weft-Signature"], ts: .headers["X-Weft-Timestamp"], body: .body}' <<<"$req" |
    "$py" -c 'import hmac, hashlib, json, sys
r = json.load(sys.stdin)
want = "sha256=" + hmac.new(b"hook-key-0123456789", (r["ts"] + "." + r["body"] + " ").encode(), hashlib.sha256).hexdigest()
print("valid" if hmac.compare_digest(want, r["sig"]) else "invalid")')
expect "... and a changed body does not" invalid "$forged"
slack=$(requests /ok/slack | head -n 1 | jq -r .body)
expect "slack: a header block and a section block" "header section" \
    "$(jq -r '[.blocks[].type] | join(" ")' <<<"$slack")"
expect_text "slack: the text names the run" "run $run of fails failed" "$(jq -r .text <<<"$slack")"
for _ in $(seq 50); do [ -n "$(ls "$T/mail/new" 2>/dev/null)" ] && break; sleep 0.1; done
mail=$(cat "$T/mail/new/"* 2>/dev/null)
expect_text "email: the subject" "^Subject: \[weft\] run $run of fails failed" "$mail"
expect_text "email: both recipients" "^To: ops@example.com, ml@example.com" "$mail"
expect_text "email: the body has the task's error" "train: fatal: .*exited with status 3" "$mail"
expect_text "email: and its log tail" "line 30" "$mail"
expect_text "weft notifications lists them delivered" "failed +email +delivered" "$(w notifications "$run")"

# ---- 500, then 200: delivered once, after a retry ----
cat >"$T/flaky.yaml" <<EOF
workflow: flaky
notify: [ { type: webhook, url: "$hooks/flaky/1", on: succeeded } ]
tasks:
  t: { type: noop }
EOF
w submit "$T/flaky.yaml" --wait >/dev/null || fail "flaky run"
run=$(sql "$state" "SELECT max(id) FROM runs")
wait_state "$run" delivered 1
expect "500-then-200: two requests, the second answered 200" "500 200" \
    "$(requests /flaky/1 | jq -r .status | tr '\n' ' ' | sed 's/ $//')"
expect "... with the same delivery key" 1 \
    "$(requests /flaky/1 | jq -r '.headers["X-Weft-Delivery"]' | sort -u | wc -l)"
expect "... each attempt recorded" "1|500|the endpoint answered HTTP 500 2|200|" \
    "$(sql "$state" "SELECT number || '|' || status || '|' || coalesce(error, '') FROM notification_attempts
        WHERE notification_id = (SELECT id FROM notifications WHERE run_id = $run) ORDER BY number" |
        tr '\n' ' ' | sed 's/ $//')"

# ---- a 10-second-slow endpoint does not delay dispatch ----
chain() { # FILE NAME NOTIFY_URL
    {
        echo "workflow: $2"
        [ -n "$3" ] && echo "notify: [ { type: webhook, url: \"$3\", on: started } ]"
        echo "tasks:"
        for i in $(seq 0 19); do
            echo "  t$i: { type: noop$([ "$i" -gt 0 ] && echo ", needs: [t$((i - 1))]") }"
        done
    } >"$1"
}
duration_ms() { sql "$state" "SELECT (finished_us - created_us) / 1000 FROM runs WHERE id = $1"; }
chain "$T/chain.yaml" chain ""
chain "$T/slowhook.yaml" slowhook "$hooks/slow/1"
w submit "$T/chain.yaml" --wait >/dev/null || fail "chain run"
quiet=$(duration_ms "$(sql "$state" "SELECT max(id) FROM runs")")
w submit "$T/slowhook.yaml" >/dev/null || fail "slow hook run"
slow_run=$(sql "$state" "SELECT max(id) FROM runs")
sleep 0.5 # its notification is now in flight, the endpoint holding it for 10 s
w submit "$T/chain.yaml" --wait >/dev/null || fail "chain run beside the slow endpoint"
busy=$(duration_ms "$(sql "$state" "SELECT max(id) FROM runs")")
echo "a chain of 20 tasks: ${quiet} ms alone, ${busy} ms while a notification waits 10 s for its endpoint"
at_most "the chain beside the slow endpoint takes at most 3x its time alone + 500 ms" \
    $((quiet * 3 + 500)) "$busy"
expect "... and the slow endpoint had not answered yet" 0 \
    "$(requests /slow/1 | wc -l)"
wait_state "$slow_run" delivered 1

# ---- killed between queueing and delivery: delivered after the restart ----
cat >"$T/down.yaml" <<EOF
workflow: down
notify: [ { type: webhook, url: "http://127.0.0.1:$down_port/ok/down", on: succeeded } ]
tasks:
  t: { type: noop }
EOF
w submit "$T/down.yaml" --wait >/dev/null || fail "down run"
run=$(sql "$state" "SELECT max(id) FROM runs")
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT coalesce(max(attempts), 0) FROM notifications
        WHERE run_id = $run")" -ge 1 ] && break
    sleep 0.1
done
expect "an endpoint that is down: the notification waits" pending \
    "$(sql "$state" "SELECT state FROM notifications WHERE run_id = $run")"
kill_scheduler
mkdir -p "$T/hooks2"
"$py" "$WEFT_SRC/tests/integration/hook_server.py" "$down_port" "$T/hooks2" >"$T/hook-server2.out" 2>&1 &
PIDS+=($!)
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure \
    --secrets-dir "$T/secrets" >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
wait_state "$run" delivered 1
expect "... and is delivered once after the restart" 1 \
    "$(grep -c '"/ok/down"' "$T/hooks2/requests.jsonl")"

# ---- an approval waiting: whoever must decide it is told how ----
cat >"$T/gate.yaml" <<EOF
workflow: gate
notify:
  - { type: webhook, url: "$hooks/ok/gate", on: [approval] }
  - type: email
    smtp: smtp://127.0.0.1:$smtp_port
    from: weft@example.com
    to: [ml@example.com]
    on: [approval]
tasks:
  ok: { type: approve, with: { message: "Ship the model?" } }
EOF
w submit "$T/gate.yaml" >/dev/null || fail "gate run"
run=$(sql "$state" "SELECT max(id) FROM runs")
wait_state "$run" delivered 2
body=$(requests /ok/gate | jq -r .body)
expect "an approval waiting is notified, naming the task and its question" \
    "approval ok waiting for approval: Ship the model?" \
    "$(jq -r '"\(.event) \(.task.task) \(.task.message)"' <<<"$body")"
cat "$T"/mail/new/* >"$T/mails.txt"
expect_grep "... the email says how to decide it" \
    "decide it: weft signal $run ok --approve \| --reject REASON" "$T/mails.txt"
w signal "$run" ok --reject "not this one" >/dev/null || fail "reject gate"

# ---- a secret the scheduler does not have ----
cat >"$T/nokey.yaml" <<EOF
workflow: nokey
notify: [ { type: webhook, url: "$hooks/ok/nokey", secret: no-such-key, on: succeeded } ]
tasks:
  t: { type: noop }
EOF
w submit "$T/nokey.yaml" --wait >/dev/null || fail "nokey run"
run=$(sql "$state" "SELECT max(id) FROM runs")
for _ in $(seq 100); do
    [ -n "$(sql "$state" "SELECT last_error FROM notifications WHERE run_id = $run")" ] && break
    sleep 0.1
done
expect_text "a missing secret is named in the attempt's error" \
    "secret 'no-such-key' is not available on the scheduler for project 'default'" \
    "$(w notifications "$run")"
expect "... and nothing was sent" 0 "$(requests /ok/nokey | wc -l)"

# ---- a project reads only its own secrets ----
cat >"$T/other.yaml" <<EOF
workflow: other
notify: [ { type: webhook, url: "$hooks/ok/other", secret: hook-key, on: succeeded } ]
tasks:
  t: { type: noop }
EOF
w submit "$T/other.yaml" --project other --wait >/dev/null || fail "other run"
run=$(sql "$state" "SELECT max(id) FROM runs")
for _ in $(seq 100); do
    [ -n "$(sql "$state" "SELECT last_error FROM notifications WHERE run_id = $run")" ] && break
    sleep 0.1
done
expect_text "another project's run cannot use project default's signing key" \
    "secret 'hook-key' is not available on the scheduler for project 'other'" \
    "$(w notifications "$run")"
expect "... and nothing was sent" 0 "$(requests /ok/other | wc -l)"
