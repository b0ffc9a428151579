#!/usr/bin/env bash
# Checks (or with --fix, applies) .clang-format on every tracked C++ file.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/ar-format.$$; then
  grep -m 20 "error:" /tmp/ar-format.$$ || true
  rm -f /tmp/ar-format.$$
  echo "check-format: run tools/check-format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/ar-format.$$
echo "check-format: ${#files[@]} files follow .clang-format"
