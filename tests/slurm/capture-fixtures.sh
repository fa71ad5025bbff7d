#!/bin/sh
# Captures the fixtures in tests/slurm/fixtures/ from the one-node test
# cluster (packaging/slurm/test-cluster.sh start), asking for the same
# formats as framework/lib/slurm-private.h. Run it again after a Slurm
# upgrade and compare: the parsers' tests read these files.
#
#   tests/slurm/capture-fixtures.sh [OUTDIR]
#
# It drains, downs and resumes the node and creates and deletes reservations
# and a second partition: do not run it while tests use the cluster.
set -eu
cd "$(dirname "$0")/../.."
out=${1:-tests/slurm/fixtures}
mkdir -p "$out"
export SLURM_CONF=${SLURM_CONF:-/run/strand-test-slurm/slurm.conf}
export SLURM_TIME_FORMAT=%s
export TZ=UTC
node=$(sinfo --noheader --Node --format=%N | head -n 1)
work=$(mktemp -d)
trap 'scancel --quiet --user="$(id -un)" 2>/dev/null || true; rm -rf "$work"' EXIT

# The formats slurm-private.h asks for.
squeue_format=$(sed -n '/STRAND_SQUEUE_FORMAT/,/^$/p' framework/lib/slurm-private.h |
  sed -n 's/.*"\(.*\)".*/\1/p' | sed -n '1,3p' | tr -d '\n')
sinfo_format=$(sed -n '/STRAND_SINFO_FORMAT/,/^#define STRAND_SINFO_HEADER/p' framework/lib/slurm-private.h |
  sed -n 's/.*"\(.*\)".*/\1/p' | tr -d '\n')
sq() { squeue --array --states=all --Format="$squeue_format" "$@"; }
si() { sinfo --Node --Format="$sinfo_format" "$@"; }
wait_state() { # job state
  i=0
  while [ $i -lt 300 ]; do
    [ "$(squeue --noheader --states=all --jobs="$1" --format=%T 2>/dev/null | head -n 1)" = "$2" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  echo "job $1 never reached $2" >&2
  exit 1
}

wait_idle() {
  i=0
  while [ $i -lt 300 ]; do
    [ "$(sinfo --noheader --Node --format=%T | head -n 1)" = idle ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  echo "node $node never became idle" >&2
  exit 1
}

printf '#!/bin/sh\nexit 0\n' >"$work/ok.sh"
printf '#!/bin/sh\nexit 3\n' >"$work/fail.sh"
printf '#!/bin/sh\nsleep 300\n' >"$work/sleep.sh"

si >"$out/sinfo-idle.txt"
scontrol --oneliner show reservation >"$out/reservations-none.txt"

sbatch --parsable --job-name=ok --output=/dev/null "$work/ok.sh" >"$out/sbatch-parsable.txt"
ok=$(cat "$out/sbatch-parsable.txt")
fail=$(sbatch --parsable --job-name=fail --output=/dev/null "$work/fail.sh")
wait_state "$ok" COMPLETED
wait_state "$fail" FAILED
sleeper=$(sbatch --parsable --job-name='sleeper|with bar' --cpus-per-task=1 --mem=100M --time=10 \
  --output=/dev/null "$work/sleep.sh")
wait_state "$sleeper" RUNNING
si >"$out/sinfo-mixed.txt"
big=$(sbatch --parsable --job-name=needs-all --cpus-per-task=2 --output=/dev/null "$work/sleep.sh")
array=$(sbatch --parsable --job-name=array --array=0-3%1 --mem=100M --output=/dev/null "$work/sleep.sh")
cancelled=$(sbatch --parsable --job-name=cancelled --output=/dev/null "$work/sleep.sh")
scancel "$cancelled"
wait_state "$cancelled" CANCELLED
# Let the scheduler look at the pending jobs, so that they have reasons.
sleep 4
sq >"$out/squeue-mixed.txt"
scontrol --oneliner show job "$ok" >"$out/scontrol-job-completed.txt"
scontrol --oneliner show job "$fail" >"$out/scontrol-job-failed.txt"
scontrol --oneliner show job "$cancelled" >"$out/scontrol-job-cancelled.txt"
scontrol show job "$array" >"$out/scontrol-job-array-multiline.txt"

# Draining: a running job keeps the node busy; the reason holds a '|'.
scontrol update nodename="$node" state=drain reason="disk replacement | ticket 4711"
si >"$out/sinfo-draining.txt"
scancel "$sleeper" "$big" "$array"
sleep 2
si >"$out/sinfo-drained.txt"
scontrol update nodename="$node" state=resume
wait_idle

# Both CPUs taken: allocated.
a=$(sbatch --parsable --job-name=all --cpus-per-task=2 --mem=100M --output=/dev/null "$work/sleep.sh")
wait_state "$a" RUNNING
si >"$out/sinfo-allocated.txt"
scancel "$a"
wait_idle

scontrol update nodename="$node" state=down reason="power supply failed"
si >"$out/sinfo-down.txt"
scontrol update nodename="$node" state=resume
wait_idle

# A node in two partitions is listed twice.
scontrol create partitionname=second nodes="$node" state=up
si >"$out/sinfo-two-partitions.txt"
scontrol delete partitionname=second

# Reservations: maintenance starting now, one next week, a daily one, and
# one that is not maintenance.
scontrol create reservation reservationname=maint-now starttime=now duration=30 \
  nodes="$node" flags=maint users=root >/dev/null
scontrol create reservation reservationname=maint-later starttime=now+7days duration=240 \
  nodes="$node" flags=maint,ignore_jobs users=root >/dev/null
scontrol create reservation reservationname=maint-daily starttime=now+2days duration=60 \
  nodes=ALL flags=maint,daily users=root >/dev/null
scontrol create reservation reservationname=course starttime=now+3days duration=120 \
  nodes="$node" users=root >/dev/null
sleep 2
si >"$out/sinfo-maint.txt"
scontrol --oneliner show reservation >"$out/reservations-oneline.txt"
(unset SLURM_TIME_FORMAT && scontrol show reservation >"$out/reservations-multiline.txt")
for r in maint-now maint-later maint-daily course; do scontrol delete reservationname="$r"; done
scontrol update nodename="$node" state=resume 2>/dev/null || true
echo "fixtures written to $out"
