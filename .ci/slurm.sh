#!/usr/bin/env bash
# The Slurm job-array scripts of docs/sweeps.md, run as written on a real one-node Slurm cluster: munged, slurmctld
# and slurmd start with a configuration generated in a temporary directory (Debian's slurm-wlm and munge, installed
# when missing). The sweep array runs with `sbatch --wait`, its shards are merged with the docs' merge line, and the
# merged table and results must equal the unsharded run's byte for byte (the results hold no timings). Then the
# preemptible array is cancelled with `scancel` once a checkpoint exists, resubmitted, and its merge must match the
# unsharded run too. Every daemon started here is stopped by its pid on exit, failure included.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=$ROOT/docs/sweeps.md

missing=()
for tool in slurmctld:slurm-wlm slurmd:slurm-wlm sbatch:slurm-wlm munged:munge; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "slurm: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo build --release --bin wgtrain
export PATH="$ROOT/target/release:$PATH"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

cluster_start=$SECONDS
D=$(mktemp -d)
chmod 755 "$D" # munged wants its socket's directory searchable by all
mkdir -p "$D/state" "$D/spool" "$D/log"
pids=() # munged, slurmctld, slurmd: started here in the foreground (-F, -D), so $! is the daemon itself

# Whether process PID runs (a child that has exited stays a zombie until waited for, and kill -0 still finds it).
running() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $state != Z* ]]
}

cleanup() {
    local rc=$?
    local i
    if [ ${#pids[@]} -ge 2 ]; then # this cluster's jobs (there are no others on it) end before its daemons
        scancel --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # slurmd, then slurmctld, then munged
        kill "${pids[i]}" 2>/dev/null || true
        for _ in $(seq 50); do
            running "${pids[i]}" || break
            sleep 0.1
        done
        kill -9 "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    if [ "$rc" != 0 ]; then
        for f in "$D"/log/* "$D"/*.out; do
            if [ -s "$f" ]; then
                echo "--- $f (end)"
                tail -n 20 "$f"
            fi
        done
    fi
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT

# munged with a key and a socket of its own, so that a munged already running on the machine (or its key) is neither
# needed nor disturbed.
head -c 1024 /dev/urandom >"$D/munge.key"
chmod 600 "$D/munge.key"
munged -F --key-file="$D/munge.key" --socket="$D/munge.socket" --pid-file="$D/munged.pid" \
    --log-file="$D/log/munged.log" --seed-file="$D/munged.seed" >"$D/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    [ -S "$D/munge.socket" ] && break
    sleep 0.1
done

# Job records are kept (MinJobAge=0: never purged), which keeps sbatch --wait polling every 2 s instead of backing
# off to 32 s; array tasks start as soon as a CPU is free rather than in the default 3 s batches.
host=$(hostname -s)
cat >"$D/slurm.conf" <<CONF
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge.socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=0
SchedulerParameters=batch_sched_delay=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf
slurmctld -D >"$D/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D >"$D/slurmd.out" 2>&1 &
pids+=($!)

node_state=""
for _ in $(seq 100); do
    for pid in "${pids[@]}"; do
        running "$pid" || { echo "slurm: a daemon (pid $pid) exited at start" >&2; exit 1; }
    done
    node_state=$(sinfo -h -N -o %t 2>/dev/null || true)
    [ "$node_state" = idle ] && break
    sleep 0.2
done
[ "$node_state" = idle ] || { echo "slurm: the node is '$node_state', not idle, after 20 s" >&2; exit 1; }
echo "slurm: one node ($host, $(nproc) CPUs) idle after $((SECONDS - cluster_start)) s"

# The ```sh block of docs/sweeps.md that holds `#SBATCH`, matches the first pattern and not the second (exactly one
# must), written to the file named third.
docs_script() {
    local pattern=$1 unless=$2 out=$3 count
    count=$(awk -v pat="$pattern" -v unless="$unless" -v out="$out" '
        /^```/ {
            if (inside && text ~ /#SBATCH/ && text ~ pat && (unless == "" || text !~ unless)) {
                n++; printf "%s", text > out
            }
            inside = ($0 == "```sh") && !inside; text = ""; next
        }
        inside { text = text $0 "\n" }
        END { print n + 0 }' "$DOCS")
    [ "$count" = 1 ] || { echo "slurm: $count job scripts in docs/sweeps.md match /$pattern/" >&2; exit 1; }
}

# A small regression table of N rows, deterministic (awk's seeded generator), with the docs' column roles.
houses_csv() {
    awk -v n="$1" 'BEGIN {
        srand(7); print "rooms,area,age,price"
        for (i = 0; i < n; i++) {
            a = 1 + 5 * rand(); b = 30 + 170 * rand(); c = 80 * rand()
            printf "%.2f,%.1f,%.0f,%.3f\n", a, b, c, 0.5 * a + 0.01 * b - 0.005 * c + 0.1 * (rand() - 0.5)
        }
    }'
}

# The script's sweep without its sharding and checkpoint options, in the current directory: table on stdout,
# results in whole.json. The shell splits the command as the job's shell would.
unsharded() {
    local line
    line=$(awk '/^wgtrain sweep/ { on = 1 } on { more = sub(/\\$/, ""); printf "%s ", $0; if (!more) exit }' "$1")
    # shellcheck disable=SC2034 # the job's variable, expanded by the eval below
    local SLURM_ARRAY_TASK_ID=unsharded
    local words=() args=() i
    eval "words=($line)"
    for ((i = 2; i < ${#words[@]}; i++)); do
        case ${words[i]} in
        --shard | --shards | --results | --checkpoint-dir) i=$((i + 1)) ;;
        --resume) ;;
        *) args+=("${words[i]}") ;;
        esac
    done
    wgtrain sweep "${args[@]}" --results whole.json
}

# The docs' merge line (the script's `# afterwards:` comment) against the unsharded run: table and results.
merge_and_compare() {
    local script=$1 shards=$2 merge
    merge=$(sed -n 's/^# afterwards: //p' "$script")
    [ -n "$merge" ] || { echo "slurm: no '# afterwards:' merge line in the job script" >&2; exit 1; }
    local found
    found=$(find . -maxdepth 1 -name 'shard-*.json' | wc -l)
    [ "$found" = "$shards" ] || { echo "slurm: $found shard results, not $shards" >&2; exit 1; }
    bash -c "$merge" >merged.txt
    unsharded "$script" >whole.txt
    local results
    results=$(awk '{ for (i = 1; i < NF; i++) if ($i == "--results") print $(i + 1) }' <<<"$merge")
    if ! cmp -s merged.txt whole.txt || ! cmp -s "$results" whole.json; then
        echo "slurm: the merged shards differ from the unsharded run" >&2
        diff merged.txt whole.txt >&2 || true
        diff "$results" whole.json | head -n 40 >&2 || true
        exit 1
    fi
    echo "slurm: $shards shards merged = the unsharded run ($(($(wc -l <whole.txt) - 1)) configurations, table and results)"
}

# The array size from `#SBATCH --array=0-N`.
array_size() {
    local range
    range=$(grep -o -- '--array=[0-9]*-[0-9]*' "$1" | head -n 1)
    range=${range#--array=}
    echo $((${range#*-} - ${range%-*} + 1))
}

# 1. The sweep array, as documented, on a 96-row table. `--gpus=0` on sbatch's command line overrides the script's
# GPU request: this node has none (wgtrain runs on the CPU's Vulkan driver).
run=$D/array
mkdir -p "$run"
docs_script 'wgtrain sweep' 'checkpoint-dir' "$run/sweep.sh"
houses_csv 96 >"$run/houses.csv"
start=$SECONDS
sbatch --wait --gpus=0 --chdir="$run" "$run/sweep.sh" || {
    echo "slurm: the sweep array failed" >&2
    cat "$run"/slurm-*.out >&2 || true
    exit 1
}
echo "slurm: the array of $(array_size "$run/sweep.sh") tasks finished in $((SECONDS - start)) s"
(cd "$run" && merge_and_compare sweep.sh "$(array_size sweep.sh)")

# 2. The preemptible array (the docs' script with --checkpoint-dir and --resume) on a table large enough for a task
# to take seconds: cancelled mid-way with scancel, submitted again as it is, and its merge must still equal the
# unsharded run.
sweep_help=$(wgtrain sweep --help)
if [[ $sweep_help != *--checkpoint-dir* ]]; then
    echo "slurm: wgtrain sweep has no --checkpoint-dir: the cancel-and-resume check cannot run" >&2
    exit 1
fi
run=$D/preempted
mkdir -p "$run"
docs_script 'checkpoint-dir' '' "$run/sweep.sh"
houses_csv 2000 >"$run/houses.csv"
tasks=$(array_size "$run/sweep.sh")
start=$SECONDS
job=$(sbatch --parsable --gpus=0 --chdir="$run" "$run/sweep.sh")
# A task's checkpoint exists once its directory has a manifest (written last, by a rename, at each commit; a
# finished task keeps it). The cancel comes once a task has finished and two others hold a checkpoint but no results
# yet (with one task per CPU, one of them started after the first finished, so it is far from its end): the
# resubmitted array then holds a finished task, tasks stopped mid-way and tasks that never started.
checkpoints() {
    find "$run" -mindepth 2 -name manifest.json | wc -l
}
finished() {
    find "$run" -maxdepth 1 -name 'shard-*.json' | wc -l
}
for _ in $(seq 1200); do
    f=$(finished)
    [ "$f" -ge 1 ] && [ "$(checkpoints)" -ge $((f + 2)) ] && break
    sleep 0.05
done
scancel "$job"
for _ in $(seq 300); do
    [ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ] && break
    sleep 0.1
done
[ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ] || { echo "slurm: job $job still queued 30 s after scancel" >&2; exit 1; }
finished=$(finished)
with_state=$(checkpoints)
echo "slurm: cancelled after $((SECONDS - start)) s: $finished of $tasks tasks finished, $with_state with a checkpoint"
# More tasks with a checkpoint than with results: at least one was stopped mid-way, with state to resume from.
if [ "$finished" -ge "$tasks" ] || [ "$with_state" -le "$finished" ]; then
    echo "slurm: the cancel came too late or too early to stop a task mid-way; nothing to resume" >&2
    exit 1
fi
start=$SECONDS
sbatch --wait --gpus=0 --chdir="$run" "$run/sweep.sh" || {
    echo "slurm: the resubmitted array failed" >&2
    cat "$run"/slurm-*.out >&2 || true
    exit 1
}
echo "slurm: the resubmitted array of $tasks tasks finished in $((SECONDS - start)) s"
(cd "$run" && merge_and_compare sweep.sh "$tasks")
echo "slurm: cluster, both arrays and their checks in $((SECONDS - cluster_start)) s"
