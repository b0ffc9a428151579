#!/usr/bin/env bash
# The one command that runs ar-suite locally: installs missing system packages, builds
# ar-suite and arctl, starts ar-suite in the background (embedded log in var/data, memory
# read models rebuilt from the log at start), waits until it is healthy, feeds a small
# demo through arctl and prints what to try next. Stop it with deploy/local/down.sh.
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
#   AR_UP_TIMEOUT=...       seconds to wait for ar-suite to become healthy (default 120)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(realpath -m "${AR_BUILD_DIR:-$root/build/release}")
var=$(realpath -m "${AR_VAR_DIR:-$root/var}")
port=${AR_PORT:-50051}
address=127.0.0.1:$port
suite_bin=$build/services/suite/ar-suite
arctl_bin=$build/tools/arctl/arctl
pid_file=$var/ar-suite.pid
log_file=$var/ar-suite.log

if [ "${AR_UP_SKIP_INSTALL:-0}" != "1" ]; then
  "$root/deploy/local/install-deps.sh"
fi

if [ "${AR_UP_SKIP_BUILD:-0}" != "1" ]; then
  echo "== build ar-suite and arctl ($build)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target suite_binary arctl
fi
for binary in "$suite_bin" "$arctl_bin"; do
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
  nohup "$suite_bin" --data_dir="$var/data" --listen="$address" >>"$log_file" 2>&1 </dev/null &
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

# A small history: two currencies, partial payments, a payment that arrives before its
# invoice, a credit note, unapplied cash, a bounced cheque. Fixed ids and dates, so a
# second run is recognised as a repeat.
demo_feed() {
  # ACME GmbH (EU, EUR): one invoice paid in full, one paid in part.
  arctl invoice issue INV-1001 --account ACME-GMBH --name "ACME GmbH" --region eu --subsidiary de-gmbh \
    --currency EUR --amount 1000.00 --tax 19 --issue-date 2026-09-01 --terms net:30
  arctl invoice issue INV-1002 --account ACME-GMBH --name "ACME GmbH" --region eu --subsidiary de-gmbh \
    --currency EUR --line 10:250.00:19:Consulting --issue-date 2026-10-01 --terms net:30
  arctl payment record PAY-5001 --account ACME-GMBH --region eu --subsidiary de-gmbh \
    --amount 1190.00 --currency EUR --value-date 2026-09-28 --reference INV-1001
  arctl payment record PAY-5002 --account ACME-GMBH --region eu --subsidiary de-gmbh \
    --amount 1000.00 --currency EUR --value-date 2026-10-25
  # Globex (US, USD): licences on end-of-month terms, a partial payment, a credit note.
  arctl invoice issue INV-2001 --account GLOBEX-INC --name "Globex Inc" --region us --subsidiary us-inc \
    --currency USD --line 3:400.00:0:Licences --issue-date 2026-09-15 --terms eom:30
  arctl invoice issue INV-2002 --account GLOBEX-INC --name "Globex Inc" --region us --subsidiary us-inc \
    --currency USD --amount 800.00 --issue-date 2026-10-15 --terms net:45
  arctl payment record PAY-6001 --account GLOBEX-INC --region us --subsidiary us-inc \
    --amount 500.00 --currency USD --method card --value-date 2026-10-20
  arctl invoice credit-note INV-2002 --id CN-2001 --amount 100.00 --date 2026-10-22 --reason "damaged goods"
  # Initech (EU, EUR): the payment names an invoice that is only issued afterwards; it is
  # held, then applied when the invoice appears.
  arctl payment record PAY-7001 --account INITECH-LTD --region eu --subsidiary uk-ltd \
    --amount 600.00 --currency EUR --value-date 2026-10-02 --allocate INV-3001=600.00
  arctl invoice issue INV-3001 --account INITECH-LTD --name "Initech Ltd" --region eu --subsidiary uk-ltd \
    --currency EUR --amount 600.00 --issue-date 2026-10-01 --due-date 2026-10-31
  # Hooli (US, USD): pays more than it owes; the rest is unapplied cash.
  arctl invoice issue INV-5001 --account HOOLI --name "Hooli" --region us --subsidiary us-inc \
    --currency USD --amount 100.00 --issue-date 2026-10-03 --terms net:30
  arctl payment record PAY-6101 --account HOOLI --region us --subsidiary us-inc \
    --amount 250.00 --currency USD --value-date 2026-10-10
  # Umbrella (EU, EUR): a cheque that bounces; the reversal re-opens the invoice.
  arctl invoice issue INV-4001 --account UMBRELLA-SA --name "Umbrella SA" --region eu --subsidiary fr-sa \
    --currency EUR --amount 450.00 --tax 20 --issue-date 2026-10-05 --terms net:14
  arctl payment record PAY-8001 --account UMBRELLA-SA --region eu --subsidiary fr-sa \
    --amount 540.00 --currency EUR --method cheque --value-date 2026-10-18
  # A reversal is not repeatable (a second one is refused), so it runs only once.
  if arctl --json payment show PAY-8001 | grep -q '"reversed":true'; then
    echo "payment PAY-8001: already reversed"
  else
    arctl payment reverse PAY-8001 --reason bounced --date 2026-10-21
  fi
}

if [ "${AR_UP_SKIP_DEMO:-0}" != "1" ]; then
  echo "== demo feed (tenant demo)"
  demo_feed
fi

server_hint=""
if [ "$port" != "50051" ]; then server_hint=" (export AR_SERVER=$address)"; fi
down_command=deploy/local/down.sh
if [ -n "${AR_VAR_DIR:-}" ]; then down_command="AR_VAR_DIR=$var deploy/local/down.sh"; fi
cat <<TRY

ar-suite is running: pid $pid, gRPC on $address$server_hint
  data  $var/data   (the embedded event log; read models are rebuilt from it at start)
  log   $log_file

Live today: invoicing and payments. Credit-risk, collections, the gateway and the
overdue stream are not built yet.

Try (arctl is $arctl_bin; e.g. export PATH="$(dirname "$arctl_bin"):\$PATH"):
  arctl invoice list --account ACME-GMBH
  arctl invoice show INV-3001                 # paid by a payment that arrived first
  arctl balance --account GLOBEX-INC          # after a partial payment and a credit note
  arctl statement --account UMBRELLA-SA --currency EUR   # the bounced cheque
  arctl unapplied --account HOOLI
  arctl payment record PAY-9001 --account ACME-GMBH --amount 250.00 --currency EUR
  arctl --json invoice show INV-1002
  arctl --help

Stop it: $down_command    (up.sh starts it again: nothing is lost)
TRY
