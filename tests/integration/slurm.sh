#!/usr/bin/env bash
# deploy/slurm: a one-node Slurm cluster this test starts (munged, slurmctld, slurmd, with
# a configuration and ports of its own), to which `sbatch deploy/slurm/weft-workers.sbatch`
# submits weft workers that join a CURVE scheduler outside the allocation and run a
# workflow; `scancel` ends the allocation and its workers stop (SIGTERM), leaving nothing
# running and nothing behind in node-local scratch.
. "$(dirname "$0")/lib.sh"
unset WEFT_INSECURE
for c in munged slurmctld slurmd sbatch squeue scancel; do
    command -v "$c" >/dev/null || { skip "needs Slurm and munge ($c is missing)"; exit 0; }
done
if [ "$(id -u)" -ne 0 ]; then
    skip "needs root to run slurmd"
    exit 0
fi
S="$T/slurm"
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log" "$S/scratch"
chmod 700 "$S/munge"
head -c 1024 /dev/urandom >"$S/munge/munge.key"
chmod 400 "$S/munge/munge.key"
munged --socket="$S/munge/munge.sock" --key-file="$S/munge/munge.key" --force \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
    --seed-file="$S/munge/munged.seed" || { fail "munged did not start"; exit 1; }
# Whatever happens, the allocation ends before the daemons do, then munged.
trap '[ -n "${job:-}" ] && scancel "$job" 2>/dev/null && sleep 1
      kill "$(cat "$S/munge/munged.pid" 2>/dev/null)" 2>/dev/null; cleanup' EXIT
node=$(hostname -s)
cat >"$S/slurm.conf" <<EOF
ClusterName=weft$$
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=10
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=weft Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$S/slurm.conf"
slurmctld -D -f "$SLURM_CONF" >"$S/log/slurmctld.out" 2>&1 &
PIDS+=("$!")
slurmd -D -f "$SLURM_CONF" >"$S/log/slurmd.out" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.1; done
expect "the one-node Slurm cluster is up" idle "$(sinfo -h -o %t 2>/dev/null)"

state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_curve_scheduler "$state" "$ep"
"$weft" keys gen "$T/slurm.key" >/dev/null || fail "keys gen"
"$weft" keys add slurm --role worker "$T/slurm.key.pub" --state "$state" >/dev/null ||
    fail "keys add slurm"
(cd "$T" && TMPDIR="$S/scratch" WEFT_SCHEDULER="$ep" WEFT_KEY="$T/slurm.key" \
    WEFT_SERVER_KEY="$state/scheduler.key.pub" WEFT_BIN="$WEFT_BIN" \
    WEFT_PLUGIN_PATH="$WEFT_PLUGIN_PATH" WEFT_HEARTBEAT_MS=200 \
    sbatch --cpus-per-task=2 --time=10 "$WEFT_SRC/deploy/slurm/weft-workers.sbatch" \
    >"$T/sbatch.out" 2>&1)
expect "sbatch takes the batch script" 0 $?
job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$T/sbatch.out")
for _ in $(seq 150); do
    [ "$(sql "$state" "SELECT count(*) FROM workers WHERE state = 'up'")" = 1 ] && break
    sleep 0.1
done
worker=$(sql "$state" "SELECT name FROM workers WHERE state = 'up'")
expect "the allocation's worker joined over CURVE, named after its job and node" \
    "slurm.$job-$node" "$worker"
cat >"$T/wf.yaml" <<'YAML'
workflow: on-slurm
tasks:
  hello:
    type: shell
    with: { argv: [sh, -c, 'echo "$SLURM_JOB_ID on $(hostname -s)"'] }
  twice:
    type: shell
    with: { argv: [sh, -c, 'echo "$((2 * 21))"'] }
YAML
"$weft" submit "$T/wf.yaml" --state "$state" --wait >"$T/run.out" 2>&1
expect "a workflow runs on the Slurm workers" 0 $?
expect "... inside the allocation" "$job on $node" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE name = 'hello'")"
expect "... every task by the allocation's worker" "slurm.$job-$node" \
    "$(sql "$state" "SELECT DISTINCT worker FROM attempts")"

scancel "$job"
for _ in $(seq 200); do [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.1; done
expect "scancel ends the allocation" "" "$(squeue -h -j "$job" 2>/dev/null)"
for _ in $(seq 50); do pgrep -f -- "--name slurm.$job-" >/dev/null || break; sleep 0.1; done
pgrep -f -- "--name slurm.$job-" >/dev/null && fail "a worker outlived its allocation" ||
    ok "no worker outlives its allocation"
expect_grep "... it stopped on SIGTERM" "signal 15: stopping" "$T/weft-workers-$job.out"
expect "nothing is left in node-local scratch" "" "$(ls -A "$S/scratch")"
finish
