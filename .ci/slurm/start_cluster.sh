#!/usr/bin/env bash
# Start a one-node SLURM cluster on this host (root, Debian): munged, slurmctld and slurmd, no
# slurmdbd. Idempotent: installs the packages only if missing, rewrites slurm.conf only if this
# host's values changed, starts only the daemons that are not running, then waits for the node.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CONF=/etc/slurm/slurm.conf

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
fi

# running PIDFILE: its process is alive and is the daemon named by the file (a stale file after a
# restart may name an unrelated process).
running() { [ -f "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]; }
stop() { if running "$1"; then kill "$(cat "$1")"; while running "$1"; do sleep 0.5; done; fi; }

host="$(hostname -s)"
cpus="$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"  # nproc alone obeys OMP_NUM_THREADS (CI sets 1)
mem_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))  # 10% headroom
new="$(sed -e "s/@HOST@/$host/g" -e "s/@CPUS@/$cpus/g" -e "s/@MEM_MB@/$mem_mb/g" \
    "$HERE/slurm.conf.in")"
if [ ! -f "$CONF" ] || [ "$new" != "$(cat "$CONF")" ]; then
    stop /run/slurmd.pid
    stop /run/slurmctld.pid
    mkdir -p /etc/slurm
    printf '%s\n' "$new" > "$CONF"
fi
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm

if ! running /run/munge/munged.pid; then
    [ -f /etc/munge/munge.key ] || mungekey --create --keyfile /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- munged
fi
running /run/slurmctld.pid || slurmctld
running /run/slurmd.pid || slurmd

# The node is usable once sinfo shows it idle (or busy with jobs); a drained one is resumed.
for _ in $(seq 60); do
    state="$(sinfo -h -n "$host" -o %t 2>/dev/null || true)"
    case "$state" in
        idle|mix|alloc) sinfo; exit 0 ;;
        drain*|down*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
echo "start_cluster.sh: node $host is not up (state: ${state:-none}); see /var/log/slurm/" >&2
exit 1
