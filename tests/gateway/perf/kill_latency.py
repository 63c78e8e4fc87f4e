"""Measures how long `warden kill --all` takes to stop a gateway's traffic under load.

  python3 kill_latency.py WARDEN_BINARY CONTROL_STORE HOST:PORT

Runs the CLI (which writes to the control store the gateway polls), then sends chat requests
back to back until one is refused with the kill verdict; prints the time from the CLI's exit to
that first refusal, and from the CLI's start.
"""
import http.client
import json
import subprocess
import sys
import time

warden, store, hostport = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = hostport.split(":")
body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "ping"}]})

start = time.monotonic()
subprocess.run([warden, "kill", "--all", "--store", store, "--note", "latency test"],
               check=True, stdout=subprocess.DEVNULL)
written = time.monotonic()
conn = http.client.HTTPConnection(host, int(port), timeout=5)
for attempt in range(100000):
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.getheader("X-Warden-Verdict") == "kill":
        done = time.monotonic()
        print(f"kill effective {1000 * (done - written):.1f} ms after the store write "
              f"({1000 * (done - start):.1f} ms after `warden kill` started), "
              f"{attempt + 1} requests probed")
        break
else:
    print("kill never took effect")
    sys.exit(1)
