#!/bin/sh
# The main job: install what is missing, build, and run the demo pipeline
# (generated reads for 8 samples -> merge lanes -> QC) with the shipped plugins.
set -eu
cd "$(dirname "$0")/.."

# Runs a build step quietly; shows its output only when it fails.
quiet() {
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then rm -f "$log"; else cat "$log" >&2; rm -f "$log"; exit 1; fi
}

packaging/install-deps.sh
[ -f build/release/build.ninja ] || quiet meson setup build/release --buildtype=release
quiet meson compile -C build/release

out=build/demo
mkdir -p "$out"
exec build/release/framework/cli/strand run packaging/pipelines/fastq-demo.json \
  --samples packaging/pipelines/fastq-demo.samples.json \
  --equipment packaging/pipelines/fastq-demo.equipment.json \
  --plugin-dir build/release/plugins --store "$out/store" "$@"
