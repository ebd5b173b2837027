#!/usr/bin/env bash
# `make demo`: build (done by make) and run the flagship demo on both hosts.
# For now the flagship is examples/hello; the HTTP(S) issues turn it into
# a wasio-fetch of a local nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
comp=build/wasm32/examples/hello.wasm
printf '== %s (%s bytes)\n' "$comp" "$(stat -c %s "$comp")"
for host in wasmtime jco; do
  printf '== on %s\n' "$host"
  tools/wasio-run --host "$host" "$comp"
done
