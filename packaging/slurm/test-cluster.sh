#!/bin/sh
# A one-node Slurm cluster on this machine, for the tests of Strand's Slurm
# layer. No systemd: munged, slurmctld and slurmd are started by hand, the way
# a container or a CI runner needs it.
#
#   packaging/slurm/test-cluster.sh start    start what is not running; wait for the node
#   packaging/slurm/test-cluster.sh stop     stop the daemons this script started
#   packaging/slurm/test-cluster.sh status   say what runs; exit 0 only when the node is up
#
# Everything lives in one directory, $STRAND_TEST_SLURM_DIR (default
# /run/strand-test-slurm): slurm.conf, its own munge key and socket, the
# controller's state, the node's spool, pid files and logs. The machine's own
# /etc/slurm and /etc/munge are never touched, and the cluster listens on
# ports 6917 (controller) and 6918 (node), not Slurm's defaults, so it can
# sit beside a real installation. Clients reach it through SLURM_CONF:
#
#   SLURM_CONF=/run/strand-test-slurm/slurm.conf sinfo
#
# `start` is idempotent: with everything up and the configuration unchanged
# it does nothing. When something cannot start, it says what and why (the
# daemon's own error from its log) and exits 1; the reason also goes to
# $dir/failed, where the tests read it. Needs root (slurmd runs jobs as their
# user; munged and slurmctld drop to their own users).
set -eu

dir=${STRAND_TEST_SLURM_DIR:-/run/strand-test-slurm}
conf=$dir/slurm.conf
partition=strand
ctld_port=6917
slurmd_port=6918
here=$(cd "$(dirname "$0")" && pwd)

say() { echo "slurm test cluster: $*"; }

# Records why the cluster is not usable, for this run and for the tests.
fail() {
  say "cannot start: $*" >&2
  { [ -d "$dir" ] && printf '%s\n' "$*" >"$dir/failed"; } 2>/dev/null || true
  exit 1
}

# What a daemon logged about its failure, on one line: its fatal lines, or
# else its last errors (leaving out those every fresh start prints).
log_reason() {
  [ -f "$1" ] || { echo "no log at $1"; return; }
  reason=$(grep -E 'fatal' "$1" | tail -n 2)
  [ -n "$reason" ] || reason=$(grep -E 'error' "$1" |
    grep -v -E 'pmix|PMIx|MPI|state file|backup state|Trying backup' | tail -n 2)
  [ -n "$reason" ] || reason=$(tail -n 2 "$1")
  echo "$(echo "$reason" | sed 's/^\[[^]]*\] //' | tr '\n' ' ')(log: $1)"
}

# Pid from a pid file when that process is alive and is the named program.
live_pid() {
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

# Waits up to $1 tenths of a second for the command that follows while the
# daemon of pid file $2 and name $3 lives; fails with its log ($4) as soon as
# it has died: its pid file is there but the process is not, or there is
# still no pid file after 3 s (a daemon writes it once it has forked).
wait_daemon() {
  tenths=$1 pidfile=$2 name=$3 log=$4
  shift 4
  waited=0
  while [ "$waited" -lt "$tenths" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! live_pid "$pidfile" "$name" >/dev/null && { [ -f "$pidfile" ] || [ "$waited" -gt 30 ]; }; then
      fail "$name exited: $(log_reason "$log")"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  return 1
}

node_state() {
  SLURM_CONF=$conf sinfo --noheader --Node --nodes="$node" --format=%T 2>/dev/null | head -n 1
}

node_ready() {
  case $(node_state) in idle | mixed | allocated | completing | planned) return 0 ;; esac
  return 1
}

stop_one() { # pidfile program
  pid=$(live_pid "$1" "$2") || return 0
  kill "$pid" 2>/dev/null || true
  i=0
  while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  say "stopped $2 ($pid)"
}

stop() {
  stop_one "$dir/slurmd.pid" slurmd
  stop_one "$dir/slurmctld.pid" slurmctld
  stop_one "$dir/munge/munged.pid" munged
}

status() {
  rc=0
  for d in munged:munge/munged.pid slurmctld:slurmctld.pid slurmd:slurmd.pid; do
    name=${d%%:*}
    if pid=$(live_pid "$dir/${d#*:}" "$name"); then say "$name running ($pid)"; else say "$name not running"; rc=1; fi
  done
  if [ -f "$conf" ]; then
    node=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$conf")
    state=$(node_state || true)
    say "node $node: ${state:-no answer}"
    node_ready || rc=1
  fi
  return $rc
}

write_conf() { # node-line -> stdout
  memory=$(echo "$1" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  cpus=$(echo "$1" | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
  cat <<EOF
# Written by packaging/slurm/test-cluster.sh: a one-node cluster for tests.
ClusterName=strand-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to squeue for 10 minutes (there is no slurmdbd).
MinJobAge=600
KillWait=5
MailProg=/bin/true
# A job that does not say how much memory it needs gets its cores' share.
DefMemPerCPU=$((memory / cpus))
$1 NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$partition Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
  [ "$(id -u)" -eq 0 ] || fail "needs root: slurmd runs jobs as their owner and munged must run as user munge (try: sudo $0 start)"
  if ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    "$here/../install-deps.sh" --test || fail "installing slurm-wlm and munge failed"
  fi
  for u in munge slurm; do
    id "$u" >/dev/null 2>&1 || fail "no user '$u' (Debian's munge and slurm-wlm packages create it)"
  done

  mkdir -p "$dir"
  chmod 0755 "$dir"
  rm -f "$dir/failed"

  # The node as slurmd sees it: real CPUs, sockets, cores, threads, memory.
  nodeline=$(slurmd -C 2>&1 | head -n 1) || true
  case $nodeline in NodeName=*RealMemory=*) ;; *) fail "slurmd -C did not describe the node: $nodeline" ;; esac
  node=$(echo "$nodeline" | sed 's/^NodeName=\([^ ]*\).*/\1/')
  nodeline=$(echo "$nodeline" | sed 's/ *UpTime=.*//')

  new=$(write_conf "$nodeline")
  if [ -f "$conf" ] && [ "$(cat "$conf")" != "$new" ]; then
    say "configuration changed; restarting"
    stop
  fi
  printf '%s\n' "$new" >"$conf"
  chmod 0644 "$conf"
  : >"$dir/plugstack.conf"

  # munge: its own key (1 KiB random, munge's alone), socket and logs.
  mkdir -p "$dir/munge"
  chown munge:munge "$dir/munge"
  chmod 0755 "$dir/munge"
  if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key.tmp" bs=1024 count=1 status=none
    chown munge:munge "$dir/munge/munge.key.tmp"
    chmod 0400 "$dir/munge/munge.key.tmp"
    mv "$dir/munge/munge.key.tmp" "$dir/munge/munge.key"
  fi
  if ! live_pid "$dir/munge/munged.pid" munged >/dev/null; then
    rm -f "$dir/munge/munge.socket" "$dir/munge/munge.socket.lock" "$dir/munge/munged.pid"
    out=$(runuser -u munge -- munged --socket="$dir/munge/munge.socket" \
      --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
      --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" 2>&1) ||
      fail "munged: $out"
    say "started munged"
  fi
  wait_daemon 50 "$dir/munge/munged.pid" munged "$dir/munge/munged.log" \
    sh -c "munge -n --socket='$dir/munge/munge.socket' | unmunge --socket='$dir/munge/munge.socket'" ||
    fail "munged does not answer on $dir/munge/munge.socket: $(log_reason "$dir/munge/munged.log")"

  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  chown slurm:slurm "$dir/state" "$dir/log"
  chmod 0755 "$dir/state" "$dir/spool" "$dir/log"

  # A controller that starts is a fresh cluster: no jobs, nodes or
  # reservations left from an earlier one.
  if ! live_pid "$dir/slurmctld.pid" slurmctld >/dev/null; then
    rm -f "$dir/slurmctld.pid"
    find "$dir/state" -mindepth 1 -delete
    : >"$dir/log/slurmctld.log"
    chown slurm:slurm "$dir/log/slurmctld.log"
    SLURM_CONF=$conf slurmctld -f "$conf" ||
      fail "slurmctld: $(log_reason "$dir/log/slurmctld.log")"
    say "started slurmctld"
  fi
  wait_daemon 200 "$dir/slurmctld.pid" slurmctld "$dir/log/slurmctld.log" \
    env SLURM_CONF="$conf" scontrol ping ||
    fail "slurmctld does not answer on port $ctld_port: $(log_reason "$dir/log/slurmctld.log")"

  if ! live_pid "$dir/slurmd.pid" slurmd >/dev/null; then
    rm -f "$dir/slurmd.pid"
    find "$dir/spool" -mindepth 1 -delete
    : >"$dir/log/slurmd.log"
    SLURM_CONF=$conf slurmd -f "$conf" -N "$node" ||
      fail "slurmd: $(log_reason "$dir/log/slurmd.log")"
    say "started slurmd"
  fi
  if ! wait_daemon 300 "$dir/slurmd.pid" slurmd "$dir/log/slurmd.log" node_ready; then
    reason=$(SLURM_CONF=$conf sinfo --noheader --Node --nodes="$node" --format='%T %E' 2>&1 | head -n 1)
    fail "node $node is not idle after 30 s: ${reason:-no answer from sinfo}; $(log_reason "$dir/log/slurmd.log")"
  fi
  say "node $node is $(node_state) in partition '$partition' (SLURM_CONF=$conf)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
