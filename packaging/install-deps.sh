#!/bin/sh
# Installs the Debian packages Strand needs to build, run and test, and only
# those that are missing. Quiet when everything is already there.
#
#   packaging/install-deps.sh          build and run dependencies
#   packaging/install-deps.sh --test   also what the test suite uses
set -eu

packages="gcc libc6-dev make pkg-config meson ninja-build
  libglib2.0-dev libjson-glib-dev libltdl-dev libsodium-dev libarchive-dev
  libhdf5-dev libhts-dev libsqlite3-dev libssl-dev zlib1g-dev
  bwa samtools bcftools tabix bowtie2-examples"
packages="$packages libexpat1-dev"
if [ "${1:-}" = "--test" ]; then
  packages="$packages g++ python3 python3-jsonschema python3-nacl
    python3-prov python3-rdflib graphviz hdf5-tools"
  # A one-node Slurm cluster for the executor tests (packaging/slurm/).
  packages="$packages slurm-wlm munge"
fi

missing=""
for p in $packages; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "install-deps: need root (or sudo) to install:$missing" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
# shellcheck disable=SC2086
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
