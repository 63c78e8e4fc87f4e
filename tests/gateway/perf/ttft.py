#!/usr/bin/env python3
"""Time to first streamed token, directly from the upstream and through a proxy.

Sends N streaming chat requests (keep-alive) and reports the median time from sending the request
to the first SSE event that carries content. Usage: ttft.py HOST:PORT MODEL N
"""
import http.client
import json
import statistics
import sys
import time


def first_token(conn, model):
    body = json.dumps({"model": model, "stream": True,
                       "messages": [{"role": "user", "content": "hello"}]})
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    first_byte = None
    first_content = None
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        now = time.perf_counter()
        if first_byte is None:
            first_byte = now - t0
        buf += chunk
        while first_content is None and b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event[len(b"data: "):] if event.startswith(b"data: ") else b""
            if not data or data == b"[DONE]":
                continue
            choices = json.loads(data).get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                first_content = now - t0
    return first_byte, first_content


def main():
    host, port = sys.argv[1].split(":")
    model = sys.argv[2]
    n = int(sys.argv[3])
    conn = http.client.HTTPConnection(host, int(port))
    fb, fc = [], []
    for _ in range(n):
        b, c = first_token(conn, model)
        fb.append(b * 1000)
        fc.append((c or b) * 1000)
    print(f"{sys.argv[1]} model={model} n={n} first_event_ms_median={statistics.median(fb):.3f} "
          f"first_content_ms_median={statistics.median(fc):.3f}")


if __name__ == "__main__":
    main()
