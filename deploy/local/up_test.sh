#!/usr/bin/env bash
# A shortened run of the README's run command (ctest label e2e): up.sh against an
# already-built tree (no install, no build) with a temporary var dir and a free port;
# checks health, the demo feed and arctl's answers, that a second up.sh is harmless, then
# down.sh. Needs AR_BUILD_DIR (ctest passes its build directory).
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

first=$("$root/deploy/local/up.sh" 2>&1) || fail "up.sh failed:"$'\n'"$first"
expect "first up.sh" "$first" "127.0.0.1:$port: SERVING"
expect "first up.sh" "$first" "issued invoice INV-1001 at ar.invoicing.events/"
expect "first up.sh" "$first" "reversed payment PAY-8001 at ar.payments.events/"
expect "first up.sh" "$first" "deploy/local/down.sh"

balance=$("$arctl" --server "127.0.0.1:$port" balance --account GLOBEX-INC) || fail "arctl balance"
expect "GLOBEX-INC balance (1200 + 800 - 500 paid - 100 credited)" "$balance" "USD  1400.00"
paid_first=$("$arctl" --server "127.0.0.1:$port" invoice show INV-3001) || fail "arctl invoice show"
expect "INV-3001 paid by the payment that came before it" "$paid_first" "status     paid"
unapplied=$("$arctl" --server "127.0.0.1:$port" unapplied --account HOOLI) || fail "arctl unapplied"
expect "HOOLI unapplied cash" "$unapplied" "USD     150.00"

second=$("$root/deploy/local/up.sh" 2>&1) || fail "second up.sh failed:"$'\n'"$second"
expect "second up.sh" "$second" "already running"
expect "second up.sh" "$second" "invoice INV-1001: already issued with this content"
expect "second up.sh" "$second" "payment PAY-8001: already reversed"
balance_again=$("$arctl" --server "127.0.0.1:$port" balance --account GLOBEX-INC)
[ "$balance_again" == "$balance" ] || fail "the second feed changed a balance"

down=$("$root/deploy/local/down.sh") || fail "down.sh failed"
expect "down.sh" "$down" "ar-suite stopped"
[ ! -f "$var/ar-suite.pid" ] || fail "down.sh left the pid file"
if "$arctl" --server "127.0.0.1:$port" --timeout 1s health >/dev/null 2>&1; then fail "still serving after down.sh"; fi
echo "up_test: ok"
