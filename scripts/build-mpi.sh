#!/usr/bin/env bash
# Builds the MPI addon (native/mpi → native/mpi/build/Release/relpo_mpi.node) for multi-rank runs
# (docs/distributed.md). Offline: node-gyp (npm's own) compiles against the headers of the Node
# that runs it, and through the MPI's compiler wrapper (mpicc), so any MPI's flags apply.
# MPI is optional: relpo installs and runs without this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mpicc >/dev/null; then
  echo "build:mpi: mpicc not found. Install an MPI first: on Debian/Ubuntu, sudo apt-get install openmpi-bin libopenmpi-dev build-essential; on a cluster, load its MPI module." >&2
  exit 1
fi
# Node's own headers: beside the running node (official builds, nvm) or /usr/include/node (Debian).
nodedir=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "build:mpi: Node's headers are not in $nodedir/include/node (on Debian: sudo apt-get install libnode-dev, or use an official Node build)" >&2
  exit 1
fi
# npm puts its node-gyp on PATH for scripts; run directly, ask npm where it is.
gyp=node-gyp
command -v node-gyp >/dev/null || gyp="node $(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
cd native/mpi
CC=mpicc CXX=mpicxx LINK=mpicc $gyp rebuild --nodedir="$nodedir" --loglevel=warn
echo "build:mpi: built native/mpi/build/Release/relpo_mpi.node with $(command -v mpicc)"
