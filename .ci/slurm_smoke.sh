#!/usr/bin/env bash
# The smoke DAG on throw-away copies of the repository, once locally and once through SLURM
# (workflow/profiles/slurm on the cluster of .ci/slurm/start_cluster.sh). Every run's metrics
# (times aside) and every table must be identical; exit status 1 on any difference.
#   .ci/slurm/start_cluster.sh && .ci/slurm_smoke.sh
# Env: VENV (its python; else python3), HDNN_MNIST_ROOT (a prepared MNIST root; else fetched once),
# SMOKE_LIMIT_S (seconds per snakemake call, default 1200), KEEP=1 keeps the copies, and for CI:
#   SLURM_ONLY=DIR    make only the SLURM run, into DIR, and compare nothing (.ci/run compares it
#                     with the test suite's own smoke run, made meanwhile);
#   LOCAL_STAGES=N    the first N smoke stages (the searches that choose settings) run locally in
#                     the SLURM copy, the rest through SLURM: each stage through the queue costs
#                     minutes of job start-up and status polls, which CI's 20 minutes cannot hold.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=python3; [ -z "${VENV:-}" ] || PY="$VENV/bin/python"
LIMIT="${SMOKE_LIMIT_S:-1200}"
TARGETS=(ablation tuning tuning_table2 all paper)  # tests/conftest.py's SMOKE_TARGETS
LOCAL_STAGES="${LOCAL_STAGES:-0}"
# CI's cluster only: squeue as the status command (no slurmdbd, so sacct knows no jobs), a short
# wait before the first status check, no account, and group jobs no wider than the node.
CI_SLURM=(--profile workflow/profiles/slurm --slurm-status-command squeue
          --slurm-init-seconds-before-status-checks 3 --slurm-no-account --cores "$(nproc)")

if [ -n "${SLURM_ONLY:-}" ]; then
    WORK="$SLURM_ONLY"; mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/slurm_smoke.XXXXXX")"
    [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
export OMP_NUM_THREADS=1 MPLBACKEND=Agg

# Both runs read the same MNIST files, prepared once like tests/conftest.py's HDNN_MNIST_ROOT.
MNIST_ROOT="${HDNN_MNIST_ROOT:-$WORK/mnist}"
[ -n "${HDNN_MNIST_ROOT:-}" ] || PYTHONPATH="$ROOT/src" "$PY" -m hdnn.mnist --root "$MNIST_ROOT" --create >/dev/null

run() {  # run NAME SKIP SNAKEMAKE_ARGS...: the smoke stages in a fresh copy WORK/NAME; the first
         # SKIP stages without the arguments (locally)
    local name=$1 skip=$2 dst="$WORK/$1" start=$SECONDS i=0; shift 2
    mkdir -p "$dst"
    tar -C "$ROOT" --exclude=__pycache__ -cf - workflow config src | tar -C "$dst" -xf -
    echo "mnist: {source_dir: $MNIST_ROOT/MNIST/raw}" > "$dst/local.yaml"
    for target in "${TARGETS[@]}"; do
        local args=("$@")
        (( i++ < skip )) && args=(--cores "$(nproc)")
        # Snakemake ignores SIGTERM while it waits for jobs: -k kills it for good.
        if ! (cd "$dst" && timeout -k 30 "$LIMIT" "$PY" -m snakemake "$target" "${args[@]}" \
                --configfile config/smoke.yaml local.yaml) >> "$WORK/$name.log" 2>&1; then
            tail -n 40 "$WORK/$name.log"
            echo "slurm_smoke: the $name run failed at target '$target' (log: $WORK/$name.log)" >&2
            return 1
        fi
        echo "slurm_smoke: $name run: $target done after $(( SECONDS - start )) s"
    done
}

if [ -n "${SLURM_ONLY:-}" ]; then
    run slurm "$LOCAL_STAGES" "${CI_SLURM[@]}"
    exit 0
fi
# Side by side: the SLURM run spends much of its time waiting (job start-up, status polls), and
# the numbers cannot depend on timing (one thread per job either way).
start=$SECONDS
failed=0
run local 0 --cores "$(nproc)" & local_pid=$!
run slurm "$LOCAL_STAGES" "${CI_SLURM[@]}" & slurm_pid=$!
wait $local_pid || failed=1
wait $slurm_pid || failed=1
echo "slurm_smoke: both runs: $(( SECONDS - start )) s"
[ $failed = 0 ]
"$PY" "$ROOT/.ci/slurm/compare_results.py" "$WORK/local/results/smoke" "$WORK/slurm/results/smoke"
