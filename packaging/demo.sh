#!/bin/sh
# The main job: install what is missing, build, and run the packaged germline
# pipeline with the shipped plugins: a simulated sequencing run of 8 samples
# against the lambda phage genome -> demultiplexing -> QC -> bwa mem ->
# bcftools -> each sample's calls against the simulator's truth.
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
exec build/release/framework/cli/strand run packaging/pipelines/germline-lambda.json \
  --samples packaging/pipelines/germline-lambda.samples.json \
  --equipment packaging/pipelines/germline-lambda.equipment.json \
  --sample-types packaging/sample-types.json \
  --plugin-dir build/release/plugins --store "$out/store" "$@"
