#!/usr/bin/env bash
# deploy/systemd: the units pass `systemd-analyze verify`, and the command lines they run
# work: the scheduler's and a worker's ExecStart, their paths moved into this test's
# directory and the env files' values given, start a CURVE cluster that runs a workflow,
# and the gateway's serves it over HTTPS.
. "$(dirname "$0")/lib.sh"
unset WEFT_INSECURE
units="$WEFT_SRC/deploy/systemd"
if ! command -v systemd-analyze >/dev/null; then
    skip "systemd-analyze is not installed (Debian's systemd package): units not verified"
else
    mkdir -p "$T/units"
    for f in "$units"/*.service; do
        sed "s|/usr/local/bin/|$WEFT_BIN/|g" "$f" >"$T/units/$(basename "$f")"
    done
    ln -s weft-worker@.service "$T/units/weft-worker@w1.service"
    (cd "$T/units" && systemd-analyze verify ./weft-scheduler.service ./weft-worker@w1.service \
        ./weft-gateway.service) \
        >"$T/verify.txt" 2>&1
    expect "systemd-analyze verify accepts the units" 0 "$?"
    expect "... without a warning" "" "$(grep -v '^$' "$T/verify.txt")"
fi
for k in ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes "CapabilityBoundingSet="; do
    expect "every unit sets $k" 3 "$(grep -lx "$k" "$units"/*.service | wc -l)"
done
expect "the scheduler runs as its own user" "User=weft" \
    "$(grep -x 'User=weft' "$units/weft-scheduler.service")"

# ExecStart with the values the env files give, in this test's directory.
execstart() { # UNIT: its ExecStart command, paths and variables replaced
    sed -n 's/^ExecStart=//p' "$units/$1" | sed \
        -e "s|/usr/local/bin/|$WEFT_BIN/|" -e "s|/var/lib/weft|$T/state|g" \
        -e "s|/etc/weft/secrets|$T/secrets|g" -e "s|/etc/weft/task-secrets|$T/task-secrets|g" \
        -e "s|/etc/weft/workers/%i.key|$T/w1.key|g" \
        -e "s|/etc/weft/scheduler.key.pub|$T/state/scheduler.key.pub|g" \
        -e "s|%i|w1|g" -e "s|\${CACHE_DIRECTORY}|$T/cache-w1|" -e "s|\${WEFT_CACHE_SIZE}|1G|" \
        -e "s|\${WEFT_LISTEN}|$ep|" -e "s|\${WEFT_SCHEDULER}|$ep|" -e "s|\${WEFT_SLOTS}|2|" \
        -e "s|\${RUNTIME_DIRECTORY}|$T/run-w1|" -e "s|\${WEFT_HTTP_LISTEN}|$http|" \
        -e "s|/etc/weft/tls/|$T/tls-|g"
}
ep="tcp://127.0.0.1:$(free_port)"
http="https://127.0.0.1:$(free_port)"
mkdir -p "$T/secrets" "$T/task-secrets" "$T/run-w1"
chmod 700 "$T/run-w1"
read -ra cmd <<<"$(execstart weft-scheduler.service)"
"${cmd[@]}" >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
for _ in $(seq 100); do [ -S "$T/state/scheduler.sock" ] && break; sleep 0.05; done
"$weft" keys gen "$T/w1.key" >/dev/null || fail "keys gen"
"$weft" keys add w1 --role worker "$T/w1.key.pub" --state "$T/state" >/dev/null || fail "keys add"
read -ra cmd <<<"$(execstart weft-worker@.service)"
"${cmd[@]}" >"$T/worker-w1.log" 2>&1 &
PIDS+=("$!")
cat >"$T/hello.yaml" <<'EOF'
workflow: hello
tasks:
  hi: { type: shell, with: { argv: [echo, hello from a unit's worker] } }
EOF
"$weft" submit "$T/hello.yaml" --state "$T/state" --wait >/dev/null 2>&1
expect "a workflow runs on the cluster the units' command lines start" succeeded \
    "$(sql "$T/state" "SELECT state FROM runs WHERE id = 1")"
expect "... on the unit's worker" w1 "$(sql "$T/state" "SELECT worker FROM attempts LIMIT 1")"
# The gateway's unit, with a certificate made here: HTTPS with a token sees that run.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/tls-gateway.key" \
    -out "$T/tls-gateway.crt" 2>/dev/null
read -ra cmd <<<"$(execstart weft-gateway.service)"
"${cmd[@]}" >"$T/gateway.log" 2>&1 &
PIDS+=("$!")
token=$("$weft" keys token ops --role admin --state "$T/state" 2>/dev/null)
for _ in $(seq 100); do
    curl -s -o /dev/null --cacert "$T/tls-gateway.crt" "${http}/healthz" && break
    sleep 0.05
done
expect "the gateway's unit serves the runs over HTTPS" succeeded \
    "$(curl -s --cacert "$T/tls-gateway.crt" -H "Authorization: Bearer $token" \
        "${http}/api/v1/runs/1" | jq -r .state)"
