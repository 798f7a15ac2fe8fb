#!/bin/bash
# test-slurm.sh: a sweep on a real Slurm cluster of one node, localhost, against the same
# sweep in one process.
#
# Starts munged, slurmctld and slurmd from Debian's munge and slurm-wlm, each in the
# foreground as a child of this script and as the user running it (root or not: the daemons
# and the jobs all run as that user), with a generated munge key and slurm.conf in a fresh
# directory under /tmp (state, spool, sockets and logs there too; free ports picked at
# random; no cgroups: proctrack/linuxproc, task/none). Submits tests/slurm/study.yaml (12
# points, 3 of which fail) with analysis/slurm/submit.sh as an array of 3 tasks and the merge
# job, waits for both, and checks:
# - every task and the merge job COMPLETED;
# - task i's database holds exactly the points `sweep --list --shard i/3` gives shard i (the
#   sweep took its shard from the array's variables), and the three hold 12 points together;
# - merged.db equals a single-process `clustersim sweep` of the study run for run: for every
#   table with a run_id, its rows keyed by the run's point, every column but run_id and the
#   wall-clock ones (run.created_utc, run.wall_s, run.peak_rss_bytes,
#   search_candidate.replay_wall_s), reals to 17 digits;
# - the merge job drew mfu and breakdown, PNG and SVG.
# On exit, whatever happened, it cancels the jobs, stops the three daemons, kills any process
# the jobs left (found by the directory in its command line, environment, working directory
# or open files) and removes the directory (CLUSTERSIM_SLURM_KEEP=1 keeps it). Its logs are
# printed when it fails.
#
# Exit status: 0 passed; 1 failed; 77 skipped (CTest's SKIP_RETURN_CODE), with the reason:
# a command missing (apt-get install slurm-wlm munge sqlite3 gnuplot-nox). With
# CLUSTERSIM_NO_SKIP=1 (as .ci/run sets it, having installed them) a missing command fails
# the test instead, so that a passing CI run is one in which the test ran.
# Run from the repository root; the executable is $CLUSTERSIM_BIN, else build/clustersim.
# Every wait is bounded: the test gives up once 150 s have passed.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin
me=test-slurm
start=$SECONDS
deadline=$((SECONDS + 150))
config=tests/slurm/study.yaml
tasks=3

skip() {
    if [ "${CLUSTERSIM_NO_SKIP:-0}" = 1 ]; then
        echo "$me: FAILED (CLUSTERSIM_NO_SKIP=1, so no skip): $*" >&2
        exit 1
    fi
    echo "$me: SKIPPED: $*"
    exit 77
}
for c in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel sqlite3 gnuplot; do
    command -v "$c" > /dev/null ||
        skip "$c not found (apt-get install slurm-wlm munge sqlite3 gnuplot-nox)"
done
bin=${CLUSTERSIM_BIN:-build/clustersim}
[ -x "$bin" ] || { echo "$me: no executable $bin" >&2; exit 1; }
[ -f "$config" ] || { echo "$me: run from the repository root (no $config)" >&2; exit 1; }
# the jobs run the executable the single-process sweep runs
CLUSTERSIM=$(cd "$(dirname -- "$bin")" && pwd)/${bin##*/}
export CLUSTERSIM

# munged wants every directory above its socket searchable by all: /tmp, not $TMPDIR
dir=$(mktemp -d /tmp/clustersim-slurm-XXXXXX)
chmod 755 "$dir"
pids=() # munged, slurmctld, slurmd
failed=1

fail() {
    echo "$me: FAILED: $*" >&2
    exit 1
}

# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it
stop() {
    local pid=$1 k st
    kill -TERM "$pid" 2> /dev/null || true
    for ((k = 0; k < 50; k++)); do
        st=$(ps -o stat= -p "$pid" 2> /dev/null || true)
        [ -n "$st" ] && [ "${st:0:1}" != Z ] || break
        sleep 0.2
    done
    kill -KILL "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
}

# The processes other than this script whose command line, environment (the jobs' have
# SLURM_CONF; this script's own children no longer have it once cleanup unsets it), working
# directory or open files are in $dir: jobs, processes they left, their slurmstepd, which
# slurmd does not stop.
leftovers() {
    {
        grep -lF "$dir" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2> /dev/null
        find /proc/[0-9]*/cwd /proc/[0-9]*/fd -maxdepth 1 -lname "$dir*" 2> /dev/null
    } | cut -d/ -f3 | sort -u | grep -vx -e $$ -e "$BASHPID" || true
}

cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM HUP
    set +e
    if [ ${#pids[@]} -ge 2 ]; then # slurmctld is up: cancel the jobs, let them end
        scancel --quiet --user="$(id -un)" 2> /dev/null
        for ((i = 0; i < 25 && $(squeue -h 2> /dev/null | wc -l) > 0; i++)); do sleep 0.2; done
    fi
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
    unset SLURM_CONF
    for p in $(leftovers); do
        echo "$me: killing process $p left in $dir: $(tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline")" >&2
        kill -KILL "$p" 2> /dev/null
    done
    if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
        for f in "$dir"/log/* "$dir"/out/*.out; do
            [ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
        done >&2
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ "${CLUSTERSIM_SLURM_KEEP:-0}" = 1 ]; then
        echo "$me: kept $dir"
    else
        rm -rf "$dir"
    fi
    echo "$me: $((SECONDS - start)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds
wait_for() {
    local limit=$((SECONDS + $1)) what=$2
    shift 2
    [ $limit -le $deadline ] || limit=$deadline
    until "$@"; do
        [ $SECONDS -lt $limit ] || fail "timed out waiting for $what"
        sleep 0.2
    done
}

# Two free TCP ports: nothing accepts connections there
free_port() {
    local p k
    for ((k = 0; k < 100; k++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return; }
    done
    fail "no free port"
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$slurmd_port" != "$ctld_port" ] || slurmd_port=$((ctld_port + 1))

mkdir -p "$dir"/{etc,munge,state,spool,log,out}
chmod 700 "$dir/etc"
chmod 755 "$dir/munge"
head -c 1024 /dev/urandom > "$dir/etc/munge.key"
chmod 400 "$dir/etc/munge.key"
cat > "$dir/slurm.conf" << EOF
ClusterName=clustersim-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
LogTimeFormat=iso8601_ms
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf

munged --foreground --force --key-file="$dir/etc/munge.key" \
    --socket="$dir/munge/munge.socket" --pid-file="$dir/etc/munged.pid" \
    --seed-file="$dir/etc/munged.seed" --origin=127.0.0.1 2> "$dir/log/munged.log" &
pids+=($!)
wait_for 20 "munged's socket" test -S "$dir/munge/munge.socket"
slurmctld -D -c -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
pids+=($!)
node_idle() { [ "$(sinfo -h -n localhost -o %T 2> /dev/null)" = idle ]; }
wait_for 60 "node localhost to be idle (sinfo)" node_idle
echo "$me: munged, slurmctld (port $ctld_port) and slurmd (port $slurmd_port) up after" \
     "$((SECONDS - start)) s"

"$bin" sweep --quiet --db "$dir/single.db" "$config"
analysis/slurm/submit.sh "$config" "$dir/out" "$tasks" -- --cpus-per-task=1 |
    tee "$dir/submit.log" || fail "analysis/slurm/submit.sh failed"
sweep_id=$(awk '/^sweep: job array/ { print $4 }' "$dir/submit.log" | tr -d ,)
merge_id=$(awk '/^merge: job/ { print $3 }' "$dir/submit.log")
[ -n "$sweep_id" ] && [ -n "$merge_id" ] || fail "no job ids from submit.sh"
queue_empty() { [ -z "$(squeue -h)" ]; }
wait_for 120 "the jobs to end (squeue)" queue_empty
echo "$me: jobs done after $((SECONDS - start)) s"

# Every task and the merge job completed
for j in $(seq -f "${sweep_id}_%g" 1 "$tasks") "$merge_id"; do
    state=$(scontrol -o show job "$j" | grep -o 'JobState=[A-Z_]*' | head -n 1)
    [ "$state" = JobState=COMPLETED ] || fail "job $j: $state"
done

q() { sqlite3 -init /dev/null -readonly -batch -noheader "$@"; }
# Task i ran shard i of 3: the points --shard i/3 lists, and only those
points=$("$bin" sweep --list "$config" | wc -l)
[ "$points" -eq 12 ] || fail "$config: $points points, not 12"
for ((i = 1; i <= tasks; i++)); do
    "$bin" sweep --list --shard "$i/$tasks" "$config" | awk -v s="$i/$tasks" '$2 == s' |
        cut -d' ' -f3- | sort > "$dir/want-$i"
    q "$dir/out/shard-$i.db" "SELECT value FROM sweep_param WHERE key = '_point'" |
        sort > "$dir/got-$i"
    diff "$dir/want-$i" "$dir/got-$i" > /dev/null ||
        fail "shard-$i.db does not hold shard $i/$tasks's points: $(diff "$dir/want-$i" "$dir/got-$i")"
done
[ "$(cat "$dir"/got-* | sort -u | wc -l)" -eq 12 ] || fail "the shards do not hold 12 points"

# merged.db against the single-process sweep, run for run: one SELECT per table that has a
# run_id, every column but run_id and the wall-clock ones, reals to 17 significant digits,
# each row keyed by its run's point; both databases' rows sorted
sql=$(q "$dir/single.db" "SELECT m.name, c.name FROM sqlite_master AS m,
    pragma_table_info(m.name) AS c WHERE m.type = 'table' AND c.name <> 'run_id'
    AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'run_id')
    AND NOT (m.name IN ('run', 'search_candidate') AND c.name IN ('created_utc', 'wall_s',
             'peak_rss_bytes', 'replay_wall_s'))
    ORDER BY m.name, c.cid" | awk -F'|' '
    function flush() { if (t != "") print "SELECT \047" t "\047, p.value" cols " FROM " t \
        " AS t JOIN sweep_param AS p ON p.run_id = t.run_id AND p.key = \047_point\047;" }
    $1 != t { flush(); t = $1; cols = "" }
    { cols = cols ", CASE typeof(t." $2 ") WHEN \047real\047 THEN printf(\047%!.17g\047, t." \
        $2 ") ELSE quote(t." $2 ") END" }
    END { flush() }')
tables=$(grep -c '^SELECT' <<< "$sql")
dump() { q "$1" "$sql" | LC_ALL=C sort; }
dump "$dir/single.db" > "$dir/single.txt"
dump "$dir/out/merged.db" > "$dir/merged.txt"
[ "$(q "$dir/single.db" "SELECT group_concat(n) FROM (SELECT status || ' ' || count(*) AS n
    FROM run GROUP BY status ORDER BY status)")" = "failed 3,ok 9" ] ||
    fail "the single-process sweep did not run 9 points and fail 3"
[ "$(q "$dir/out/merged.db" "SELECT count(*) FROM run")" -eq 12 ] ||
    fail "merged.db does not hold 12 runs"
if ! diff "$dir/single.txt" "$dir/merged.txt" > "$dir/diff.txt"; then
    head -n 20 "$dir/diff.txt" >&2
    fail "merged.db differs from the single-process sweep"
fi
rows=$(wc -l < "$dir/single.txt")
[ "$rows" -gt 12 ] || fail "only $rows rows compared"

for f in mfu.png mfu.svg breakdown.png breakdown.svg; do
    [ -s "$dir/out/$f" ] || fail "the merge job drew no $f"
done
echo "$me: compared after $((SECONDS - start)) s"
failed=0
echo "$me: PASSED: $tasks array tasks, merged.db equals one process's sweep: 12 runs," \
     "$rows rows in $tables tables"
