#!/bin/sh
# Audit log and kill switch under load (docs/PERFORMANCE.md, "Agent control and audit in the
# gateway"). Loopback only; needs wrk and python3.
#   [ROUNDS=3] tests/gateway/perf/audit_perf.sh BUILD_DIR [SECONDS]
set -eu
BUILD=${1:?build dir}
SECS=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WARDEN=$(cd "$BUILD" && pwd)/tools/warden/warden
UPSTREAM_BIN=$(cd "$BUILD" && pwd)/tests/gateway/warden_scripted_upstream
WORK=$(mktemp -d /tmp/warden-audit-perf.XXXXXX)
PORT_OFF=18191
PORT_ON=18192
PORT_AUDIT=18193

cleanup() {
  [ -n "${OFF_PID:-}" ] && kill "$OFF_PID" 2>/dev/null || true
  [ -n "${ON_PID:-}" ] && kill "$ON_PID" 2>/dev/null || true
  [ -n "${AUDIT_PID:-}" ] && kill "$AUDIT_PID" 2>/dev/null || true
  [ -n "${LOAD_PID:-}" ] && kill "$LOAD_PID" 2>/dev/null || true
  [ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/up.in"
"$UPSTREAM_BIN" < "$WORK/up.in" > "$WORK/up.port" &
UP_PID=$!
exec 9>"$WORK/up.in"
sleep 0.5
UP=http://127.0.0.1:$(head -1 "$WORK/up.port")/v1

cd "$ROOT"
"$WARDEN" serve --listen 127.0.0.1:$PORT_OFF --threads 2 --upstream "$UP" --audit off \
  --control off 2>"$WORK/off.log" &
OFF_PID=$!
"$WARDEN" serve --listen 127.0.0.1:$PORT_ON --threads 2 --upstream "$UP" \
  --audit "sqlite:$WORK/audit.db" --control "sqlite:$WORK/control.db" 2>"$WORK/on.log" &
ON_PID=$!
"$WARDEN" serve --listen 127.0.0.1:$PORT_AUDIT --threads 2 --upstream "$UP" \
  --audit "sqlite:$WORK/audit-only.db" --control off 2>"$WORK/audit.log" &
AUDIT_PID=$!
sleep 2

# Rounds alternate the three gateways, so that a slower minute of the machine falls on all of
# them; the ratios are taken within each round, and their median is the figure to quote.
ROUNDS=${ROUNDS:-3}
: > "$WORK/results"
for round in $(seq "$ROUNDS"); do
  for what in "moderation.lua /v1/moderations" "chat.lua /v1/chat/completions"; do
    set -- $what
    for port in $PORT_OFF $PORT_AUDIT $PORT_ON; do
      wrk -t2 -c64 -d${SECS}s --latency -s "$HERE/$1" http://127.0.0.1:$port$2 \
        | awk -v r="$round" -v ep="$2" -v port="$port" \
            '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {print r, ep, port, rps, p99}' \
        >> "$WORK/results"
    done
  done
done
python3 - "$WORK/results" "$PORT_OFF" "$PORT_AUDIT" "$PORT_ON" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
off, audit, on = sys.argv[2:5]
label = {off: "audit off, control off", audit: "audit on,  control off", on: "audit on,  control on "}
for ep in dict.fromkeys(r[1] for r in rows):
    by = {}
    for r, e, port, rps, p99 in rows:
        if e == ep:
            by.setdefault(port, {})[r] = (float(rps), p99)
    for port in (off, audit, on):
        runs = by[port]
        rps = statistics.median(v[0] for v in runs.values())
        line = f"{ep} {label[port]}: median {rps:,.0f} req/s over {len(runs)} rounds"
        line += " (" + ", ".join(f"{v[0]:,.0f} p99 {v[1]}" for v in runs.values()) + ")"
        if port != off:
            ratios = [runs[r][0] / by[off][r][0] for r in runs]
            line += f"; ratio to off: median {statistics.median(ratios):.3f} (" + \
                ", ".join(f"{x:.3f}" for x in ratios) + ")"
        print(line)
PY

echo "== kill switch under load: chat load on the audited gateway, then \`warden kill --all\`"
wrk -t2 -c32 -d30s -s "$HERE/chat.lua" http://127.0.0.1:$PORT_ON/v1/chat/completions >/dev/null &
LOAD_PID=$!
sleep 3
python3 "$HERE/kill_latency.py" "$WARDEN" "sqlite:$WORK/control.db" 127.0.0.1:$PORT_ON
"$WARDEN" revive --all --store "sqlite:$WORK/control.db" >/dev/null
records=$(sqlite3 "$WORK/audit.db" 'select count(*) from records' 2>/dev/null || echo '?')
echo "audit records written: $records"
