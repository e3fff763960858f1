#!/usr/bin/env bash
# mpirun whose Ctrl-C stops `relpo train` cleanly on every rank (docs/distributed.md, "Stopping").
# Open MPI's mpirun answers SIGINT by killing the ranks (SIGTERM, then SIGKILL a second later), but
# forwards SIGUSR1 to them, which relpo train takes as "finish this step, write a checkpoint, stop"
# (every rank at the same step). mpirun runs here in a session of its own, so the terminal's Ctrl-C
# reaches this script alone; the first Ctrl-C (or SIGTERM) becomes SIGUSR1 for mpirun, a second one
# SIGINT (mpirun's kill; the last checkpoint stays whole). The exit status is mpirun's.
# usage: bash scripts/mpirun-graceful.sh [mpirun options] -np N relpo train …   (stdin is not forwarded)
set -u
setsid mpirun "$@" &
pid=$!
stops=0
stop() {
  stops=$((stops + 1))
  if [ "$stops" -eq 1 ]; then
    echo "mpirun-graceful: every rank stops after this step and writes a checkpoint (Ctrl-C again to kill at once)" >&2
    kill -USR1 "$pid" 2>/dev/null
  else
    kill -INT "$pid" 2>/dev/null
  fi
}
trap stop INT TERM
status=0
# wait returns early when a trapped signal arrives: wait again until mpirun has exited.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  status=$?
done
wait "$pid" 2>/dev/null
last=$?
[ "$last" -ne 127 ] && status=$last
exit "$status"
