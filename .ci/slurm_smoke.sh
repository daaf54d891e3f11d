#!/usr/bin/env bash
# The smoke DAG on throw-away copies of the repository, once locally and once through SLURM
# (workflow/profiles/slurm on the cluster of .ci/slurm/start_cluster.sh). Every run's metrics
# (times aside) and every table must be identical; exit status 1 on any difference.
#   .ci/slurm/start_cluster.sh && .ci/slurm_smoke.sh
# Env: VENV (its python; else python3), HDNN_MNIST_ROOT (a prepared MNIST root; else fetched once),
# SMOKE_LIMIT_S (seconds per snakemake call, default 1200), KEEP=1 keeps the copies, and for CI:
#   SLURM_ONLY=DIR    through SLURM, into DIR, only one job of each training rule (the rules the
#                     queue runs; every other rule is local), and compare nothing: .ci/run compares
#                     those runs with the same runs of the test suite's own smoke, made meanwhile.
#                     The whole smoke twice does not fit CI's time on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=python3; [ -z "${VENV:-}" ] || PY="$VENV/bin/python"
LIMIT="${SMOKE_LIMIT_S:-1200}"
TARGETS=(ablation tuning tuning_table2 all paper)  # tests/conftest.py's SMOKE_TARGETS
# CI's cluster only: squeue as the status command (no slurmdbd, so sacct knows no jobs), a short
# wait before the first status check, no account, and group jobs no wider than the node.
CPUS="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"  # nproc alone obeys OMP_NUM_THREADS
CI_SLURM=(--profile workflow/profiles/slurm --slurm-status-command squeue
          --slurm-init-seconds-before-status-checks 3 --slurm-no-account --cores "$CPUS")

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

copy() {  # copy NAME: a fresh copy WORK/NAME of the repository's workflow, reading MNIST_ROOT
    local dst="$WORK/$1"
    mkdir -p "$dst"
    tar -C "$ROOT" --exclude=__pycache__ -cf - workflow config src .ci/slurm environment.yml | tar -C "$dst" -xf -
    echo "mnist: {source_dir: $MNIST_ROOT/MNIST/raw}" > "$dst/local.yaml"
}

stage() {  # stage NAME START TARGETS... -- SNAKEMAKE_ARGS...: one snakemake call in WORK/NAME
    local name=$1 start=$2 targets=() rc=0; shift 2
    while [ "$1" != -- ]; do targets+=("$1"); shift; done; shift
    # Snakemake ignores SIGTERM while it waits for jobs: -k kills it for good.
    (cd "$WORK/$name" && timeout -k 30 "$LIMIT" "$PY" -m snakemake "${targets[@]}" "$@" \
        --configfile config/smoke.yaml local.yaml) >> "$WORK/$name.log" 2>&1 || rc=$?
    if [ $rc != 0 ]; then
        tail -n 40 "$WORK/$name.log"
        [ $rc = 124 ] && echo "slurm_smoke: the $name run's stage '${targets[*]:0:3}' ran out of its $LIMIT s" >&2
        echo "slurm_smoke: the $name run failed at '${targets[*]:0:3}' (log: $WORK/$name.log)" >&2
        return 1
    fi
    echo "slurm_smoke: $name run: ${targets[*]:0:3} done after $(( SECONDS - start )) s"
}

run() {  # run NAME SNAKEMAKE_ARGS...: every smoke stage in a fresh copy WORK/NAME
    local name=$1 start=$SECONDS; shift
    copy "$name"
    for target in "${TARGETS[@]}"; do stage "$name" "$start" "$target" -- "$@" || return 1; done
}

if [ -n "${SLURM_ONLY:-}" ]; then
    copy slurm
    # The tuned protocols' runs read the tuning stages' choices, so those stages first (their
    # training rules through the queue too). Not `paper`: it adds no training rule.
    stage slurm "$SECONDS" tuning tuning_table2 -- "${CI_SLURM[@]}" || exit 1
    mapfile -t runs < <(cd "$WORK/slurm" && "$PY" .ci/slurm/one_run_per_rule.py "${TARGETS[@]:0:4}" \
                        --configfile config/smoke.yaml local.yaml)
    stage slurm "$SECONDS" "${runs[@]}" -- "${CI_SLURM[@]}"
    exit 0
fi
# Side by side: the SLURM run spends much of its time waiting (job start-up, status polls), and
# the numbers cannot depend on timing (one thread per job either way).
start=$SECONDS
failed=0
run local --cores "$CPUS" & local_pid=$!
run slurm "${CI_SLURM[@]}" & slurm_pid=$!
wait $local_pid || failed=1
wait $slurm_pid || failed=1
echo "slurm_smoke: both runs: $(( SECONDS - start )) s"
[ $failed = 0 ]
"$PY" "$ROOT/.ci/slurm/compare_results.py" "$WORK/local/results/smoke" "$WORK/slurm/results/smoke"
