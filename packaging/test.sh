#!/bin/sh
# Installs what is missing, builds, and runs the whole test suite twice: in a
# plain build, and under AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."

# Runs a build step quietly; shows its output only when it fails.
quiet() {
  log=$(mktemp)
  if "$@" >"$log" 2>&1; then rm -f "$log"; else cat "$log" >&2; rm -f "$log"; exit 1; fi
}

packaging/install-deps.sh --test
# The Slurm tests' one-node cluster; when it cannot start they fail and say why.
packaging/slurm/test-cluster.sh start || true

for kind in plain asan; do
  dir=build/test-$kind
  if [ ! -f "$dir/build.ninja" ]; then
    if [ "$kind" = asan ]; then
      quiet meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false
    else
      quiet meson setup "$dir"
    fi
  fi
  echo "== $kind build"
  # Everything, not only what the tests link: the CLI runs the worker program.
  quiet meson compile -C "$dir"
  meson test -C "$dir" --print-errorlogs
done
