#!/usr/bin/env bash
# make bench: times deployer against a local moto and prints a Markdown table.
#   RUNS      runs per deployer measurement (median, min-max)      default 5
#   REF_RUNS  runs of the manual's reference script, when present   default 3
#   BIN       the deployer binary                                   default target/release/deployer
# The reference is the manual as aws CLI commands, tests/manual/deploy.sh (it needs the aws CLI, jq and zip).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
REF_RUNS="${REF_RUNS:-3}"
BIN="${BIN:-target/release/deployer}"
REFERENCE="tests/manual/deploy.sh"
WORK="$(mktemp -d -t deployer-bench.XXXXXX)"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export NO_PROXY=127.0.0.1,localhost AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

URL="$(tests/moto.sh start "$WORK/moto.pid")"
trap 'tests/moto.sh stop "$WORK/moto.pid"; rm -rf "$WORK"' EXIT
reset_moto() { curl -s -X POST "$URL/moto-api/reset" >/dev/null; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# Median and range of the numbers on stdin, as "median (min-max)".
stats() { sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%d ms (%d-%d)", m, v[1], v[NR]}'; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2)?v[(NR+1)/2]:int((v[NR/2]+v[NR/2+1])/2)}'; }

echo "measuring fresh deploys, no-op re-runs and peak RSS ($RUNS runs)..." >&2
: >"$WORK/fresh"; : >"$WORK/noop"; : >"$WORK/idle"; : >"$WORK/rss"
for i in $(seq 1 "$RUNS"); do
  reset_moto
  state="$WORK/fresh-$i/state.json"
  t0=$(now_ms)
  /usr/bin/time -f "%M" -o "$WORK/rss-$i" "$BIN" run --service bench --domain bench.com --backend fixtures/backend \
    --frontend fixtures/frontend --endpoint-url "$URL" --state "$state" --output json >"$WORK/fresh-$i.json"
  echo $(( $(now_ms) - t0 )) >>"$WORK/fresh"
  cat "$WORK/rss-$i" >>"$WORK/rss"
  t0=$(now_ms)
  "$BIN" run --state "$state" --output json >"$WORK/noop-$i.json"
  echo $(( $(now_ms) - t0 )) >>"$WORK/noop"
  grep -q '"changed":0' "$WORK/noop-$i.json" || { echo "a no-op re-run changed something" >&2; exit 1; }
  grep -q '"writes":0' "$WORK/noop-$i.json" || { echo "a no-op re-run wrote to AWS" >&2; exit 1; }
  t0=$(now_ms)
  "$BIN" resume --state "$state" --output json >/dev/null
  echo $(( $(now_ms) - t0 )) >>"$WORK/idle"
done

echo "measuring resume after a kill at the start of 04-websocket..." >&2
: >"$WORK/resume"; : >"$WORK/remaining"
for i in $(seq 1 "$RUNS"); do
  reset_moto
  state="$WORK/resume-$i/state.json"
  mkdir -p "$(dirname "$state")"
  # exec, so that the coprocess PID is deployer's own and kill -9 reaches it.
  coproc DEPLOY { exec "$BIN" run --service bench --domain bench.com --backend fixtures/backend \
    --frontend fixtures/frontend --endpoint-url "$URL" --state "$state" --output json 2>/dev/null; }
  while IFS= read -r line <&"${DEPLOY[0]}"; do
    [[ "$line" == *'"step_started"'*'"04-websocket"'* ]] && break
  done
  kill -9 "$DEPLOY_PID" 2>/dev/null || true
  wait "$DEPLOY_PID" 2>/dev/null || true
  t0=$(now_ms)
  "$BIN" resume --state "$state" --output json >"$WORK/resume-$i.json"
  echo $(( $(now_ms) - t0 )) >>"$WORK/resume"
  # What the same steps took in the fresh run of the same index.
  python3 - "$WORK/fresh-$i.json" >>"$WORK/remaining" <<'PY'
import json, sys
todo = {"04-websocket", "05-frontend", "06-domain", "07-stages", "08-verify"}
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(int(1000 * sum(e["seconds"] for e in events if e["event"] == "step_finished" and e["step"] in todo)))
PY
done

echo "measuring a frontend of 2,000 files with 10 changed..." >&2
site="$WORK/site"; mkdir -p "$site/dist/pages"
cp -R fixtures/frontend/dist/. "$site/dist/"
for n in $(seq -w 0 1999); do echo "<p>page $n</p>" >"$site/dist/pages/page-$n.html"; done
reset_moto
"$BIN" run --service bench --backend fixtures/backend --frontend "$site" --endpoint-url "$URL" \
  --state "$WORK/site/state.json" --output json >/dev/null
aws --endpoint-url "$URL" s3 mb s3://bench-cli-sync >/dev/null
aws --endpoint-url "$URL" s3 sync "$site/dist" s3://bench-cli-sync --only-show-errors
: >"$WORK/sync"; : >"$WORK/cli"; : >"$WORK/uploads"
for i in $(seq 1 "$RUNS"); do
  for n in $(seq 0 200 1999); do printf '<p>page %04d, edit %d</p>\n' "$n" "$i" >"$site/dist/pages/page-$(printf %04d "$n").html"; done
  t0=$(now_ms)
  "$BIN" step 05-frontend --state "$WORK/site/state.json" --output json >"$WORK/sync-$i.json"
  echo $(( $(now_ms) - t0 )) >>"$WORK/sync"
  grep -c '"resource":"object pages/' "$WORK/sync-$i.json" >>"$WORK/uploads"
  t0=$(now_ms)
  aws --endpoint-url "$URL" s3 sync "$site/dist" s3://bench-cli-sync --only-show-errors
  echo $(( $(now_ms) - t0 )) >>"$WORK/cli"
done

reference="not run ($REFERENCE not found)"
ratio="-"
if [[ "$REF_RUNS" -gt 0 && -f "$REFERENCE" ]]; then
  echo "running the manual's reference script ($REF_RUNS runs, about 70 s each)..." >&2
  : >"$WORK/ref"
  for i in $(seq 1 "$REF_RUNS"); do
    reset_moto
    t0=$(now_ms)
    WORK_DIR="$WORK/ref-$i" bash "$REFERENCE" "$URL" bench bench.com fixtures/backend fixtures/frontend/dist >/dev/null 2>&1 || true
    echo $(( $(now_ms) - t0 )) >>"$WORK/ref"
  done
  reference="$(stats <"$WORK/ref")"
  ratio="$(awk -v r="$(median <"$WORK/ref")" -v d="$(median <"$WORK/fresh")" 'BEGIN {printf "%.0fx faster", r / d}')"
fi

size=$(stat -c %s "$BIN")
cat <<TABLE
| measurement | deployer | comparison |
|---|---|---|
| fresh deploy of the fixtures, steps 01-08 | $(stats <"$WORK/fresh") | manual's script: $reference; **$ratio** |
| no-op \`run\` (every resource read back, verify included) | $(stats <"$WORK/noop") | $(awk -v n="$(median <"$WORK/noop")" -v f="$(median <"$WORK/fresh")" 'BEGIN {printf "%.1f %% of a fresh deploy", 100 * n / f}') |
| \`resume\` with nothing left to do | $(stats <"$WORK/idle") | |
| resume after a kill at 04-websocket | $(stats <"$WORK/resume") | steps 04-08 in a fresh run: $(stats <"$WORK/remaining") |
| frontend sync, 2,000 files with 10 changed | $(stats <"$WORK/sync"), $(median <"$WORK/uploads") uploads | \`aws s3 sync\` of the same change: $(stats <"$WORK/cli") |
| peak RSS of a fresh deploy | $(median <"$WORK/rss") KB ($(sort -n "$WORK/rss" | head -1)-$(sort -n "$WORK/rss" | tail -1)) | |
| binary size ($BIN) | $((size / 1024 / 1024)) MB ($size bytes) | |
TABLE
