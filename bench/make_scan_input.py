#!/usr/bin/env python3
"""Writes N JSONL lines of ~1 KiB English prose for `warden scan` throughput runs.

Every 50th line carries an e-mail address, so the redaction path is exercised too.
Usage: bench/make_scan_input.py [N] > /tmp/scan1k.jsonl
"""
import json
import random
import sys

WORDS = (
    "the quarterly planning meeting covered roadmap for next two releases team agreed focus "
    "reliability first then new reporting features customers have asked since spring please "
    "review attached notes before thursday add your comments inline so that we can close open "
    "questions session"
).split()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(7)
    out = sys.stdout
    for i in range(n):
        words = []
        while sum(len(w) + 1 for w in words) < 1000:
            words.append(rng.choice(WORDS))
        text = " ".join(words)[:1000]
        if i % 50 == 0:
            text = text[:900] + " mail jane.doe@example.com"
        out.write(json.dumps({"id": i, "text": text}) + "\n")


if __name__ == "__main__":
    main()
