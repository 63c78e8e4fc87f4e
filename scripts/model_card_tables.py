#!/usr/bin/env python3
"""Markdown tables for a model card from `warden eval ... --json` output.

  warden eval --data ../shared/data --mutate --json > eval.json
  warden eval --data ../shared/data --loso --json > loso.json      # optional
  scripts/model_card_tables.py eval.json [loso.json ...]

Prints the dev tables (pooled, per category, per source, per mutator) and, for each LOSO file,
the held-out table with its two means. Standard library only.
"""
import json
import sys


def fmt(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


def dev_tables(d):
    o = d["overall"]
    out = ["### Dev (pooled, unsafe vs safe, at the shipped threshold)", "",
           "| auprc | roc_auc | precision | recall | fpr |", "|---|---|---|---|---|",
           f"| {fmt(o['auprc'], 4)} | {fmt(o['roc_auc'], 4)} | {fmt(o['precision'], 4)} "
           f"| {fmt(o['recall'], 4)} | {fmt(o['fpr'], 4)} |", "",
           "### Dev per category (label score; positives vs safe dev rows; shipped thresholds)", "",
           "| label | positives | precision | recall | f1 | auprc | roc_auc | fpr |",
           "|---|---|---|---|---|---|---|---|"]
    for name, m in d["by_category"].items():
        out.append(f"| {name} | {m['positives']} | {fmt(m['precision'])} | {fmt(m['recall'])} "
                   f"| {fmt(m['f1'])} | {fmt(m['auprc'])} | {fmt(m['roc_auc'])} | {fmt(m['fpr'])} |")
    out += ["", "### Dev per source (unsafe score vs label, shipped threshold)", "",
            "| source | count | unsafe | precision | recall | auprc | fpr |",
            "|---|---|---|---|---|---|---|"]
    for name, m in d["by_source"].items():
        out.append(f"| {name} | {m['count']} | {m['positives']} | {fmt(m['precision'])} "
                   f"| {fmt(m['recall'])} | {fmt(m['auprc'])} | {fmt(m['fpr'])} |")
    if "by_mutator" in d:
        out += ["", f"### Dev under obfuscation mutators (plain recall {fmt(o['recall'])})", "",
                "| mutator | recall | drop (points) | fpr | auprc |", "|---|---|---|---|---|"]
        for name, m in d["by_mutator"].items():
            out.append(f"| {name} | {fmt(m['recall'])} | {100 * m['recall_drop']:.1f} "
                       f"| {fmt(m['fpr'])} | {fmt(m['auprc'])} |")
    lat = d.get("latency_us")
    if lat:
        out += ["", f"Latency per dev message (views + scoring): p50 {lat['p50']:.1f} us, "
                    f"p90 {lat['p90']:.1f} us, p99 {lat['p99']:.1f} us."]
    return out


def loso_table(d, title):
    l = d["loso"]
    out = [f"### Leave-one-source-out: {title}", "", "| source | auprc | recall | fpr |",
           "|---|---|---|---|"]
    for name, m in sorted(l["by_source"].items()):
        out.append(f"| {name} | {fmt(m['auprc'])} | {fmt(m['recall'])} | {fmt(m['fpr'])} |")
    out += ["", f"Mean AUPRC over the sources with both labels: **{fmt(l['mean_auprc_mixed_sources'])}**"
                f" (floor 0.85). Mean recall over the all-unsafe sources: "
                f"**{fmt(l['mean_recall_unsafe_only_sources'])}** (floor 0.85)."]
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    lines = []
    for path in argv[1:]:
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 1
        lines += (loso_table(d, path) if "loso" in d else dev_tables(d)) + [""]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
