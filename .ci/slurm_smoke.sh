#!/usr/bin/env bash
# The smoke DAG twice, each on a throw-away copy of the repository: once locally and once through
# SLURM (workflow/profiles/slurm on the cluster of .ci/slurm/start_cluster.sh). Every run's
# metrics (times aside) and every table must be identical; exit status 1 on any difference.
#   .ci/slurm/start_cluster.sh && .ci/slurm_smoke.sh
# Env: VENV (its python; else python3), HDNN_MNIST_ROOT (a prepared MNIST root; else fetched once),
# SMOKE_LIMIT_S (seconds per snakemake call, default 1200), KEEP=1 keeps the copies,
# SMOKE_LOCAL (a repository copy where the smoke stages already ran, e.g. the test suite's: it is
# the local run, and only the SLURM run is made; .ci/run passes the test suite's).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=python3; [ -z "${VENV:-}" ] || PY="$VENV/bin/python"
LIMIT="${SMOKE_LIMIT_S:-1200}"
TARGETS=(ablation tuning tuning_table2 all paper)  # tests/conftest.py's SMOKE_TARGETS
# CI's cluster only: squeue as the status command (no slurmdbd, so sacct knows no jobs), a short
# wait before the first status check, no account, and group jobs no wider than the node.
CI_SLURM=(--profile workflow/profiles/slurm --slurm-status-command squeue
          --slurm-init-seconds-before-status-checks 3 --slurm-no-account --cores "$(nproc)")

WORK="$(mktemp -d "${TMPDIR:-/tmp}/slurm_smoke.XXXXXX")"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
export OMP_NUM_THREADS=1 MPLBACKEND=Agg

# Both runs read the same MNIST files, prepared once like tests/conftest.py's HDNN_MNIST_ROOT
# (the local run's own copy when it is given).
[ -z "${SMOKE_LOCAL:-}" ] || HDNN_MNIST_ROOT="${HDNN_MNIST_ROOT:-$SMOKE_LOCAL/results/smoke/data}"
MNIST_ROOT="${HDNN_MNIST_ROOT:-$WORK/mnist}"
[ -n "${HDNN_MNIST_ROOT:-}" ] || PYTHONPATH="$ROOT/src" "$PY" -m hdnn.mnist --root "$MNIST_ROOT" --create >/dev/null

run() {  # run NAME SNAKEMAKE_ARGS...: the smoke stages in a fresh copy WORK/NAME
    local name=$1 dst="$WORK/$1" start=$SECONDS; shift
    mkdir -p "$dst"
    tar -C "$ROOT" --exclude=__pycache__ -cf - workflow config src | tar -C "$dst" -xf -
    echo "mnist: {source_dir: $MNIST_ROOT/MNIST/raw}" > "$dst/local.yaml"
    for target in "${TARGETS[@]}"; do
        # Snakemake ignores SIGTERM while it waits for jobs: -k kills it for good.
        if ! (cd "$dst" && timeout -k 30 "$LIMIT" "$PY" -m snakemake "$target" "$@" \
                --configfile config/smoke.yaml local.yaml) >> "$WORK/$name.log" 2>&1; then
            tail -n 40 "$WORK/$name.log"
            echo "slurm_smoke: the $name run failed at target '$target' (log: $WORK/$name.log)" >&2
            return 1
        fi
    done
    echo "slurm_smoke: $name run: $(( SECONDS - start )) s"
}

# Side by side: the SLURM run spends much of its time waiting (job start-up, status polls), and
# the numbers cannot depend on timing (one thread per job either way).
start=$SECONDS
failed=0
if [ -n "${SMOKE_LOCAL:-}" ]; then
    LOCAL="$SMOKE_LOCAL/results/smoke"
    [ -d "$LOCAL/runs" ] || { echo "slurm_smoke: SMOKE_LOCAL=$SMOKE_LOCAL holds no smoke runs" >&2; exit 1; }
    run slurm "${CI_SLURM[@]}" || failed=1
else
    LOCAL="$WORK/local/results/smoke"
    run local --cores "$(nproc)" & local_pid=$!
    run slurm "${CI_SLURM[@]}" & slurm_pid=$!
    wait $local_pid || failed=1
    wait $slurm_pid || failed=1
fi
echo "slurm_smoke: runs: $(( SECONDS - start )) s"
[ $failed = 0 ]
"$PY" "$ROOT/.ci/slurm/compare_results.py" "$LOCAL" "$WORK/slurm/results/smoke"
