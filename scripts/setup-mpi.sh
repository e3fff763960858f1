#!/usr/bin/env bash
# Optional set-up for multi-rank runs (docs/distributed.md), after scripts/setup.sh: Open MPI and a
# C compiler from Debian, then the MPI addon (npm run build:mpi). Safe to run again. Needs root (or
# sudo) for apt. relpo runs in one process without any of this.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null || ! command -v cc >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq openmpi-bin libopenmpi-dev build-essential >/dev/null
fi
echo "setup-mpi: $(mpirun --version 2>&1 | sed -n 1p)"
npm run build:mpi
