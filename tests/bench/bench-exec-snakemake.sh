#!/bin/sh
# Strand and Snakemake side by side on the same machine, in the same run:
# N trivial jobs each (Snakemake: a rule that touches its output; Strand: a
# no-op stage over N samples, each task in its own worker process, with the
# store and the signed ledger), N = 100 and 1,000, both with 2 cores, each
# command timed whole (start-up, planning, running, records). Prints the
# milliseconds per job of each.
#
#   bench-exec-snakemake.sh STRAND NOOP_PLUGIN_DIR WORK_DIR
#
# Snakemake is not a dependency of Strand: install it for this benchmark
# alone (Debian: apt-get install snakemake). Without it, only Strand runs.
set -eu
strand=$1
plugins=$2
work=$3
rm -rf "$work"
mkdir -p "$work"

now_ms () { echo $(( $(date +%s%N) / 1000000 )); }

snakemake_version=""
if command -v snakemake >/dev/null 2>&1; then
  snakemake_version=$(snakemake --version 2>/dev/null || echo unknown)
fi

for n in 100 1000; do
  dir="$work/strand-$n"
  mkdir -p "$dir"
  printf '{"name": "noop", "stages": [{"id": "noop", "plugin": "noop-stage"}]}\n' > "$dir/p.json"
  {
    printf '{"samples": ['
    i=1
    while [ "$i" -le "$n" ]; do
      [ "$i" -gt 1 ] && printf ', '
      printf '{"id": "S%d"}' "$i"
      i=$((i + 1))
    done
    printf ']}\n'
  } > "$dir/samples.json"
  t0=$(now_ms)
  "$strand" run "$dir/p.json" --samples "$dir/samples.json" -P "$plugins" --store "$dir/store" \
    --jobs 2 --json > "$dir/out.json"
  t1=$(now_ms)
  strand_ms=$((t1 - t0))
  echo "strand:    $n tasks in $strand_ms ms: $(echo "$strand_ms $n" | awk '{printf "%.2f", $1 / $2}') ms/task"

  if [ -n "$snakemake_version" ]; then
    sdir="$work/snakemake-$n"
    mkdir -p "$sdir"
    cat > "$sdir/Snakefile" <<SNAKE
rule all:
    input: expand("out/{i}.txt", i=range($n))

rule job:
    output: "out/{i}.txt"
    shell: "touch {output}"
SNAKE
    t0=$(now_ms)
    snakemake --cores 2 --quiet -s "$sdir/Snakefile" -d "$sdir" > "$sdir/log.txt" 2>&1
    t1=$(now_ms)
    sm_ms=$((t1 - t0))
    echo "snakemake $snakemake_version: $n jobs in $sm_ms ms: $(echo "$sm_ms $n" | awk '{printf "%.2f", $1 / $2}') ms/job"
    echo "{\"benchmark\":\"exec-vs-snakemake\",\"jobs\":$n,\"strand_ms_per_task\":$(echo "$strand_ms $n" | awk '{printf "%.3f", $1 / $2}'),\"snakemake_ms_per_job\":$(echo "$sm_ms $n" | awk '{printf "%.3f", $1 / $2}')}"
  else
    echo "snakemake: not installed (apt-get install snakemake), skipped"
  fi
done
rm -rf "$work"
