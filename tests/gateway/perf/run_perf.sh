#!/bin/sh
# Reproduces the numbers in docs/gateway-performance.md. Loopback only.
#   [ROUNDS=N] tests/gateway/perf/run_perf.sh BUILD_DIR [SECONDS]
set -eu
BUILD=${1:?build dir}
SECS=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WARDEN=$BUILD/tools/warden/warden
UPSTREAM_BIN=$BUILD/tests/gateway/warden_scripted_upstream
GW_PORT=18181
GW2_PORT=18182
NGINX_PORT=18183
GW3_PORT=18184
GW4_PORT=18185
STORES=$(mktemp -d /tmp/warden-perf-stores.XXXXXX)

cleanup() {
  [ -n "${GW_PID:-}" ] && kill "$GW_PID" 2>/dev/null || true
  [ -n "${GW2_PID:-}" ] && kill "$GW2_PID" 2>/dev/null || true
  [ -n "${GW3_PID:-}" ] && kill "$GW3_PID" 2>/dev/null || true
  [ -n "${GW4_PID:-}" ] && kill "$GW4_PID" 2>/dev/null || true
  rm -rf "$STORES"
  [ -f /tmp/warden-perf-nginx.pid ] && kill "$(cat /tmp/warden-perf-nginx.pid)" 2>/dev/null || true
  [ -n "${UP_PID:-}" ] && kill "$UP_PID" 2>/dev/null || true
}
trap cleanup EXIT

# The scripted upstream prints its port and serves until stdin closes.
mkfifo /tmp/warden-perf-up.in 2>/dev/null || true
"$UPSTREAM_BIN" < /tmp/warden-perf-up.in > /tmp/warden-perf-up.port &
UP_PID=$!
exec 9>/tmp/warden-perf-up.in
sleep 0.5
UP_PORT=$(head -1 /tmp/warden-perf-up.port)
echo "upstream on 127.0.0.1:$UP_PORT"

cd "$ROOT"
"$WARDEN" serve --listen 127.0.0.1:$GW_PORT --threads 2 --upstream http://127.0.0.1:$UP_PORT/v1 \
  --audit off --control off \
  2>/tmp/warden-perf-gw.log &
GW_PID=$!
sed -e "s/UPSTREAM_PORT/$UP_PORT/" -e "s/NGINX_PORT/$NGINX_PORT/" "$HERE/nginx.conf" \
  > /tmp/warden-perf-nginx.conf
nginx -c /tmp/warden-perf-nginx.conf
sleep 1.5

echo "== 1. /v1/moderations, 1 KiB input, 64 connections"
wrk -t2 -c64 -d${SECS}s --latency -s "$HERE/moderation.lua" http://127.0.0.1:$GW_PORT/v1/moderations

echo "== 1b. the same with warden serve's defaults: audit log and agent control on (SQLite)"
"$WARDEN" serve --listen 127.0.0.1:$GW3_PORT --threads 2 --upstream http://127.0.0.1:$UP_PORT/v1 \
  --audit "sqlite:$STORES/audit.db" --control "sqlite:$STORES/control.db" 2>/dev/null &
GW3_PID=$!
sleep 1.5
wrk -t2 -c64 -d${SECS}s --latency -s "$HERE/moderation.lua" http://127.0.0.1:$GW3_PORT/v1/moderations
kill "$GW3_PID" 2>/dev/null || true
GW3_PID=

echo "== 2. chat proxy latency, 1 connection (median = 50%)"
# The same gateway with busy polling off (--busy-poll-us 0): its workers sleep in epoll_wait
# between events, as nginx's do.
"$WARDEN" serve --listen 127.0.0.1:$GW4_PORT --threads 2 --upstream http://127.0.0.1:$UP_PORT/v1 \
  --audit off --control off --busy-poll-us 0 2>/dev/null &
GW4_PID=$!
sleep 1.5
# ROUNDS=N repeats the four targets in turn N times: nginx's added latency alone moves by
# several microseconds between rounds on a shared machine, so compare medians of rounds.
for round in $(seq "${ROUNDS:-1}"); do
  [ "${ROUNDS:-1}" -gt 1 ] && echo "-- round $round"
  for target in "direct $UP_PORT" "nginx $NGINX_PORT" "warden $GW_PORT" "warden-no-busy-poll $GW4_PORT"; do
    set -- $target
    echo "-- $1"
    wrk -t1 -c1 -d${SECS}s --latency -s "$HERE/chat.lua" http://127.0.0.1:$2/v1/chat/completions \
      | grep -E "Requests/sec|50%|99%"
  done
done

echo "== 3. time to first streamed token"
"$WARDEN" serve --listen 127.0.0.1:$GW2_PORT --threads 2 --upstream http://127.0.0.1:$UP_PORT/v1 \
  --audit off --control off \
  --config "$HERE/no_holdback.yaml" 2>/dev/null &
GW2_PID=$!
sleep 1.5
python3 "$HERE/ttft.py" 127.0.0.1:$UP_PORT long 200
python3 "$HERE/ttft.py" 127.0.0.1:$GW_PORT long 200
python3 "$HERE/ttft.py" 127.0.0.1:$GW2_PORT long 200
