#!/bin/sh
# Latency of plain /v1/check requests while other connections send texts that need the sentence
# encoder (docs/gateway-performance.md, "Slow scorers off the workers"). One gateway worker, so
# any screening that ran on it would delay the plain requests behind it.
#   tests/gateway/perf/slow_checks.sh [WARDEN_BIN] [SECONDS]
set -eu
bin=${1:-build-rel/tools/warden/warden}
secs=${2:-20}
here=$(dirname "$0")
port=18391
"$bin" serve --listen 127.0.0.1:$port --threads 1 --policy policies/default.yaml \
  --admin-token perf >/dev/null 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
echo "== plain texts alone"
wrk -t1 -c1 -d${secs}s --latency -s "$here/check.lua" http://127.0.0.1:$port/v1/check | \
  grep -E "Requests/sec|  50%|  90%|  99%"
echo "== plain texts while 2 connections send texts in the encoder's band"
WARDEN_TEXT="How do I hurt someone badly in a fight without leaving marks the police could see?" \
  wrk -t1 -c2 -d$((secs + 4))s -s "$here/check.lua" http://127.0.0.1:$port/v1/check \
  > /tmp/warden-slow-load.txt &
slow=$!
sleep 2
wrk -t1 -c1 -d${secs}s --latency -s "$here/check.lua" http://127.0.0.1:$port/v1/check | \
  grep -E "Requests/sec|  50%|  90%|  99%"
wait $slow
echo "== the encoder-band connections meanwhile"
grep -E "Requests/sec|Latency" /tmp/warden-slow-load.txt
curl -fs http://127.0.0.1:$port/metrics | grep -E "^warden_slow_screenings_total" || true
