#!/usr/bin/env bash
# `make demo` (after make built everything): the flagship demo.
#  1. examples/hello (a loop with a repeating timer) on wasmtime and jco;
#  2. a local nginx serving HTTPS (tests/helpers/nginx_server.py --tls,
#     loopback only, a private prefix; it generates a CA and server
#     certificates with the openssl CLI) and wasio-fetch, the curl-like
#     component (TLS by mbedTLS inside it, the Mozilla roots built in),
#     fetching from it over HTTPS: on wasmtime with --cacert (the CA's
#     directory is granted with --dir), the same on jco, then without the
#     CA, which must fail like curl: (60);
#  3. wasio-fetch's host-TLS build (wasio-cc --host-tls: the TLS is the
#     host's wasi:tls) on wasio-tls-host (wasio-run --host tlshost, OpenSSL),
#     which trusts the demo's CA through SSL_CERT_FILE; -v says "host".
# nginx is stopped and its prefix removed on every exit path (trap).
set -euo pipefail
cd "$(dirname "$0")/.."

HELPER_START_S=20
fetch=build/wasm32/apps/wasio-fetch.wasm
hfetch=build/wasm32/apps/wasio-fetch-hosttls.wasm
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
python3 tests/helpers/nginx_server.py --tls --lifetime 300 >"$portfile" &
helper_pid=$!
# Four lines once it serves: port, root, CA path, "suite=port ...".
ready=
for _ in $(seq $((HELPER_START_S * 10))); do
  [ "$(wc -l <"$portfile")" -ge 4 ] && { ready=1; break; }
  kill -0 "$helper_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ready" ] || { echo "demo: nginx did not start (is it installed? make setup)" >&2; exit 1; }
ca=$(sed -n 3p "$portfile")
tls_port=$(sed -n 4p "$portfile" | tr ' ' '\n' | sed -n 's/^ecdsa-gcm=//p')
base="https://localhost:$tls_port"

printf '\n== %s (%s bytes, with its roots): nginx on %s\n' "$fetch" "$(stat -c %s "$fetch")" "$base"
printf '\n$ wasio-run --net --dir %s wasio-fetch.wasm --cacert ca.pem -i %s/small.txt    # wasmtime\n' \
  "$(dirname "$ca")" "$base"
tools/wasio-run --net --dir "$(dirname "$ca")" "$fetch" --cacert ca.pem -i "$base/small.txt"
printf '\n$ wasio-run --host jco --net --dir ... wasio-fetch.wasm --cacert ca.pem %s/small.txt    # jco (Node.js)\n' "$base"
tools/wasio-run --host jco --net --dir "$(dirname "$ca")" "$fetch" --cacert ca.pem "$base/small.txt"
printf '\n$ wasio-run --net wasio-fetch.wasm %s/small.txt    # no --cacert: the private CA is not trusted\n' "$base"
tools/wasio-run --net "$fetch" "$base/small.txt" || printf '(exit status %d: curl'"'"'s code for an untrusted certificate)\n' $?

printf '\n== %s (%s bytes, imports wasi:tls): the host does the TLS\n' "$hfetch" "$(stat -c %s "$hfetch")"
printf '\n$ SSL_CERT_FILE=ca.pem wasio-run --host tlshost wasio-fetch-hosttls.wasm -v %s/small.txt    # wasio-tls-host (OpenSSL)\n' "$base"
SSL_CERT_FILE="$ca" tools/wasio-run --host tlshost "$hfetch" -v "$base/small.txt"
