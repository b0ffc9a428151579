#!/usr/bin/env bash
# A shortened run of the README's run command (ctest label e2e): up.sh against an
# already-built tree (no install, no build) with a temporary var dir, a free port and a
# small demo (30 customers, 2 months); checks health, the demo feed and arctl's answers,
# that a second up.sh publishes nothing new, then down.sh. Needs AR_BUILD_DIR (ctest
# passes its build directory).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${AR_BUILD_DIR:?set AR_BUILD_DIR to a build directory holding ar-suite and arctl}"
var=$(mktemp -d "${TMPDIR:-/tmp}/ar-up-test.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export AR_UP_SKIP_INSTALL=1 AR_UP_SKIP_BUILD=1 AR_VAR_DIR=$var AR_PORT=$port AR_BUILD_DIR
arctl=$AR_BUILD_DIR/tools/arctl/arctl

cleanup() {
  "$root/deploy/local/down.sh" >/dev/null 2>&1 || true
  rm -rf "$var"
}
trap cleanup EXIT

fail() {
  echo "up_test: FAIL: $*" >&2
  echo "--- ar-suite log:" >&2
  cat "$var/ar-suite.log" >&2 || true
  exit 1
}
expect() {  # expect <what> <haystack> <needle>
  grep -qF -- "$3" <<<"$2" || fail "$1: expected '$3' in:"$'\n'"$2"
}

export AR_UP_DEMO_CUSTOMERS=30 AR_UP_DEMO_MONTHS=2
today=$(date -u +%F)
first=$("$root/deploy/local/up.sh" 2>&1) || fail "up.sh failed:"$'\n'"$first"
expect "first up.sh" "$first" "127.0.0.1:$port: SERVING"
expect "first up.sh" "$first" "days fed"
expect "first up.sh" "$first" "deploy/local/down.sh"
# The "total" row of ar-demo's summary: sent, published, duplicate, conflict, rejected,
# unimplemented, unavailable.
published=$(awk '/^total/ {print $6}' <<<"$first")
conflicts=$(awk '/^total/ {print $8}' <<<"$first")
[ "${published:-0}" -gt 0 ] || fail "the demo published nothing:"$'\n'"$first"
[ "$conflicts" == "0" ] || fail "the demo met conflicts:"$'\n'"$first"

ar() { "$arctl" --server "127.0.0.1:$port" "$@"; }
clock=$(ar clock show) || fail "arctl clock show"
expect "every region's business date is today after the demo" "$clock" "$today"
invoices=$(ar invoice list --account C00001) || fail "arctl invoice list"
expect "C00001's invoices" "$invoices" "C00001-"
aging=$(ar aging) || fail "arctl aging:"$'\n'"$aging"
expect "aging report" "$aging" "aging of tenant demo"
balance=$(ar balance --account C00001) || fail "arctl balance"

second=$("$root/deploy/local/up.sh" 2>&1) || fail "second up.sh failed:"$'\n'"$second"
expect "second up.sh" "$second" "already running"
published_again=$(awk '/^total/ {print $6}' <<<"$second")
[ "$published_again" == "0" ] || fail "the second feed published again:"$'\n'"$second"
balance_again=$(ar balance --account C00001)
[ "$balance_again" == "$balance" ] || fail "the second feed changed a balance"

down=$("$root/deploy/local/down.sh") || fail "down.sh failed"
expect "down.sh" "$down" "ar-suite stopped"
[ ! -f "$var/ar-suite.pid" ] || fail "down.sh left the pid file"
if "$arctl" --server "127.0.0.1:$port" --timeout 1s health >/dev/null 2>&1; then fail "still serving after down.sh"; fi
echo "up_test: ok"
