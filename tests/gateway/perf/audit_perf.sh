#!/bin/sh
# Audit log and kill switch under load (docs/PERFORMANCE.md, "Agent control and audit in the
# gateway"). Loopback only; needs wrk and python3.
#   tests/gateway/perf/audit_perf.sh BUILD_DIR [SECONDS]
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

for what in "moderation.lua /v1/moderations" "chat.lua /v1/chat/completions"; do
  set -- $what
  for port in $PORT_OFF $PORT_AUDIT $PORT_ON; do
    case $port in
      $PORT_OFF) label="audit off, control off" ;;
      $PORT_AUDIT) label="audit on,  control off" ;;
      *) label="audit on,  control on " ;;
    esac
    printf '%s %s: ' "$2" "$label"
    wrk -t2 -c64 -d${SECS}s --latency -s "$HERE/$1" http://127.0.0.1:$port$2 \
      | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps " req/s, p50 " p50 ", p99 " p99}'
  done
done

echo "== kill switch under load: chat load on the audited gateway, then \`warden kill --all\`"
wrk -t2 -c32 -d30s -s "$HERE/chat.lua" http://127.0.0.1:$PORT_ON/v1/chat/completions >/dev/null &
LOAD_PID=$!
sleep 3
python3 "$HERE/kill_latency.py" "$WARDEN" "sqlite:$WORK/control.db" 127.0.0.1:$PORT_ON
"$WARDEN" revive --all --store "sqlite:$WORK/control.db" >/dev/null
records=$(sqlite3 "$WORK/audit.db" 'select count(*) from records' 2>/dev/null || echo '?')
echo "audit records written: $records"
