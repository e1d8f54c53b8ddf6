#!/usr/bin/env bash
# Schedules on a real scheduler, with seconds-granular `every:` so nothing sleeps real
# minutes: slots fire at their instants with their ${schedule.*}; the scheduler killed with
# SIGKILL ten times around fire instants neither repeats nor loses a slot (checked from the
# catalogue); catchup none/last/all after a 10-slot outage fire 0, 1 and 10 runs;
# max_active_runs: 1 runs slots one at a time, in order; pause and resume; a backfill of
# 24 hourly slots runs 24 runs with the right ${schedule.time}, is skipped when run again
# and rerun with --rerun; and bad requests are refused with their reason, changing nothing.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 4
wait_for_workers "$ep" 1 || exit 1
w() { "$weft" "$@" --scheduler "$ep"; }
# wait_until SQL VALUE [TENTHS]: until the catalogue query prints VALUE.
wait_until() {
    for _ in $(seq "${3:-300}"); do
        [ "$(sql "$state" "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    fail "waited for [$1] to be $2; it is $(sql "$state" "$1")"
    return 1
}
# sid NAME: the id of the live schedule NAME.
sid() { sql "$state" "SELECT id FROM schedules WHERE name = '$1' AND removed_us IS NULL"; }
# Sleeps until FRAC (in 1/100 s) past the next whole second.
sleep_to_frac() {
    local now frac
    now=$(date +%s%N)
    frac=$(( (1000000000 + $1 * 10000000 - now % 1000000000) % 1000000000 ))
    sleep "$(printf '0.%09d' "$frac")"
}

every_wf() { # NAME CATCHUP MAX_ACTIVE SLEEP [EVERY]
    cat >"$T/$1.yaml" <<EOF
workflow: $1
schedule: { every: ${5:-1s}, catchup: $2, max_active_runs: $3 }
tasks:
  t:
    type: shell
    retry: { max_attempts: 3, interval: 100ms, on: [lost, crash] } # the kills below
    with: { argv: [sh, -c, 'echo "\$1 \$2 \$3"; sleep $4', sh, '\${schedule.time}',
                   '\${schedule.interval_start}', '\${schedule.interval_end}'] }
EOF
}

# ---- bad requests: refused with the reason, nothing recorded ----
cat >"$T/plain.yaml" <<'EOF'
workflow: plain
tasks:
  t: { type: noop }
EOF
out=$(w schedule add "$T/plain.yaml" 2>&1); rc=$?
expect "a workflow without schedule: is refused (exit)" 2 "$rc"
expect_text "... with the reason" "plain.yaml has no schedule: give the workflow a schedule:" "$out"
every_wf ticks all 20 0
out=$(w schedule add "$T/ticks.yaml" --name 'bad name!' 2>&1); rc=$?
expect "a bad schedule name is refused (exit)" 2 "$rc"
expect_text "... with the reason" "a schedule's name is 1 to 64 characters" "$out"
out=$(w schedule pause nosuch 2>&1); rc=$?
expect "pausing an unknown schedule is refused (exit)" 2 "$rc"
expect_text "... with the reason" "no schedule 'nosuch'" "$out"
out=$(w backfill "$T/ticks.yaml" --from 2026-01-02T00:00:00Z --to 2026-01-01T00:00:00Z 2>&1); rc=$?
expect "a backfill whose --from is after --to is refused (exit)" 2 "$rc"
expect_text "... with the reason" "--from is after --to" "$out"
out=$(w backfill "$T/ticks.yaml" --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z 2>&1); rc=$?
expect "a backfill of more than 10000 slots is refused (exit)" 2 "$rc"
expect_text "... with the reason" "more than 10000 slots" "$out"
out=$(w backfill "$T/ticks.yaml" --from yesterday --to 2026-01-02T00:00:00Z 2>&1); rc=$?
expect "a backfill with a bad time is refused (exit)" 2 "$rc"
expect "nothing was recorded by the refusals" "0|0|0" \
    "$(sql "$state" "SELECT (SELECT count(*) FROM schedules), (SELECT count(*) FROM fires),
        (SELECT count(*) FROM runs)")"

# ---- firing: slots at their instants, with their ${schedule.*} ----
w schedule add "$T/ticks.yaml" >/dev/null || fail "schedule add"
out=$(w schedule add "$T/ticks.yaml" 2>&1); rc=$?
expect "a second schedule of the same name is refused (exit)" 2 "$rc"
expect_text "... with the reason" "a schedule named 'ticks' exists" "$out"
ticks=$(sid ticks)
wait_until "SELECT count(*) >= 3 FROM runs WHERE schedule_id = $ticks AND state = 'succeeded'" 1
first=$(sql "$state" "SELECT min(logical_s) FROM runs WHERE schedule_id = $ticks")
log=$(w logs "$(sql "$state" "SELECT id FROM runs WHERE logical_s = $first AND schedule_id = $ticks")" t)
slot=$(date -u -d "@$first" +%Y-%m-%dT%H:%M:%SZ)
prev=$(date -u -d "@$((first - 1))" +%Y-%m-%dT%H:%M:%SZ)
expect_text "a fired run gets its slot as \${schedule.time} and its interval" "$slot $prev $slot" "$log"
expect "no run was created before its slot" 0 \
    "$(sql "$state" "SELECT count(*) FROM runs WHERE schedule_id = $ticks AND created_us < logical_s * 1000000")"
expect_text "weft list --schedule lists its runs" "ticks" "$(w list --schedule ticks)"
expect_text "weft status shows its schedule and slot" "schedule: ticks, slot $slot" \
    "$(w status "$(sql "$state" "SELECT id FROM runs WHERE logical_s = $first AND schedule_id = $ticks")")"
expect_text "weft schedule ls shows it active with its next fire" "ticks .* cron .* active .* every 1s" \
    "$(w schedule ls)"

# ---- kill -9 ten times around fire instants: no slot repeated or lost ----
for k in $(seq 10); do
    sleep_to_frac $(( (k % 2) ? 97 : 2 )) # just before or just after a slot
    kill_scheduler
    [ $((k % 3)) -eq 0 ] && sleep 0.6
    start_scheduler "$state" "$ep"
    sleep 0.3
done
sleep 1.5
w schedule pause ticks >/dev/null || fail "pause"
wait_until "SELECT count(*) FROM runs WHERE schedule_id = $ticks AND state = 'running'" 0
read -r lo hi n distinct <<<"$(sql "$state" "SELECT min(slot_s), max(slot_s), count(*),
    count(DISTINCT slot_s) FROM fires WHERE schedule_id = $ticks" | tr '|' ' ')"
expect "slots fired across 10 kills: none lost (every second from first to last)" \
    $((hi - lo + 1)) "$n"
expect "... none fired twice" "$n" "$distinct"
expect "... each slot started exactly one run" "$n" \
    "$(sql "$state" "SELECT count(DISTINCT logical_s) FROM runs WHERE schedule_id = $ticks")"
expect "... no slot has two runs" 0 \
    "$(sql "$state" "SELECT count(*) FROM (SELECT logical_s FROM runs WHERE schedule_id = $ticks
        GROUP BY logical_s HAVING count(*) > 1)")"
expect "... every fired slot's row names its run" 0 \
    "$(sql "$state" "SELECT count(*) FROM fires f LEFT JOIN runs r ON r.id = f.run_id
        WHERE f.schedule_id = $ticks AND (r.id IS NULL OR r.logical_s != f.slot_s)")"
expect "... and every run succeeded" "" \
    "$(sql "$state" "SELECT id || ': ' || state || ': ' || coalesce(error, '') FROM runs
        WHERE schedule_id = $ticks AND state != 'succeeded'")"
at_least "... over the kills, slots fired" 12 "$n"

# ---- pause and resume ----
paused_at=$(sql "$state" "SELECT max(slot_s) FROM fires WHERE schedule_id = $ticks")
sleep 2.5
expect "a paused schedule fires nothing" "$paused_at" \
    "$(sql "$state" "SELECT max(slot_s) FROM fires WHERE schedule_id = $ticks")"
expect_text "weft schedule ls shows it paused" "ticks .* paused" "$(w schedule ls)"
w schedule rm ticks >/dev/null || fail "rm"
expect_text "a removed schedule is listed with --all" "ticks .* removed" "$(w schedule ls --all)"
expect "... but not without" "" "$(w schedule ls | grep ticks)"

# ---- catchup after a 10-slot outage: none 0, last 1, all 10 ----
# Slots every 2 s, so that a restart slow to start (sanitizers, a busy machine) has 1.7 s
# before the outage would take in an 11th slot.
for c in none last all; do
    every_wf "c$c" "$c" 20 0 2s
    w schedule add "$T/c$c.yaml" >/dev/null || fail "add c$c"
done
wait_until "SELECT count(DISTINCT schedule_id) FROM fires WHERE schedule_id IN
    (SELECT id FROM schedules WHERE name LIKE 'c%' AND removed_us IS NULL)" 3
now=$(date +%s%N)
sleep "$(awk -v n="$now" 'BEGIN { s = n / 1e9; printf "%.3f", (int(s / 2) + 1) * 2 + 0.3 - s }')"
kill_scheduler # at L + 0.3 s, L the last slot fired (an even second)
sleep 20 # restart at L + 20.3 s: slots L+2 .. L+20, ten of them, were missed
start_scheduler "$state" "$ep"
sleep 2.5
for c in none:0 last:1 all:10; do
    name=c${c%%:*}
    id=$(sid "$name")
    # The slots fired in the outage: after L, the cursor at the kill, up to L + 20 (the
    # first slot after the restart is due, not missed).
    L=$(grep -h "schedule $name: slots from" "$T/scheduler.log" | sed -n 's/.*slots from \([^ ]*\) to.*/\1/p' | head -n 1)
    Ls=$(date -d "$L" +%s 2>/dev/null || echo 0)
    got=$(sql "$state" "SELECT count(*) FROM fires WHERE schedule_id = $id AND slot_s > $Ls
        AND slot_s <= $Ls + 20")
    expect "catchup ${c%%:*} after a 10-slot outage fires" "${c##*:}" "$got"
    expect_text "... and the log says so" \
        "schedule $name: slots from .* were missed; catchup ${c%%:*} fired ${c##*:}" \
        "$(cat "$T/scheduler.log")"
done
for c in none last all; do w schedule rm "c$c" >/dev/null; done

# ---- max_active_runs: 1: one at a time, in order ----
every_wf serial all 1 1.5
w schedule add "$T/serial.yaml" >/dev/null || fail "add serial"
serial=$(sid serial)
wait_until "SELECT count(*) >= 3 FROM runs WHERE schedule_id = $serial AND state = 'succeeded'" 1 200
at_least "slots queue behind a running one" 1 \
    "$(sql "$state" "SELECT count(*) FROM fires WHERE schedule_id = $serial AND run_id IS NULL")"
w schedule rm serial >/dev/null
expect "max_active_runs 1: no run started before the one before it ended" 0 \
    "$(sql "$state" "SELECT count(*) FROM runs a JOIN runs b ON b.schedule_id = a.schedule_id
        AND b.id > a.id WHERE a.schedule_id = $serial AND b.created_us < a.finished_us")"
expect "... and slots ran in order" 0 \
    "$(sql "$state" "SELECT count(*) FROM runs a JOIN runs b ON b.schedule_id = a.schedule_id
        AND b.id > a.id WHERE a.schedule_id = $serial AND b.logical_s < a.logical_s")"

# ---- backfill: 24 hourly slots ----
cat >"$T/hourly.yaml" <<'EOF'
workflow: hourly
schedule: { cron: "0 * * * *", timezone: Europe/Oslo }
tasks:
  t:
    type: shell
    with: { argv: [sh, -c, 'echo "$1 $2"', sh, '${schedule.time}', '${schedule.interval_start}'] }
EOF
out=$(w backfill "$T/hourly.yaml" --from 2026-03-29T00:00:00+01:00 --to 2026-03-29T23:59:00+02:00 --max-active 2)
expect_text "a backfill of a day of hourly slots (23 on the spring-forward day)" \
    "23 slots, 23 queued, 0 succeeded or running" "$out"
bf=$(sql "$state" "SELECT max(id) FROM schedules WHERE kind = 'backfill'")
wait_until "SELECT count(*) FROM runs WHERE schedule_id = $bf AND state = 'succeeded'" 23
expect "... with --max-active 2, at most 2 runs at once" 0 \
    "$(sql "$state" "SELECT count(*) FROM runs a WHERE a.schedule_id = $bf AND (SELECT count(*)
        FROM runs b WHERE b.schedule_id = $bf AND b.created_us <= a.created_us AND
        b.finished_us > a.created_us) > 2")"
r3=$(sql "$state" "SELECT id FROM runs WHERE schedule_id = $bf AND logical_s = $(date -d 2026-03-29T03:00:00+02:00 +%s)")
expect_text "... the slot after the skipped hour has its time and interval in the zone" \
    "2026-03-29T03:00:00\\+02:00 2026-03-29T01:00:00\\+01:00" "$(w logs "$r3" t)"
out=$(w backfill "$T/hourly.yaml" --from 2026-11-01T00:00:00Z --to 2026-11-01T23:00:00Z)
expect_text "a backfill of 24 hourly slots" "24 slots, 24 queued, 0 succeeded or running" "$out"
bf=$(sql "$state" "SELECT max(id) FROM schedules WHERE kind = 'backfill'")
wait_until "SELECT count(*) FROM runs WHERE schedule_id = $bf AND state = 'succeeded'" 24
bad=0
for r in $(sql "$state" "SELECT id || ':' || logical_s FROM runs WHERE schedule_id = $bf"); do
    want=$(TZ=Europe/Oslo date -d "@${r##*:}" +%Y-%m-%dT%H:%M:%S%:z)
    w logs "${r%%:*}" t | grep -q "^$want " || bad=$((bad + 1))
done
expect "... every run got its own slot as \${schedule.time}" 0 "$bad"
out=$(w backfill "$T/hourly.yaml" --from 2026-11-01T00:00:00Z --to 2026-11-01T23:00:00Z)
expect_text "a second backfill skips the slots that succeeded" "24 slots, 0 queued, 24 succeeded or running" "$out"
out=$(w backfill "$T/hourly.yaml" --from 2026-11-01T00:00:00Z --to 2026-11-01T05:00:00Z --rerun --name again)
expect_text "... unless --rerun" "backfill again: 6 slots, 6 queued" "$out"
wait_until "SELECT count(*) FROM runs WHERE schedule_id = $(sid again) AND state = 'succeeded'" 6
expect_text "weft schedule ls shows a finished backfill as done" "again +backfill +done" "$(w schedule ls)"

# ---- a run started by hand gets the last complete interval ----
run=$(w submit "$T/hourly.yaml" --json | sed -n 's/.*"run": \([0-9]*\).*/\1/p')
wait_run_ended "$state" "$run"
start=$(TZ=Europe/Oslo date -d "@$(( $(date +%s) / 3600 * 3600 - 3600 ))" +%Y-%m-%dT%H:%M:%S%:z)
expect_text "a run started by hand: its interval is the last complete one" " ${start/+/\\+}\$" \
    "$(w logs "$run" t)"
expect "... and it belongs to no schedule" "" \
    "$(sql "$state" "SELECT schedule_id FROM runs WHERE id = $run")"
