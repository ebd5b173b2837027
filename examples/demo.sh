#!/usr/bin/env bash
# `make demo` (after make built everything): the flagship demo.
#  1. examples/hello (a loop with a repeating timer) on wasmtime and jco;
#  2. a local nginx (tests/helpers/nginx_server.py, loopback only, a private
#     prefix) and wasio-fetch, the curl-like component, fetching from it
#     under wasmtime with -i (status line, headers, body), then a redirect
#     and a chunked body, and the same fetch on jco.
# nginx is stopped and its prefix removed on every exit path (trap).
set -euo pipefail
cd "$(dirname "$0")/.."

HELPER_START_S=20
fetch=build/wasm32/apps/wasio-fetch.wasm
hello=build/wasm32/examples/hello.wasm

helper_pid=
portfile=
cleanup() {
  if [ -n "$helper_pid" ] && kill -0 "$helper_pid" 2>/dev/null; then
    kill -TERM "$helper_pid" 2>/dev/null || true   # the helper stops nginx itself
    wait "$helper_pid" 2>/dev/null || true
  fi
  [ -n "$portfile" ] && rm -f "$portfile"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '== %s (%s bytes)\n' "$hello" "$(stat -c %s "$hello")"
for host in wasmtime jco; do
  printf '== on %s\n' "$host"
  tools/wasio-run --host "$host" "$hello"
done

portfile=$(mktemp)
python3 tests/helpers/nginx_server.py --lifetime 300 >"$portfile" &
helper_pid=$!
port=
for _ in $(seq $((HELPER_START_S * 10))); do
  port=$(head -n1 "$portfile" 2>/dev/null || true)
  case "$port" in ''|*[!0-9]*) port= ;; *) break ;; esac
  kill -0 "$helper_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "demo: nginx did not start (is it installed? make setup)" >&2; exit 1; }
base="http://127.0.0.1:$port"

printf '\n== %s (%s bytes): nginx on %s\n' "$fetch" "$(stat -c %s "$fetch")" "$base"
printf '\n$ wasio-run --net wasio-fetch.wasm -i %s/small.txt    # wasmtime\n' "$base"
tools/wasio-run --net "$fetch" -i "$base/small.txt"
printf '\n$ wasio-run --net wasio-fetch.wasm -L -i %s/redirect/302    # wasmtime\n' "$base"
tools/wasio-run --net "$fetch" -L -i "$base/redirect/302"
printf '\n$ wasio-run --net wasio-fetch.wasm -i %s/chunked.txt    # wasmtime\n' "$base"
tools/wasio-run --net "$fetch" -i "$base/chunked.txt"
printf '\n$ wasio-run --host jco --net wasio-fetch.wasm -i %s/small.txt    # jco (Node.js)\n' "$base"
tools/wasio-run --host jco --net "$fetch" -i "$base/small.txt"
printf '\n$ wasio-run --net wasio-fetch.wasm http://127.0.0.1:1/    # an error: curl-style code in the message\n'
tools/wasio-run --net "$fetch" http://127.0.0.1:1/ || printf '(exit status %d: WASI 0.2 exits carry only ok/err)\n' $?
