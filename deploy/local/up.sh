#!/usr/bin/env bash
# The one command that runs ar-suite locally: installs missing system packages, builds
# ar-suite, arctl and ar-demo, starts ar-suite in the background (embedded log in var/data,
# memory read models rebuilt from the log at start), waits until it is healthy, feeds a
# generated history through the gateway and prints what to try next. Stop it with
# deploy/local/down.sh.
#
# Running it again is safe: a running ar-suite is left alone, and the demo feed repeats
# the same ids, which the services recognise as already done.
#
#   AR_BUILD_DIR=...        build directory (default build/release, shared with tests/run.sh)
#   AR_VAR_DIR=...          data, log and pid file (default var/)
#   AR_PORT=...             gRPC port on 127.0.0.1 (default 50051)
#   AR_UP_SKIP_INSTALL=1    do not run install-deps.sh
#   AR_UP_SKIP_BUILD=1      use the binaries already in AR_BUILD_DIR
#   AR_UP_SKIP_DEMO=1       start without feeding the demo
#   AR_UP_DEMO_CUSTOMERS=N  demo size (default 2000 customers)
#   AR_UP_DEMO_MONTHS=N     demo history length, ending yesterday (default 6 months)
#   AR_UP_TIMEOUT=...       seconds to wait for ar-suite to become healthy (default 120)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath -m "${AR_BUILD_DIR:-$root/build/release}")
var=$(realpath -m "${AR_VAR_DIR:-$root/var}")
port=${AR_PORT:-50051}
address=127.0.0.1:$port
suite_bin=$build/services/suite/ar-suite
arctl_bin=$build/tools/arctl/arctl
demo_bin=$build/tools/demo/ar-demo
pid_file=$var/ar-suite.pid
log_file=$var/ar-suite.log

if [ "${AR_UP_SKIP_INSTALL:-0}" != "1" ]; then
  "$root/deploy/local/install-deps.sh"
fi

if [ "${AR_UP_SKIP_BUILD:-0}" != "1" ]; then
  echo "== build ar-suite, arctl and ar-demo ($build)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target suite_binary arctl ar_demo
fi
for binary in "$suite_bin" "$arctl_bin" "$demo_bin"; do
  if [ ! -x "$binary" ]; then
    echo "up.sh: $binary is missing; build it (run without AR_UP_SKIP_BUILD=1)" >&2
    exit 1
  fi
done

arctl() { "$arctl_bin" --server "$address" "$@"; }

# The pid in the pid file, if that process is alive and is an ar-suite (a stale file may
# name a pid the system has since given to something else).
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "ar-suite" || return 1
  echo "$pid"
}

mkdir -p "$var"
if pid=$(running_pid); then
  echo "== ar-suite is already running (pid $pid); leaving it as it is"
else
  echo "== start ar-suite on $address (data: $var/data, log: $log_file)"
  # The wall clock keeps each region's business date current, but starts no region by
  # itself: the demo starts them on its first day and closes every day up to yesterday.
  # The demo's invoices are history the subsidiaries already issued: an account on credit
  # hold gets them flagged, not rejected.
  nohup "$suite_bin" --data_dir="$var/data" --listen="$address" \
    --wall_clock_starts_regions=false --credit_hold_policy=flag >>"$log_file" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
fi

echo "== wait until ar-suite is healthy"
deadline=$((SECONDS + ${AR_UP_TIMEOUT:-120}))
until arctl --timeout 2s health >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pid_file"
    echo "up.sh: ar-suite exited during start; the end of $log_file:" >&2
    tail -n 20 "$log_file" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "up.sh: ar-suite (pid $pid) not healthy after ${AR_UP_TIMEOUT:-120}s; see $log_file" >&2
    exit 1
  fi
  sleep 0.2
done
arctl health

if [ "${AR_UP_SKIP_DEMO:-0}" != "1" ]; then
  # A generated history (tools/demo): 3 regions, 6 subsidiaries, customers that pay
  # promptly, late, chronically late, stop paying or dispute; each day closed in every
  # region, so aging, grades, dunning and the overdue stream come alive. Ids are fixed by
  # the seed: a second run is recognised as a repeat.
  echo "== demo feed: ${AR_UP_DEMO_CUSTOMERS:-2000} customers, ${AR_UP_DEMO_MONTHS:-6} months (tenant demo)"
  "$demo_bin" --server="$address" --customers="${AR_UP_DEMO_CUSTOMERS:-2000}" \
    --months="${AR_UP_DEMO_MONTHS:-6}"
fi

server_hint=""
if [ "$port" != "50051" ]; then server_hint=" (export AR_SERVER=$address)"; fi
down_command=deploy/local/down.sh
if [ -n "${AR_VAR_DIR:-}" ]; then down_command="AR_VAR_DIR=$var deploy/local/down.sh"; fi
cat <<TRY

ar-suite is running: pid $pid, gRPC on $address$server_hint
  data  $var/data   (the embedded event log; read models are rebuilt from it at start)
  log   $log_file

Try (arctl is $arctl_bin; e.g. export PATH="$(dirname "$arctl_bin"):\$PATH"):
  arctl overdue --region eu                # the collector's overdue table
  arctl aging --group-by region            # aging by region
  arctl customer --account C00042          # one customer, every service
  arctl credit show --account C00042       # score, grade and why
  arctl statement --account C00042 --currency EUR
  arctl kpis                               # DSO and CEI by region and month
  arctl clock show                         # each region's business date
  arctl watch --cursor-file /tmp/ar-watch  # the live overdue stream; in another shell:
  arctl clock advance --region eu --to <a later date>
  arctl --help

Stop it: $down_command    (up.sh starts it again: nothing is lost)
TRY
