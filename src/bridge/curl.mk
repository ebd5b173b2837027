# src/bridge/curl.mk: libcurl and the curl tool from Debian's curl source
# package (CURL_VERSION, unpacked by tools/setup.sh into CURL_DIR), built
# unchanged with CMake: for wasm32 against the wasip2 libc
# (WASI_LIBC_SYSROOT) and wasio's mbedTLS, and natively. Included by the
# Makefile (after its own variables). Every workaround is a CMake cache
# variable, a compiler flag, or a header of tools/curl/ (docs/BRIDGES.md lists
# them with their reasons); curl's files are never edited.
#
# Outputs:
#   build/wasm32/libcurl.a           libcurl for components (-lcurl in wasio-cc)
#   build/wasm32/apps/curl.wasm      the curl tool as a component
#   build/wasm32/lib/pkgconfig/libcurl.pc
#   build/native/libcurl.a           native, ASan+UBSan like the native tests
#   build/native-release/curl/...    native -O2 tool (curl's test suite, make curl-tests)

CURL_DIR := $(WASIO_TOOLS)/curl-$(CURL_VERSION)
CURL_B := $(B)/curl
CMAKE := cmake
CURL_TOOLS_INC := $(CURDIR)/tools/curl/include
CURL_SELECT := $(CURDIR)/tools/curl/mbedtls_config_select.h
# clang's compiler-rt for wasm32 (Debian's libclang-rt-N-dev-wasm32).
# By its Debian path (libclang-rt-19-dev-wasm32; Debian's clang resource
# directory is named by the major version): a $(wildcard) here ran when make
# read this file, before setup installed the package on a fresh machine,
# and left it empty (every configure check that needed a 128-bit multiply
# from the libc then failed to link, and curl found no socket()).
WASM_BUILTINS := /usr/lib/llvm-$(CLANG_MAJOR)/lib/clang/$(CLANG_MAJOR)/lib/wasi/libclang_rt.builtins-wasm32.a

# What curl is built with, on every target: HTTP and HTTPS only (HTTP_ONLY;
# the issue's scope, and a smaller tool), mbedTLS as the one TLS backend,
# no optional compression, IDN, PSL, SSH, HTTP/2 or c-ares libraries
# (none exist for wasm32 here; the native build matches so that the
# component and native results compare like for like), no NTLM (it needs
# DES, which wasio's mbedTLS leaves out; a legacy scheme), static libraries.
CURL_CMAKE_COMMON := -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE='-O2 -DNDEBUG' \
  -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_STATIC_CURL=ON -DBUILD_TESTING=OFF \
  -DBUILD_LIBCURL_DOCS=OFF -DBUILD_MISC_DOCS=OFF -DENABLE_CURL_MANUAL=OFF -DCURL_DISABLE_INSTALL=ON \
  -DHTTP_ONLY=ON -DCURL_USE_MBEDTLS=ON -DCURL_USE_OPENSSL=OFF -DCURL_USE_PKGCONFIG=OFF \
  -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF \
  -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DCURL_USE_GSSAPI=OFF -DENABLE_ARES=OFF -DCURL_DISABLE_NTLM=ON \
  -DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=none -DCURL_CA_FALLBACK=OFF
curl_mbedtls = -DMBEDTLS_INCLUDE_DIR=$(MBEDTLS_DIR)/include -DMBEDTLS_LIBRARY=$(CURDIR)/$(1) \
  -DMBEDX509_LIBRARY=$(CURDIR)/$(1) -DMBEDCRYPTO_LIBRARY=$(CURDIR)/$(1)
CURL_INC_FLAGS := -include $(CURL_SELECT) -I$(CURDIR)/src/tls

# wasm32: compiled for wasm32-wasip2 (the libc's sockets), linked as
# wasm32-wasi with the sysroot's wasip2 crt1 and libc (clang-19 would pick
# wasm-component-ld and a compiler-rt path Debian does not ship for the
# wasip2 triple); wasm-tools then makes the component. Workarounds:
# - no threads (no threaded resolver: the synchronous one; wasio's bridge
#   resolves with wasio's DNS first and hands curl the addresses);
# - CURL_DISABLE_SOCKETPAIR: curl_multi_poll's wakeup pipe (no socketpair);
# - HAVE_GETSOCKNAME off: the pinned libc aborts in getsockname() on a
#   still-connecting socket (fixed upstream after the snapshot);
# - -D_WASI_EMULATED_SIGNAL, -lwasi-emulated-signal: lib/hostip.c includes
#   the C library's signal header, which wasi-libc only offers in that
#   emulation;
# - tools/curl/include/setjmp.h: an empty <setjmp.h> (see the file);
# - -Wl,--wrap=mbedtls_ssl_config_defaults: the signature algorithms
#   mbedTLS 3.6.6 offers by default break TLS 1.2 with RSA servers
#   (src/tls/mbedtls/sig_algs_wrap.c); every -lcurl link passes it;
# - -Wl,--wrap=poll,--wrap=recv,--wrap=close and tools/curl/liveness_poll.c: curl's check that an
#   idle connection is clean before reusing it sees a stale "readable" on
#   wasmtime (see the file); the object also goes into libcurl.a, and every
#   -lcurl link for wasm32 passes the flag;
# - tools/curl/exit_code.c and -Wl,--wrap=__main_void (in libcurl.a too,
#   with libwasio.a for its bindings): the exit status reaches the host
#   (the libc carries only success or failure);
# - ENABLE_UNIX_SOCKETS and HAVE_SYS_UN_H off: WASI has no Unix-domain
#   sockets (the libc's <sys/un.h> has a sockaddr_un without sun_path).
CURL_WASM_CFLAGS := -mbulk-memory -D_WASI_EMULATED_SIGNAL -I$(CURL_TOOLS_INC) $(CURL_INC_FLAGS) -g0
CURL_LIVENESS := $(CURDIR)/$(CURL_B)/liveness_poll.o
CURL_EXIT := $(CURDIR)/$(CURL_B)/exit_code.o
CURL_WASM_LDFLAGS := -fuse-ld=lld -Wl,--wrap=mbedtls_ssl_config_defaults -Wl,--wrap=poll,--wrap=recv,--wrap=close,--wrap=__main_void \
  $(CURL_LIVENESS) $(CURL_EXIT) $(CURDIR)/$(W)/libwasio.a -nodefaultlibs -lc -lwasi-emulated-signal $(WASM_BUILTINS)
# CMAKE_AR and CMAKE_RANLIB by their Debian paths: a $(shell command -v ...)
# here ran when make read this file, before setup installed LLVM on a fresh
# machine, and left them empty (every configure check then failed to link).
CURL_CMAKE_WASM := -DCMAKE_SYSTEM_NAME=WASI -DCMAKE_SYSTEM_PROCESSOR=wasm32 \
  -DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_C_COMPILER_TARGET=wasm32-wasip2 -DCMAKE_SYSROOT=$(WASI_LIBC_SYSROOT) \
  -DCMAKE_AR=/usr/bin/$(AR) -DCMAKE_RANLIB=/usr/bin/llvm-ranlib-$(CLANG_MAJOR) \
  -DCMAKE_C_FLAGS='$(CURL_WASM_CFLAGS)' -DCMAKE_EXE_LINKER_FLAGS='$(CURL_WASM_LDFLAGS)' \
  -DENABLE_THREADED_RESOLVER=OFF -DCURL_DISABLE_SOCKETPAIR=ON -DHAVE_GETSOCKNAME=OFF \
  -DENABLE_UNIX_SOCKETS=OFF -DHAVE_SYS_UN_H=OFF -DENABLE_IPV6=ON $(call curl_mbedtls,$(W)/libmbedtls.a)

# A new curl pin comes with tools/versions.env; setup itself re-running
# (any change of tools/setup.sh) does not rebuild curl (order-only).
CURL_DEPS := tools/versions.env src/bridge/curl.mk tools/curl/mbedtls_config_select.h tools/curl/include/setjmp.h

# One configure+build per target; the stamp records the cmake command so a
# change of flags reconfigures from scratch.
# curl_cmake_build DIR,WHAT,OPTIONS: configures curl afresh in $(CURL_B)/DIR
# with the common and the target's options, builds it, and marks it built
# ($@, DIR/.built); on failure it shows the end of the log.
define curl_cmake_build
@rm -rf $(CURL_B)/$(1) && mkdir -p $(CURL_B)/$(1)
@echo "curl: configuring $(CURL_VERSION) $(2) ($(CURL_B)/$(1)/cmake.log)"
@cd $(CURL_B)/$(1) && $(CMAKE) -S $(CURL_DIR) -B . $(CURL_CMAKE_COMMON) $(3) > cmake.log 2>&1 \
  || { tail -30 cmake.log; exit 1; }
@echo "curl: building curl $(2)"
@$(CMAKE) --build $(CURL_B)/$(1) -j2 > $(CURL_B)/$(1)/build.log 2>&1 || { grep -B2 -A8 -m5 'error' $(CURL_B)/$(1)/build.log; exit 1; }
@touch $@
endef
$(CURL_B)/liveness_poll.o: tools/curl/liveness_poll.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_TARGET) -O2 -g0 $(COMMON_CFLAGS) -c $< -o $@
$(CURL_B)/exit_code.o: tools/curl/exit_code.c $(GEN)/imports.h | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_TARGET) -O2 -g0 $(COMMON_CFLAGS) -I$(GEN) -c $< -o $@
$(CURL_B)/wasm32/.built: $(CURL_DEPS) $(W)/libmbedtls.a $(CURL_B)/liveness_poll.o $(CURL_B)/exit_code.o $(W)/libwasio.a | $(SETUP_STAMP)
	$(call curl_cmake_build,wasm32,for wasm32,$(CURL_CMAKE_WASM))

# Natively: the same source and options, compiled like libwasio's native
# test build (ASan+UBSan, build/native/libmbedtls.a), so the bridge's native
# tests run curl instrumented too. Only the library (no tool).
CURL_NATIVE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(CURL_INC_FLAGS)
CURL_CMAKE_NATIVE := -DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_C_FLAGS='$(CURL_NATIVE_CFLAGS)' -DCMAKE_C_FLAGS_RELEASE= \
  -DCMAKE_EXE_LINKER_FLAGS='-fsanitize=address,undefined -Wl,--wrap=mbedtls_ssl_config_defaults' -DBUILD_CURL_EXE=OFF \
  $(call curl_mbedtls,$(N)/libmbedtls.a)
$(CURL_B)/native/.built: $(CURL_DEPS) $(N)/libmbedtls.a | $(SETUP_STAMP)
	$(call curl_cmake_build,native,natively (ASan+UBSan),$(CURL_CMAKE_NATIVE))

# ---- what users link -------------------------------------------------------------
# curl's public headers (the same on every target) beside each library.
CURL_HDRS := curl.h curlver.h easy.h header.h mprintf.h multi.h options.h stdcheaders.h system.h typecheck-gcc.h urlapi.h websockets.h
$(W)/libcurl.a: $(CURL_B)/wasm32/.built
	@mkdir -p $(W)/include/curl
	cp $(CURL_B)/wasm32/lib/libcurl.a $@
	$(AR) rs $@ $(CURL_LIVENESS) $(CURL_EXIT)
	@for h in $(CURL_HDRS); do cp $(CURL_DIR)/include/curl/$$h $(W)/include/curl/; done
$(N)/libcurl.a: $(CURL_B)/native/.built
	@mkdir -p $(N)/include/curl
	cp $(CURL_B)/native/lib/libcurl.a $@
	@for h in $(CURL_HDRS); do cp $(CURL_DIR)/include/curl/$$h $(N)/include/curl/; done

# The curl tool as a component: the core module CMake linked, made a
# component (no adapter: the wasip2 libc imports only WASI 0.2) and stripped.
$(W)/apps/curl.wasm: $(CURL_B)/wasm32/.built
	@mkdir -p $(dir $@)
	$(TB)/wasm-tools component new $(CURL_B)/wasm32/src/curl -o $@.full
	$(TB)/wasm-tools strip --all $@.full -o $@
	@printf 'size: %s %s bytes (stripped; %s with debug info and names)\n' $@ $$(stat -c %s $@) $$(stat -c %s $@.full)
	@rm -f $@.full

$(W)/lib/pkgconfig/libcurl.pc: tools/libcurl.pc.in $(W)/libcurl.a
	@mkdir -p $(dir $@)
	sed -e 's|@CURL_VERSION@|$(CURL_VERSION)|g' -e 's|@CLANG_MAJOR@|$(CLANG_MAJOR)|g' \
	  -e 's|@SYSROOT@|$(WASI_LIBC_SYSROOT)|g' -e 's|@BUILTINS@|$(WASM_BUILTINS)|g' $< > $@

CURL_LIBS_W := $(W)/libcurl.a $(W)/$(TLSLIB) $(W)/libwasio.a $(W)/libwasio-curl.a $(CRT)
CURL_LIBS_N := $(N)/libcurl.a $(N)/$(TLSLIB)
.PHONY: curl
curl: $(W)/libcurl.a $(N)/libcurl.a $(W)/apps/curl.wasm $(W)/lib/pkgconfig/libcurl.pc \
  $(W)/examples/curl-get.wasm $(N)/examples/curl-get
all: curl

# examples/curl-get: plain libcurl (no wasio API), so wasio-cc -lcurl.
$(W)/examples/curl-get.wasm: examples/curl-get/curl-get.c $(CURL_LIBS_W) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --size -o $@ $< -lcurl
$(N)/examples/curl-get: examples/curl-get/curl-get.c $(CURL_LIBS_N)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -I$(N)/include $< $(CURL_LIBS_N) $(NATIVE_LDFLAGS) -Wl,--wrap=mbedtls_ssl_config_defaults -o $@

# ---- the bridge: libwasio-curl.a (wasio/curl.h) ------------------------------------
# Its own small archive above libwasio (it needs curl's headers), for
# wasm32 (compiled for wasm32-wasip2 like libcurl) and natively.
BRIDGE_CURL_HDRS := include/wasio/curl.h include/wasio/poll.h include/wasio/dns.h include/wasio/loop.h
$(W)/obj/src/bridge/curl.o: src/bridge/curl.c $(BRIDGE_CURL_HDRS) $(W)/libcurl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_TARGET) -O2 -g0 $(COMMON_CFLAGS) -I$(W)/include -c $< -o $@
$(N)/obj/src/bridge/curl.o: src/bridge/curl.c $(BRIDGE_CURL_HDRS) $(N)/libcurl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -I$(N)/include -c $< -o $@
$(W)/libwasio-curl.a: $(W)/obj/src/bridge/curl.o
	@rm -f $@
	$(AR) rcs $@ $^
$(N)/libwasio-curl.a: $(N)/obj/src/bridge/curl.o
	@rm -f $@
	$(AR) rcs $@ $^
curl: $(W)/libwasio-curl.a $(N)/libwasio-curl.a

# tests/component/curl.c (and any curl_*.c): libcurl's easy interface and the bridge, linked
# with -lcurl (explicit rules: the generic test rules link no libcurl).
CURL_CTESTS := $(basename $(notdir $(wildcard tests/component/curl.c tests/component/curl_*.c)))
$(foreach t,$(CURL_CTESTS),$(W)/tests/$(t).wasm): $(W)/tests/%.wasm: tests/component/%.c $(TESTLIB) $(CURL_LIBS_W) \
  $(W)/libwasio-curl.a tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc -o $@ -Itests $< $(TESTLIB_SRC) -lcurl
$(foreach t,$(CURL_CTESTS),$(N)/tests/$(t)): $(N)/tests/%: tests/component/%.c $(TESTLIB) $(CURL_LIBS_N) \
  $(N)/libwasio.a $(N)/libwasio-curl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -Itests -I$(N)/include $< $(TESTLIB_SRC) $(N)/libwasio-curl.a $(N)/libcurl.a \
	  $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -Wl,--wrap=mbedtls_ssl_config_defaults -o $@

# ---- natively at -O2: the benchmarks' baseline and the curl tool -------------------
# No sanitizers, build/native-release/libmbedtls.a; the curl tool too (a
# native reference for the component's).
CURL_CMAKE_RELEASE := -DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_C_FLAGS='$(CURL_INC_FLAGS)' \
  -DCMAKE_EXE_LINKER_FLAGS='-Wl,--wrap=mbedtls_ssl_config_defaults' \
  $(call curl_mbedtls,$(R)/libmbedtls.a)
$(CURL_B)/native-release/.built: $(CURL_DEPS) $(R)/libmbedtls.a | $(SETUP_STAMP)
	@rm -rf $(CURL_B)/native-release && mkdir -p $(CURL_B)/native-release
	@echo "curl: configuring $(CURL_VERSION) natively, -O2 ($(CURL_B)/native-release/cmake.log)"
	@cd $(CURL_B)/native-release && $(CMAKE) -S $(CURL_DIR) -B . $(CURL_CMAKE_COMMON) $(CURL_CMAKE_RELEASE) > cmake.log 2>&1 \
	  || { tail -30 cmake.log; exit 1; }
	@echo "curl: building libcurl and the curl tool natively, -O2"
	@$(CMAKE) --build $(CURL_B)/native-release -j2 > $(CURL_B)/native-release/build.log 2>&1 \
	  || { grep -B2 -A8 -m5 'error' $(CURL_B)/native-release/build.log; exit 1; }
	@touch $@
$(R)/libcurl.a: $(CURL_B)/native-release/.built
	@mkdir -p $(R)/include/curl
	cp $(CURL_B)/native-release/lib/libcurl.a $@
	@for h in $(CURL_HDRS); do cp $(CURL_DIR)/include/curl/$$h $(R)/include/curl/; done
$(R)/obj/src/bridge/curl.o: src/bridge/curl.c $(BRIDGE_CURL_HDRS) $(R)/libcurl.a
	@mkdir -p $(dir $@)
	$(CLANG) $(RELEASE_CFLAGS) -I$(R)/include -c $< -o $@
$(R)/libwasio-curl.a: $(R)/obj/src/bridge/curl.o
	@rm -f $@
	$(AR) rcs $@ $^

# ---- make bench-curl: bench/curl_get.c against bench/http_get.c (bench/run_curl.py) ----
$(R)/bench/curl_get: bench/curl_get.c $(R)/libwasio-curl.a $(R)/libcurl.a $(R)/libwasio.a $(R)/$(TLSLIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(BENCH_CFLAGS) -I$(R)/include $< $(R)/libwasio-curl.a $(R)/libcurl.a $(R)/libwasio.a $(R)/$(TLSLIB) \
	  -pthread -Wl,--wrap=mbedtls_ssl_config_defaults -o $@
$(W)/bench/curl_get.wasm: bench/curl_get.c $(CURL_LIBS_W) $(W)/libwasio-curl.a tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --size -o $@ -Wall -Wextra -Werror $< -lcurl
CURL_BENCH := $(R)/bench/curl_get $(W)/bench/curl_get.wasm $(R)/bench/http_get $(W)/bench/http_get.wasm
.PHONY: bench-curl
bench-curl: $(CURL_BENCH)
	@python3 bench/run_curl.py

# examples/gateway (issue 13's combined example): a wasio HTTP server, hiredis
# and libcurl in one loop, so it links both bridges.
$(W)/examples/gateway.wasm: examples/gateway/gateway.c $(CURL_LIBS_W) $(W)/libwasio-curl.a $(W)/libhiredis.a \
  $(W)/libwasio-hiredis.a tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --size -o $@ $< -lcurl -lhiredis
$(N)/examples/gateway: examples/gateway/gateway.c $(CURL_LIBS_N) $(N)/libwasio-curl.a $(N)/libhiredis.a \
  $(N)/libwasio-hiredis.a $(N)/libwasio.a
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -I$(N)/include $< $(N)/libwasio-curl.a $(N)/libcurl.a $(N)/libwasio-hiredis.a \
	  $(N)/libhiredis.a $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -Wl,--wrap=mbedtls_ssl_config_defaults -o $@

# ---- make curl-tests: curl's own test suite (not in make test; about 2 min) ----------
# runtests.pl of curl's test directory, with its test servers (sws, sockfilt, resolve)
# and curlinfo, built natively from the same source with the same options
# plus BUILD_TESTING, runs the HTTP tests against that native curl and
# against the tool's component (tools/curl/curl-component, on a
# precompiled build/curl/curl.cwasm); docs/CURL_TESTS.md has the counts.
$(CURL_B)/native-tests/.built: $(CURL_DEPS) $(R)/libmbedtls.a | $(SETUP_STAMP)
	@rm -rf $(CURL_B)/native-tests && mkdir -p $(CURL_B)/native-tests
	@echo "curl: configuring $(CURL_VERSION) natively with its tests ($(CURL_B)/native-tests/cmake.log)"
	@cd $(CURL_B)/native-tests && $(CMAKE) -S $(CURL_DIR) -B . $(CURL_CMAKE_COMMON) $(CURL_CMAKE_RELEASE) -DBUILD_TESTING=ON \
	  > cmake.log 2>&1 || { tail -30 cmake.log; exit 1; }
	@$(CMAKE) --build $(CURL_B)/native-tests -j2 --target curl sws sockfilt resolve curlinfo \
	  > $(CURL_B)/native-tests/build.log 2>&1 || { grep -B2 -A8 -m5 'error' $(CURL_B)/native-tests/build.log; exit 1; }
	@touch $@
$(CURL_B)/curl.cwasm: $(W)/apps/curl.wasm
	$(TB)/wasmtime compile $< -o $@
.PHONY: curl-tests
curl-tests: $(CURL_B)/native-tests/.built $(CURL_B)/curl.cwasm
	@CURL_TESTS_BUILD=$(CURDIR)/$(CURL_B)/native-tests CURL_TESTS_SRC=$(CURL_DIR)/tests tools/curl/run-curl-tests $(CURL_TESTS)
