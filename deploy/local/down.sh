#!/usr/bin/env bash
# Stops the ar-suite that deploy/local/up.sh started: SIGTERM (graceful: running calls
# finish, consumers stop, producers flush), then waits for it to exit.
#
#   AR_VAR_DIR=...        where up.sh keeps the pid file (default var/)
#   AR_DOWN_TIMEOUT=...   seconds to wait before SIGKILL (default 30; the log is
#                         crash-safe, so a SIGKILL loses nothing acknowledged)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
var=$(realpath -m "${AR_VAR_DIR:-$root/var}")
pid_file=$var/ar-suite.pid

if [ ! -f "$pid_file" ]; then
  echo "ar-suite is not running (no $pid_file)"
  exit 0
fi
pid=$(cat "$pid_file")
if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "ar-suite"; then
  echo "ar-suite is not running (stale pid file removed)"
  rm -f "$pid_file"
  exit 0
fi

echo "stopping ar-suite (pid $pid)"
kill -TERM "$pid"
deadline=$((SECONDS + ${AR_DOWN_TIMEOUT:-30}))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "ar-suite did not stop within ${AR_DOWN_TIMEOUT:-30}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$pid_file"
echo "ar-suite stopped"
