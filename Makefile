# wasio build. `make` builds libwasio for wasm32 (wasip2 backend) and natively
# (posix backend, ASan+UBSan), every example as a component, and the tests,
# plus the host-TLS variant build/wasm32/libwasio-hosttls.a (docs/HOST_TLS.md).
# `make test` runs every test; `make demo` runs the flagship demo; `make bench`
# runs the benchmarks. Each of them first runs tools/setup.sh once (stamp file)
# so a fresh machine needs nothing else.

include tools/versions.env
# `make` alone builds everything (the TLS rules below come first).
.DEFAULT_GOAL := all
# Build with every core (the machines here have 2); output lines may interleave.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
WASIO_TOOLS ?= $(HOME)/.cache/wasio
export WASIO_TOOLS
TB := $(WASIO_TOOLS)/bin
# The components' libc: Debian sid's wasi-libc, unpacked by tools/setup.sh
# (WASI_LIBC_VERSION, the "~" is "_" in the directory name). The sysroot
# holds include/wasm32-wasip2 and lib/wasm32-wasip2 (docs/POSIX.md).
WASI_LIBC_SYSROOT := $(WASIO_TOOLS)/wasi-libc-$(subst ~,_,$(WASI_LIBC_VERSION))/usr
export WASI_LIBC_SYSROOT

B := build
# tools/wasio-cc and the test drivers find the libraries here (WASIO_BUILD).
export WASIO_BUILD := $(CURDIR)/$(B)
# tools/setup.sh's stamp. Defined before any rule names it: a rule's
# prerequisites are expanded when make reads the rule, so a rule above this
# line would see it empty and could run before setup on a fresh machine
# (tools/check-setup-order checks every rule for this).
SETUP_STAMP := $(B)/.setup-ok
W := $(B)/wasm32
N := $(B)/native
GEN := $(B)/gen
CLANG := clang-$(CLANG_MAJOR)
AR := llvm-ar-$(CLANG_MAJOR)
JCO_LIB := tools/jco/node_modules/@bytecodealliance/jco/lib

COMMON_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
  -Wno-unused-parameter -Werror -Iinclude -Isrc/core -Isrc
# Every wasm32 object is compiled for wasm32-wasip2 against the pinned libc
# (WASI_LIBC_SYSROOT above); tools/wasio-cc links the components with it.
# -mbulk-memory: a feature every host wasio runs on has (wasmtime, Node's
# V8 for jco) and clang 19 leaves off: memcpy/memset become one
# memory.copy/memory.fill (the host's own memmove) instead of a call into
# the libc's portable loop (docs/TLS.md has what it did for TLS bulk
# throughput). tools/wasio-cc passes the same to programs.
WASM_TARGET := --target=wasm32-wasip2 --sysroot=$(WASI_LIBC_SYSROOT) -mbulk-memory
# The wasm32 compiler-rt, for links outside wasio-cc: a shell command
# (clang 19 looks for it under a wasip2 directory Debian does not ship).
WASM_RT = $$($(CLANG) --target=wasm32-wasi -print-libgcc-file-name)
WASM_CFLAGS := $(WASM_TARGET) -O2 -g0 $(COMMON_CFLAGS) \
  -Isrc/backend/wasip2 -I$(GEN)
# The native test build also checks invariants (WASIO_ASSERT, internal.h).
# `make WASIO_CFLAGS_EXTRA=-DWASIO_TRACE ...` adds a trace of state changes.
NATIVE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -pthread -DWASIO_DEBUG $(COMMON_CFLAGS) -Isrc/backend/posix $(WASIO_CFLAGS_EXTRA)
NATIVE_LDFLAGS := -fsanitize=address,undefined -pthread

# Portable code (codecs, core), TLS (src/tls), the stream layer
# (src/stream) and protocols (src/http) go into both libraries; the backend
# is the only part that differs. Only src/tls sees mbedTLS's headers (its
# -I below): the layers above reach the engine through wasio's interface.
PORTABLE_SRC := $(sort $(wildcard src/codec/*.c src/core/*.c src/tls/*.c src/stream/*.c src/http/*.c))
# src/backend/wasi: what both WASI backends share (the canonical ABI's
# cabi_realloc, random bytes), compiled into each with its own bindings.
WASI_COMMON_SRC := $(sort $(wildcard src/backend/wasi/*.c))
WASIP2_SRC := $(sort $(wildcard src/backend/wasip2/*.c)) $(WASI_COMMON_SRC)
POSIX_SRC := $(sort $(wildcard src/backend/posix/*.c))
HDRS := $(wildcard include/*.h include/wasio/*.h src/core/*.h src/codec/*.h src/tls/*.h src/stream/*.h src/http/*.h)

WASM_OBJ := $(patsubst %.c,$(W)/obj/%.o,$(PORTABLE_SRC) $(WASIP2_SRC)) $(W)/obj/gen/imports.o
NATIVE_OBJ := $(patsubst %.c,$(N)/obj/%.o,$(PORTABLE_SRC) $(POSIX_SRC))
# The native release build (-O2, no sanitizers): the benchmarks' baseline
# and the library `make install` gives native users (wasio-native.pc).
R := $(B)/native-release
RELEASE_CFLAGS := -O2 -DNDEBUG -pthread $(COMMON_CFLAGS) -Isrc/backend/posix
RELEASE_OBJ := $(patsubst %.c,$(R)/obj/%.o,$(PORTABLE_SRC) $(POSIX_SRC))

# ---- TLS: the Mozilla roots ----------------------------------------------------------
# The Mozilla roots (Debian's ca-certificates) become trust anchors at build
# time: tools/mkanchors writes build/gen/tls_anchors.c (each root's Name and
# key, as DER constants), part of both libraries.
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
WASM_OBJ += $(W)/obj/$(GEN)/tls_anchors.o
NATIVE_OBJ += $(N)/obj/$(GEN)/tls_anchors.o

# ---- TLS: mbedTLS 3.6 from Debian trixie's source package -------------------------
# tools/setup.sh unpacks the pinned mbedtls source into MBEDTLS_DIR (the
# version's "~" is "_" there); the sub-make src/tls/mbedtls.mk compiles it
# unchanged with wasio's configuration header (src/tls/wasio_mbedtls_config.h:
# only what wasio needs, no sockets, threads, files or entropy source of its
# own) into one libmbedtls.a per target: for wasm32, natively with libwasio's
# sanitizers (ASan+UBSan, as the native tests run), and -O2 for the release
# library and the benchmarks. Programs link libmbedtls.a after libwasio.a;
# only src/tls (the engine glue) and the generated anchors see its headers.
# docs/TLS.md: the configuration, the policy, and the move to mbedTLS 4.x.
MBEDTLS_DIR := $(WASIO_TOOLS)/mbedtls-$(subst ~,_,$(MBEDTLS_VERSION))
MBEDTLS_WASM_CFLAGS := $(WASM_TARGET) -O2 -g0
MBEDTLS_NATIVE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
MBEDTLS_RELEASE_CFLAGS := -O2 -g0
MBEDTLS_DEPS := $(SETUP_STAMP) src/tls/mbedtls.mk src/tls/wasio_mbedtls_config.h $(wildcard src/tls/mbedtls/*.c)
# Each library's compiler command is recorded in OUT/mbedtls/.cflags (here
# and by the sub-make, rewritten only when it changes), so new flags or a new
# mbedTLS version rebuild it and nothing else does.
mbedtls_flags = $(shell mkdir -p $(1)/mbedtls && f=$(1)/mbedtls/.cflags && \
  { echo '$(2)' | cmp -s - $$f || echo '$(2)' > $$f; } && echo $$f)
$(W)/libmbedtls.a: $(MBEDTLS_DEPS) $(call mbedtls_flags,$(W),$(CLANG) $(MBEDTLS_WASM_CFLAGS) $(MBEDTLS_DIR))
	@$(MAKE) --no-print-directory -f src/tls/mbedtls.mk MBEDTLS_DIR=$(MBEDTLS_DIR) OUT=$(W) \
	  CC=$(CLANG) AR=$(AR) CFLAGS="$(MBEDTLS_WASM_CFLAGS)"
$(N)/libmbedtls.a: $(MBEDTLS_DEPS) $(call mbedtls_flags,$(N),$(CLANG) $(MBEDTLS_NATIVE_CFLAGS) $(MBEDTLS_DIR))
	@$(MAKE) --no-print-directory -f src/tls/mbedtls.mk MBEDTLS_DIR=$(MBEDTLS_DIR) OUT=$(N) \
	  CC=$(CLANG) AR=$(AR) CFLAGS="$(MBEDTLS_NATIVE_CFLAGS)"
$(R)/libmbedtls.a: $(MBEDTLS_DEPS) $(call mbedtls_flags,$(R),$(CLANG) $(MBEDTLS_RELEASE_CFLAGS) $(MBEDTLS_DIR))
	@$(MAKE) --no-print-directory -f src/tls/mbedtls.mk MBEDTLS_DIR=$(MBEDTLS_DIR) OUT=$(R) \
	  CC=$(CLANG) AR=$(AR) CFLAGS="$(MBEDTLS_RELEASE_CFLAGS)"
# Recreated if a `make clean` in the same run removed it after parsing.
$(W)/mbedtls/.cflags $(N)/mbedtls/.cflags $(R)/mbedtls/.cflags:
	@mkdir -p $(dir $@) && touch $@

# The glue is compiled with the library's configuration.
TLS_INC := -I$(MBEDTLS_DIR)/include -DMBEDTLS_CONFIG_FILE='"wasio_mbedtls_config.h"' -Isrc/tls
TLSLIB := libmbedtls.a
TLS_LIBS := $(W)/libmbedtls.a $(N)/libmbedtls.a $(R)/libmbedtls.a
$(W)/obj/src/tls/%.o $(W)/obj/$(GEN)/%.o: WASM_CFLAGS += $(TLS_INC)
$(N)/obj/src/tls/%.o $(N)/obj/$(GEN)/%.o: NATIVE_CFLAGS += $(TLS_INC)
$(B)/native-release/obj/src/tls/%.o: RELEASE_CFLAGS += $(TLS_INC)

# Debian's ca-certificates (installed by setup) provides the bundle.
$(CA_BUNDLE): | $(SETUP_STAMP)
$(GEN)/tls_anchors.c: tools/mkanchors $(CA_BUNDLE)
	@mkdir -p $(dir $@)
	@tools/mkanchors $(CA_BUNDLE) $@

# Tools users run (wasio-fetch, wasio-serve): apps/NAME/*.c -> build/wasm32/apps/NAME.wasm
# and, natively on the posix backend, build/native/apps/NAME.
APPS := $(notdir $(patsubst %/,%,$(wildcard apps/*/)))
APP_WASM := $(foreach a,$(APPS),$(W)/apps/$(a).wasm)
APP_NATIVE := $(foreach a,$(APPS),$(N)/apps/$(a))
# wasio-fetch's second build, linked with libwasio-hosttls.a (wasio-cc
# --host-tls): imports wasi:tls, so --tls-backend host works in it, and it
# runs only where the host offers wasi:tls (docs/HOST_TLS.md).
FETCH_HOSTTLS := $(W)/apps/wasio-fetch-hosttls.wasm
# wasio-fetch's wasi:http build, linked with libwasio-http.a (wasio-cc
# --http): its requests go through the host's wasi:http outgoing-handler
# (--transport host, the default there), so it runs with `wasmtime run -S
# http` and no socket permission at all (docs/WASI_HTTP_CLIENT.md).
FETCH_HTTP := $(W)/apps/wasio-fetch-http.wasm
EXAMPLES := $(notdir $(patsubst %/,%,$(wildcard examples/*/)))
EXAMPLE_WASM := $(foreach e,$(EXAMPLES),$(W)/examples/$(e).wasm)
EXAMPLE_NATIVE := $(foreach e,$(EXAMPLES),$(N)/examples/$(e))
CTESTS := $(basename $(notdir $(wildcard tests/component/*.c)))
CTEST_WASM := $(foreach t,$(CTESTS),$(W)/tests/$(t).wasm)
CTEST_NATIVE := $(foreach t,$(CTESTS),$(N)/tests/$(t))
WTESTS := $(basename $(notdir $(wildcard tests/wasi/*.c)))
WTEST_WASM := $(foreach t,$(WTESTS),$(W)/wasi-tests/$(t).wasm)
UNIT_SRC := $(wildcard tests/unit/*.c)
# Every test program links the harness (registry, asserts) and the shared
# helpers (tests/testlib.h); only the host tests of tests/wasi go without
# the helpers, which need libwasio.
TESTLIB_SRC := tests/harness.c tests/testlib.c
TESTLIB := $(TESTLIB_SRC) tests/harness.h tests/testlib.h

.PHONY: all setup lib test demo bench clean check-bindings
# Components are stripped of debug info and names (tools/wasio-cc; --debug
# keeps them); each is printed with both sizes when it is built.
all: lib $(EXAMPLE_WASM) $(EXAMPLE_NATIVE) $(APP_WASM) $(APP_NATIVE) tests-build hosttls wasihttp p3 p3http p3hosttls $(FETCH_HOSTTLS) \
  $(FETCH_HTTP)
	@for f in $(W)/examples/hello.wasm $(APP_WASM) $(FETCH_HOSTTLS) $(FETCH_HTTP); do \
	  printf 'size: %s %s bytes (stripped)\n' $$f $$(stat -c %s $$f); done

CRT := $(W)/crt1-wasio.o
lib: $(W)/libwasio.a $(CRT) $(N)/libwasio.a $(W)/lib/pkgconfig/wasio.pc $(TLS_LIBS) \
  $(R)/libwasio-full.a $(R)/lib/pkgconfig/wasio-native.pc

# ---- setup ----------------------------------------------------------------
setup: $(SETUP_STAMP)
$(SETUP_STAMP): tools/setup.sh tools/versions.env tools/jco/package-lock.json \
  tools/wasio-tls-host/Cargo.toml tools/wasio-tls-host/Cargo.lock tools/wasio-tls-host/src/main.rs
	@bash tools/setup.sh
	@mkdir -p $(B) && touch $@

# ---- zlib: Debian's source package, for wasio-fetch --compressed -----------------
# tools/setup.sh unpacks the pinned source (ZLIB_VERSION; the directory name
# drops the epoch "1:") into ZLIB_DIR. Only the inflate half is compiled,
# unchanged, into one libz.a per target: for wasm32 like mbedTLS, and natively
# with libwasio's sanitizers from the same source, so the native tests run
# the very code the component runs (Debian's zlib1g-dev would be another
# build of it, uninstrumented). The .o files depend on the setup stamp: the
# sources exist only after setup. zlib 1.2.13 uses K&R definitions, hence
# -Wno-deprecated-non-prototype. Linked only into wasio-fetch (apps rules).
ZLIB_DIR := $(WASIO_TOOLS)/zlib-$(lastword $(subst :, ,$(ZLIB_VERSION)))
ZLIB_SRC := adler32 crc32 inffast inflate inftrees zutil
ZLIB_FLAGS := -Wno-deprecated-non-prototype
$(W)/zlib/%.o: $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_TARGET) -O2 -g0 $(ZLIB_FLAGS) -c $(ZLIB_DIR)/$*.c -o $@
$(N)/zlib/%.o: $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	  $(ZLIB_FLAGS) -c $(ZLIB_DIR)/$*.c -o $@
$(W)/libz.a: $(foreach f,$(ZLIB_SRC),$(W)/zlib/$(f).o)
	@rm -f $@
	$(AR) rcs $@ $^
$(N)/libz.a: $(foreach f,$(ZLIB_SRC),$(N)/zlib/$(f).o)
	@rm -f $@
	$(AR) rcs $@ $^

# ---- WASI bindings: generated at build time from the pinned WIT -------------
# wit/wasio.wit names the imports; the WASI packages come from jco's
# lib/wit/builtin/$(WASI_VERSION) (the pinned libc's 0.2.0 imports merge into it:
# docs/POSIX.md).
# wasi:cli (and wasi:filesystem, which its worlds include) is there for
# wasi:cli/exit's exit-with-code, which the program entry uses (crt/start.c).
$(B)/wit/.stamp: wit/wasio.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit && mkdir -p $(B)/wit/deps
	cp wit/wasio.wit $(B)/wit/
	for p in io clocks random sockets cli filesystem; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_VERSION)/wasi-$$p $(B)/wit/deps/; done
	@touch $@

$(GEN)/imports.c $(GEN)/imports.h $(GEN)/imports_component_type.o &: $(B)/wit/.stamp
	@mkdir -p $(GEN)
	$(TB)/wit-bindgen c $(B)/wit --world imports --out-dir $(GEN) >/dev/null

$(W)/obj/gen/imports.o: $(GEN)/imports.c $(GEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_CFLAGS) -Wno-unused-parameter -c $< -o $@

# ---- wasm32 library ---------------------------------------------------------
$(W)/obj/%.o: %.c $(HDRS) $(GEN)/imports.h $(wildcard src/backend/wasip2/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_CFLAGS) -c $< -o $@

# The program entry that replaces wasi-libc's crt1-command.o (see the file).
# Its _start is the wasi:cli/run export: the component type of wit/wasio.wit's
# `command` world declares it, in each libwasio*.a beside the imports' type
# (crt1-wasio.o references it; `wasm-ld -r` would drop _start's export name).
CMD_TYPE := $(GEN)/command/command_component_type.o
$(CMD_TYPE): $(B)/wit/.stamp
	@mkdir -p $(dir $@)
	$(TB)/wit-bindgen c $(B)/wit --world command --out-dir $(GEN)/command >/dev/null
$(CRT): src/backend/wasip2/crt/start.c src/backend/wasi/crt_exit.h $(GEN)/imports.h | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_CFLAGS) -c $< -o $@

$(W)/libwasio.a: $(WASM_OBJ) $(GEN)/imports_component_type.o $(CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

# pkg-config files: every path relative to the file (${pcfiledir}), so
# the tree may move. In the tree they point at the build; `make install`
# writes its own for the installed layout.
WASIO_VERSION := $(shell sed -n 's/^\#define WASIO_VERSION_STRING "\(.*\)"/\1/p' include/wasio.h)
pc_subst = sed -e 's|@VERSION@|$(WASIO_VERSION)|g' -e 's|@CLANG_MAJOR@|$(CLANG_MAJOR)|g' \
  -e 's|@WASI_VERSION@|$(WASI_VERSION)|g' -e 's|@TO_PREFIX@|$(1)|g' -e 's|@TO_LIBDIR@|$(2)|g' -e 's|@SYSROOT@|$(3)|g' \
  -e "s|@BUILTINS@|$(WASM_RT)|g" -e 's|@WASI_LIBC_VERSION@|$(WASI_LIBC_VERSION)|g' \
  -e 's|@NATIVE_LIB@|$(4)|g' -e 's|@NATIVE_TLS_LIB@|$(5)|g'
$(W)/lib/pkgconfig/wasio.pc: tools/wasio.pc.in include/wasio.h $(W)/libwasio.a
	@mkdir -p $(dir $@)
	$(call pc_subst,../../../..,../..,$(WASI_LIBC_SYSROOT)) $< > $@
$(R)/lib/pkgconfig/wasio-native.pc: tools/wasio-native.pc.in include/wasio.h | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(call pc_subst,../../../..,../..,,libwasio-full.a,$(TLSLIB)) $< > $@

# The native release library for users (wasio-native.pc): the -O2 objects
# of the benchmarks' baseline plus the trust anchors, in one archive, and
# mbedTLS's release build beside it.
$(R)/libwasio-full.a: $(RELEASE_OBJ) $(R)/obj/$(GEN)/tls_anchors.o
	@rm -f $@
	$(AR) rcs $@ $^

# ---- make install PREFIX=DIR (default /usr/local) ----------------------------------
# PREFIX/include/wasio.h, wasio/*.h; PREFIX/lib/wasm32-wasip2/ (libwasio.a,
# libmbedtls.a, crt1-wasio.o: the component library) and
# PREFIX/lib/wasio/wasi-libc (the libc it was built with: its wasm32-wasip2
# headers, libraries and Debian copyright file, docs/POSIX.md);
# PREFIX/lib/libwasio.a and libwasio-mbedtls.a (native, release);
# PREFIX/lib/pkgconfig/wasio.pc (wasm32) and wasio-native.pc, relative to
# their own place. See README.md, "Linking natively".
PREFIX ?= /usr/local
.PHONY: install
install: lib
	install -d $(PREFIX)/include/wasio $(PREFIX)/lib/wasm32-wasip2 $(PREFIX)/lib/pkgconfig \
	  $(PREFIX)/lib/wasio/wasi-libc/include $(PREFIX)/lib/wasio/wasi-libc/lib
	install -m 644 include/wasio.h $(PREFIX)/include/
	install -m 644 include/wasio/*.h $(PREFIX)/include/wasio/
	install -m 644 $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) $(PREFIX)/lib/wasm32-wasip2/
	rm -rf $(PREFIX)/lib/wasio/wasi-libc/include/wasm32-wasip2 $(PREFIX)/lib/wasio/wasi-libc/lib/wasm32-wasip2
	cp -r $(WASI_LIBC_SYSROOT)/include/wasm32-wasip2 $(PREFIX)/lib/wasio/wasi-libc/include/
	cp -r $(WASI_LIBC_SYSROOT)/lib/wasm32-wasip2 $(PREFIX)/lib/wasio/wasi-libc/lib/
	install -m 644 $(WASI_LIBC_SYSROOT)/share/doc/wasi-libc/copyright $(PREFIX)/lib/wasio/wasi-libc/
	install -m 644 $(R)/libwasio-full.a $(PREFIX)/lib/libwasio.a
	install -m 644 $(R)/$(TLSLIB) $(PREFIX)/lib/libwasio-mbedtls.a
	$(call pc_subst,../..,../wasm32-wasip2,$${pcfiledir}/../wasio/wasi-libc) tools/wasio.pc.in > $(PREFIX)/lib/pkgconfig/wasio.pc
	$(call pc_subst,../..,..,,libwasio.a,libwasio-mbedtls.a) tools/wasio-native.pc.in > $(PREFIX)/lib/pkgconfig/wasio-native.pc
	@echo "install: wasio $(WASIO_VERSION) in $(PREFIX) (pkg-config: PKG_CONFIG_PATH=$(PREFIX)/lib/pkgconfig)"

# ---- the host-TLS variant: build/wasm32/libwasio-hosttls.a ----------------------
# The same library plus wasio_tls_host_* over the draft wasi:tls (only
# wasmtime with `-S tls` has it, jco has none), so it is a second library
# with its own generated bindings, never the default: a component linked with
# it (tools/wasio-cc --host-tls) imports wasi:tls and cannot be instantiated
# on a host without it. build/wit-hosttls = wit/wasio-host-tls.wit, wasio.wit
# as a dependency, jco's WASI packages, and the wasi:tls WIT of the
# wasmtime-wasi-tls crate of the pinned wasmtime (tools/setup.sh). `make
# hosttls` builds it and the --host-tls build of every component test that
# declares `wasio-test: hosttls`; tests/run.py (`make test`) runs those on
# wasmtime -S tls and on tools/wasio-tls-host; `make test-hosttls` runs just
# those hosts and the import checks.
HW := $(B)/wasm32-hosttls
HGEN := $(B)/gen-hosttls
TLS_WIT := $(WASIO_TOOLS)/wasi-tls-wit-$(WASMTIME_VERSION)
HOSTTLS_CFLAGS := $(subst -I$(GEN),-I$(HGEN),$(WASM_CFLAGS)) -DWASIO_HOST_TLS $(TLS_INC)
HOSTTLS_OBJ := $(patsubst %.c,$(HW)/obj/%.o,$(PORTABLE_SRC) $(WASIP2_SRC) $(GEN)/tls_anchors.c) \
  $(HW)/obj/gen/imports.o

$(B)/wit-hosttls/.stamp: wit/wasio.wit wit/wasio-host-tls.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit-hosttls && mkdir -p $(B)/wit-hosttls/deps/wasio-runtime
	cp wit/wasio-host-tls.wit $(B)/wit-hosttls/
	cp wit/wasio.wit $(B)/wit-hosttls/deps/wasio-runtime/
	for p in io clocks random sockets cli filesystem; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_VERSION)/wasi-$$p $(B)/wit-hosttls/deps/; done
	cp -r $(TLS_WIT)/tls $(B)/wit-hosttls/deps/wasi-tls
	@touch $@

# --features tls: every item of the draft is @unstable(feature = tls).
$(HGEN)/imports.c $(HGEN)/imports.h $(HGEN)/imports_component_type.o &: $(B)/wit-hosttls/.stamp
	@mkdir -p $(HGEN)
	$(TB)/wit-bindgen c $(B)/wit-hosttls --world imports --features tls --out-dir $(HGEN) >/dev/null

$(HW)/obj/gen/imports.o: $(HGEN)/imports.c $(HGEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(HOSTTLS_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(HW)/obj/%.o: %.c $(HDRS) $(HGEN)/imports.h $(wildcard src/backend/wasip2/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(HOSTTLS_CFLAGS) -c $< -o $@

$(W)/libwasio-hosttls.a: $(HOSTTLS_OBJ) $(HGEN)/imports_component_type.o $(CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

# The variant's test components: tests/component/NAME.c with a
# `wasio-test: hosttls` line, run by tests/run.py as NAME.TEST@wasmtime-tls
# and NAME.TEST@tlshost.
HOSTTLS_CTESTS := $(basename $(notdir $(shell grep -l 'wasio-test: hosttls' tests/component/*.c)))
HOSTTLS_CTEST_WASM := $(foreach t,$(HOSTTLS_CTESTS),$(W)/tests-hosttls/$(t).wasm)
$(W)/tests-hosttls/%.wasm: tests/component/%.c $(TESTLIB) \
  $(W)/libwasio-hosttls.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --host-tls -o $@ -Itests $< $(TESTLIB_SRC)

.PHONY: hosttls test-hosttls
hosttls: $(W)/libwasio-hosttls.a $(HOSTTLS_CTEST_WASM)
	@printf 'hosttls: %s imports %s\n' $(W)/tests-hosttls/host_tls.wasm \
	  "$$($(TB)/wasm-tools component wit $(W)/tests-hosttls/host_tls.wasm | grep -o 'wasi:tls/[a-z-]*@[^;]*' | sort -u | tr '\n' ' ')"

test-hosttls: hosttls $(foreach t,$(HOSTTLS_CTESTS),$(W)/tests/$(t).wasm)
	@python3 tests/run.py --hosts wasmtime-tls,tlshost

# ---- the wasi:http variant: build/wasm32/libwasio-http.a -----------------------------
# The same library plus HTTP through the host (wasi:http: the client over
# outgoing-handler, the server as the incoming-handler export). A second
# library with its own generated bindings (build/wit-http from
# wit/wasio-http.wit), never the default: a component linked with it
# (tools/wasio-cc --http) imports wasi:http/types, which a plain
# `wasmtime run` does not offer (`-S http` does), and exports
# wasi:http/incoming-handler. The sources see -DWASIO_WASI_HTTP.
# `make wasihttp` builds it, the --http build of every component test that
# declares `wasio-test: wasihttp`, and the wasi:http builds of the examples
# and apps.
HTW := $(B)/wasm32-http
HTGEN := $(B)/gen-http
WASIHTTP_CFLAGS := $(subst -I$(GEN),-I$(HTGEN),$(WASM_CFLAGS)) -DWASIO_WASI_HTTP $(TLS_INC)
WASIHTTP_OBJ := $(patsubst %.c,$(HTW)/obj/%.o,$(PORTABLE_SRC) $(WASIP2_SRC) $(GEN)/tls_anchors.c) \
  $(HTW)/obj/gen/imports.o

$(B)/wit-http/.stamp: wit/wasio.wit wit/wasio-http.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit-http && mkdir -p $(B)/wit-http/deps/wasio-runtime
	cp wit/wasio-http.wit $(B)/wit-http/
	cp wit/wasio.wit $(B)/wit-http/deps/wasio-runtime/
	for p in io clocks random sockets cli filesystem http; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_VERSION)/wasi-$$p $(B)/wit-http/deps/; done
	@touch $@

$(HTGEN)/imports.c $(HTGEN)/imports.h $(HTGEN)/imports_component_type.o &: $(B)/wit-http/.stamp
	@mkdir -p $(HTGEN)
	$(TB)/wit-bindgen c $(B)/wit-http --world imports --out-dir $(HTGEN) >/dev/null

$(HTW)/obj/gen/imports.o: $(HTGEN)/imports.c $(HTGEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(WASIHTTP_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(HTW)/obj/%.o: %.c $(HDRS) $(HTGEN)/imports.h $(wildcard src/backend/wasip2/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASIHTTP_CFLAGS) -c $< -o $@

$(W)/libwasio-http.a: $(WASIHTTP_OBJ) $(HTGEN)/imports_component_type.o $(CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

# The variant's test components: tests/component/NAME.c with a
# `wasio-test: wasihttp` line.
WASIHTTP_CTESTS := $(basename $(notdir $(shell grep -l 'wasio-test: wasihttp' tests/component/*.c)))
WASIHTTP_CTEST_WASM := $(foreach t,$(WASIHTTP_CTESTS),$(W)/tests-http/$(t).wasm)
$(W)/tests-http/%.wasm: tests/component/%.c $(TESTLIB) \
  $(W)/libwasio-http.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --http -o $@ -Itests $< $(TESTLIB_SRC)

# The test servers (tests/servers/NAME.c, run by the drivers of tests/apps):
# each is built natively (a socket server, ASan+UBSan) and with --http (a
# wasi:http handler). They count their live heap themselves, so every
# allocator entry of the statically linked code is wrapped.
TEST_SERVERS := $(basename $(notdir $(wildcard tests/servers/*.c)))
TEST_SERVER_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
TEST_SERVER_HTTP := $(foreach t,$(TEST_SERVERS),$(W)/test-servers-http/$(t).wasm)
$(W)/test-servers-http/%.wasm: tests/servers/%.c $(W)/libwasio-http.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --http -o $@ $(TEST_SERVER_WRAP) $<

# The examples that are wasi:http handlers, in their --http build too
# (build/wasm32/examples-http: tools/wasio-run --serve runs them).
HTTP_EXAMPLES := http-handler http-proxy
HTTP_EXAMPLE_WASM := $(foreach e,$(HTTP_EXAMPLES),$(W)/examples-http/$(e).wasm)

.PHONY: wasihttp
wasihttp: $(W)/libwasio-http.a $(WASIHTTP_CTEST_WASM) $(TEST_SERVER_HTTP) $(HTTP_EXAMPLE_WASM)

# ---- the WASI 0.3 variant: build/wasm32/libwasio-p3.a ----------------------------------
# The same library over the wasip3 backend (src/backend/wasip3: one
# waitable set per loop; docs/ARCHITECTURE.md), with bindings of its own
# (build/gen-p3, from wit/wasio-p3.wit and the 0.3.0 packages the pinned
# jco ships) and its own program entry (crt1-wasio-p3.o: the
# wasi:cli/run@0.3.0 export). The libc stays the wasip2 one (its stdio and
# arguments). `tools/wasio-cc --p3` links a program with it; `make p3`
# builds the library, the p3 build of every example and app
# (build/wasm32/examples-p3, apps-p3) and of every component test
# (build/wasm32/tests-p3, run by tests/run.py on the host wasmtime-p3 in
# `make test`).
P3W := $(B)/wasm32-p3
P3GEN := $(B)/gen-p3
WASI_P3_VERSION := 0.3.0
WASIP3_SRC := $(sort $(wildcard src/backend/wasip3/*.c)) $(WASI_COMMON_SRC)
P3_CFLAGS := $(subst -Isrc/backend/wasip2,-Isrc/backend/wasip3,$(subst -I$(GEN),-I$(P3GEN),$(WASM_CFLAGS))) $(TLS_INC)
P3_OBJ := $(patsubst %.c,$(P3W)/obj/%.o,$(PORTABLE_SRC) $(WASIP3_SRC) $(GEN)/tls_anchors.c) $(P3W)/obj/gen/imports.o
P3_CRT := $(W)/crt1-wasio-p3.o
P3_CMD_TYPE := $(P3GEN)/command/command_component_type.o

$(B)/wit-p3/.stamp: wit/wasio-p3.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit-p3 && mkdir -p $(B)/wit-p3/deps
	cp wit/wasio-p3.wit $(B)/wit-p3/
	for p in clocks random sockets cli filesystem; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_P3_VERSION)/wasi-$$p $(B)/wit-p3/deps/; done
	@touch $@

$(P3GEN)/imports.c $(P3GEN)/imports.h $(P3GEN)/imports_component_type.o &: $(B)/wit-p3/.stamp
	@mkdir -p $(P3GEN)
	$(TB)/wit-bindgen c $(B)/wit-p3 --world imports --out-dir $(P3GEN) >/dev/null
$(P3_CMD_TYPE): $(B)/wit-p3/.stamp
	@mkdir -p $(dir $@)
	$(TB)/wit-bindgen c $(B)/wit-p3 --world command --out-dir $(P3GEN)/command >/dev/null

$(P3W)/obj/gen/imports.o: $(P3GEN)/imports.c $(P3GEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(P3_CFLAGS) -Wno-unused-parameter -Wno-strict-prototypes -c $< -o $@

$(P3W)/obj/%.o: %.c $(HDRS) $(P3GEN)/imports.h $(wildcard src/backend/wasip3/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(P3_CFLAGS) -c $< -o $@

$(P3_CRT): src/backend/wasip3/crt/start.c src/backend/wasi/crt_exit.h src/backend/wasi/crt_main.h $(P3GEN)/imports.h | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(P3_CFLAGS) -c $< -o $@

$(W)/libwasio-p3.a: $(P3_OBJ) $(P3GEN)/imports_component_type.o $(P3_CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

# The p3 builds of the component tests: all but those linking the
# wasip2 libc's sockets into the loop (`wasio-test: cc` lines, and curl's:
# their watchers cannot join a WASI 0.3 waitable set, see
# src/backend/wasip3/poll.c; tests/run.py prints that as their skip).
P3_CTESTS := $(filter-out $(basename $(notdir $(wildcard tests/component/curl.c tests/component/curl_*.c))) $(basename $(notdir $(shell grep -l 'wasio-test: cc' tests/component/*.c))),$(CTESTS))
P3_CTEST_WASM := $(foreach t,$(P3_CTESTS),$(W)/tests-p3/$(t).wasm)
$(W)/tests-p3/%.wasm: tests/component/%.c $(TESTLIB) $(W)/libwasio-p3.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 -o $@ -Itests $< $(TESTLIB_SRC)
P3_EXAMPLES := $(filter-out curl-get gateway,$(EXAMPLES))
P3_EXAMPLE_WASM := $(foreach e,$(P3_EXAMPLES),$(W)/examples-p3/$(e).wasm)
P3_APP_WASM := $(foreach a,$(APPS),$(W)/apps-p3/$(a).wasm)

# ---- the WASI 0.3 host-TLS variant: build/wasm32/libwasio-p3-hosttls.a ----------------
# libwasio-p3.a plus TLS by the host over wasi:tls@0.3.0-draft
# (src/backend/wasip3/tls_host.c; -DWASIO_HOST_TLS), with bindings of its
# own (build/gen-p3-hosttls, from wit/wasio-p3-host-tls.wit and the draft
# kept by setup). `tools/wasio-cc --p3 --host-tls` links a program with it;
# `make p3hosttls` builds it and the p3 build of every `wasio-test:
# hosttls` component test (hosts wasmtime-p3-tls and tlshost-p3 in
# tests/run.py).
P3TW := $(B)/wasm32-p3-hosttls
P3TGEN := $(B)/gen-p3-hosttls
P3HOSTTLS_CFLAGS := $(subst -I$(P3GEN),-I$(P3TGEN),$(P3_CFLAGS)) -DWASIO_HOST_TLS
P3HOSTTLS_OBJ := $(patsubst %.c,$(P3TW)/obj/%.o,$(PORTABLE_SRC) $(WASIP3_SRC) $(GEN)/tls_anchors.c) $(P3TW)/obj/gen/imports.o

$(B)/wit-p3-hosttls/.stamp: wit/wasio-p3.wit wit/wasio-p3-host-tls.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit-p3-hosttls && mkdir -p $(B)/wit-p3-hosttls/deps/wasio-runtime-p3
	cp wit/wasio-p3-host-tls.wit $(B)/wit-p3-hosttls/
	cp wit/wasio-p3.wit $(B)/wit-p3-hosttls/deps/wasio-runtime-p3/
	for p in clocks random sockets cli filesystem; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_P3_VERSION)/wasi-$$p $(B)/wit-p3-hosttls/deps/; done
	cp -r $(TLS_WIT)/tls-p3 $(B)/wit-p3-hosttls/deps/wasi-tls
	@touch $@

$(P3TGEN)/imports.c $(P3TGEN)/imports.h $(P3TGEN)/imports_component_type.o &: $(B)/wit-p3-hosttls/.stamp
	@mkdir -p $(P3TGEN)
	$(TB)/wit-bindgen c $(B)/wit-p3-hosttls --world imports --out-dir $(P3TGEN) >/dev/null

$(P3TW)/obj/gen/imports.o: $(P3TGEN)/imports.c $(P3TGEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(P3HOSTTLS_CFLAGS) -Wno-unused-parameter -Wno-strict-prototypes -c $< -o $@

$(P3TW)/obj/%.o: %.c $(HDRS) $(P3TGEN)/imports.h $(wildcard src/backend/wasip3/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(P3HOSTTLS_CFLAGS) -c $< -o $@

$(W)/libwasio-p3-hosttls.a: $(P3HOSTTLS_OBJ) $(P3TGEN)/imports_component_type.o $(P3_CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

P3HOSTTLS_CTEST_WASM := $(foreach t,$(HOSTTLS_CTESTS),$(W)/tests-p3-hosttls/$(t).wasm)
$(W)/tests-p3-hosttls/%.wasm: tests/component/%.c $(TESTLIB) $(W)/libwasio-p3-hosttls.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --host-tls -o $@ -Itests $< $(TESTLIB_SRC)

.PHONY: p3hosttls
p3hosttls: $(W)/libwasio-p3-hosttls.a $(P3_CRT) $(P3HOSTTLS_CTEST_WASM)

# ---- the WASI 0.3 wasi:http variant: build/wasm32/libwasio-p3-http.a -----------------
# libwasio-p3.a plus HTTP through the host on wasi:http 0.3 (the client
# over client.send, the server as the async handler export:
# src/backend/wasip3/http_host.c, http_incoming.c), with bindings of its
# own (build/gen-p3-http, from wit/wasio-p3-http.wit); the sources see
# -DWASIO_WASI_HTTP. The program entry is the p3 one (crt1-wasio-p3.o).
# `tools/wasio-cc --p3 --http` links a program with it; `make p3http`
# builds it, the test servers' p3 handler builds and the p3 builds of the
# handler examples (build/wasm32/examples-p3-http).
P3HW := $(B)/wasm32-p3-http
P3HGEN := $(B)/gen-p3-http
P3HTTP_CFLAGS := $(subst -I$(P3GEN),-I$(P3HGEN),$(P3_CFLAGS)) -DWASIO_WASI_HTTP
P3HTTP_OBJ := $(patsubst %.c,$(P3HW)/obj/%.o,$(PORTABLE_SRC) $(WASIP3_SRC) $(GEN)/tls_anchors.c) $(P3HW)/obj/gen/imports.o

$(B)/wit-p3-http/.stamp: wit/wasio-p3.wit wit/wasio-p3-http.wit $(SETUP_STAMP)
	@rm -rf $(B)/wit-p3-http && mkdir -p $(B)/wit-p3-http/deps/wasio-runtime-p3
	cp wit/wasio-p3-http.wit $(B)/wit-p3-http/
	cp wit/wasio-p3.wit $(B)/wit-p3-http/deps/wasio-runtime-p3/
	for p in clocks random sockets cli filesystem http; do \
	  cp -r $(JCO_LIB)/wit/builtin/$(WASI_P3_VERSION)/wasi-$$p $(B)/wit-p3-http/deps/; done
	@touch $@

$(P3HGEN)/imports.c $(P3HGEN)/imports.h $(P3HGEN)/imports_component_type.o &: $(B)/wit-p3-http/.stamp
	@mkdir -p $(P3HGEN)
	$(TB)/wit-bindgen c $(B)/wit-p3-http --world imports --out-dir $(P3HGEN) >/dev/null

$(P3HW)/obj/gen/imports.o: $(P3HGEN)/imports.c $(P3HGEN)/imports.h
	@mkdir -p $(dir $@)
	$(CLANG) $(P3HTTP_CFLAGS) -Wno-unused-parameter -Wno-strict-prototypes -c $< -o $@

$(P3HW)/obj/%.o: %.c $(HDRS) $(P3HGEN)/imports.h $(wildcard src/backend/wasip3/*.h src/backend/wasi/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(P3HTTP_CFLAGS) -c $< -o $@

$(W)/libwasio-p3-http.a: $(P3HTTP_OBJ) $(P3HGEN)/imports_component_type.o $(P3_CMD_TYPE)
	@rm -f $@
	$(AR) rcs $@ $^

# The p3 builds of the `wasio-test: wasihttp` component tests (host
# wasmtime-p3-http in tests/run.py) and of the test servers.
P3HTTP_CTEST_WASM := $(foreach t,$(WASIHTTP_CTESTS),$(W)/tests-p3-http/$(t).wasm)
$(W)/tests-p3-http/%.wasm: tests/component/%.c $(TESTLIB) $(W)/libwasio-p3-http.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --http -o $@ -Itests $< $(TESTLIB_SRC)
TEST_SERVER_P3HTTP := $(foreach t,$(TEST_SERVERS),$(W)/test-servers-p3-http/$(t).wasm)
$(W)/test-servers-p3-http/%.wasm: tests/servers/%.c $(W)/libwasio-p3-http.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --http -o $@ $(TEST_SERVER_WRAP) $<
P3HTTP_EXAMPLE_WASM := $(foreach e,$(HTTP_EXAMPLES),$(W)/examples-p3-http/$(e).wasm)

.PHONY: p3http
p3http: $(W)/libwasio-p3-http.a $(P3_CRT) $(P3HTTP_CTEST_WASM) $(TEST_SERVER_P3HTTP) $(P3HTTP_EXAMPLE_WASM)

.PHONY: p3 test-p3 test-jco-p3
p3: $(W)/libwasio-p3.a $(P3_CRT) $(P3_CTEST_WASM) $(P3_EXAMPLE_WASM) $(P3_APP_WASM)
# The component suite on the host wasmtime-p3 alone (`make test` runs it too).
test-p3: p3
	@python3 tests/run.py --hosts wasmtime-p3
# The same on jco's p3 output alone (Node 24, JSPI; tools/jco/run-p3.mjs;
# `make test` runs it too).
test-jco-p3: p3
	@python3 tests/run.py --hosts jco-p3

# ---- native library (posix backend, sanitizers) ---------------------------------
$(N)/obj/%.o: %.c $(HDRS) $(wildcard src/backend/posix/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -c $< -o $@

$(N)/libwasio.a: $(NATIVE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# ---- components: examples and tests, through the user-facing wasio-cc -------------
.SECONDEXPANSION:
$(W)/examples/%.wasm: $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $$(wildcard examples/%/*.c)
	@mkdir -p $(dir $@)
	tools/wasio-cc --size -o $@ $(wildcard examples/$*/*.c)

$(W)/examples-http/%.wasm: $(W)/libwasio-http.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $$(wildcard examples/%/*.c)
	@mkdir -p $(dir $@)
	tools/wasio-cc --http --size -o $@ $(wildcard examples/$*/*.c)

$(W)/examples-p3-http/%.wasm: $(W)/libwasio-p3-http.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc $$(wildcard examples/%/*.c)
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --http --size -o $@ $(wildcard examples/$*/*.c)
$(W)/examples-p3/%.wasm: $(W)/libwasio-p3.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc $$(wildcard examples/%/*.c)
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --size -o $@ $(wildcard examples/$*/*.c)

$(W)/apps-p3/%.wasm: $(W)/libwasio-p3.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc $$(wildcard apps/%/*.c apps/%/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --size -o $@ $(wildcard apps/$*/*.c) $(APP_LIBS)

$(W)/apps/%.wasm: $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $$(wildcard apps/%/*.c apps/%/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --size -o $@ $(wildcard apps/$*/*.c) $(APP_LIBS)

$(FETCH_HOSTTLS): $(W)/libwasio-hosttls.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc \
  $(wildcard apps/wasio-fetch/*.c apps/wasio-fetch/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --host-tls --size -o $@ $(wildcard apps/wasio-fetch/*.c) $(APP_LIBS)

$(FETCH_HTTP): $(W)/libwasio-http.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc \
  $(wildcard apps/wasio-fetch/*.c apps/wasio-fetch/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --http --size -o $@ $(wildcard apps/wasio-fetch/*.c) $(APP_LIBS)

# The examples natively too (posix backend, sanitizers), so that their
# tests (tests/apps/examples.py) run on every host.
$(N)/examples/%: $(N)/libwasio.a $(N)/$(TLSLIB) $$(wildcard examples/%/*.c)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) $(wildcard examples/$*/*.c) $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -o $@

$(N)/apps/%: $(N)/libwasio.a $(N)/$(TLSLIB) $$(wildcard apps/%/*.c apps/%/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) $(wildcard apps/$*/*.c) $(APP_LIBS) $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -o $@

# wasio-fetch --compressed inflates with zlib (above): its builds add it.
$(W)/apps/wasio-fetch.wasm $(W)/apps-p3/wasio-fetch.wasm $(FETCH_HOSTTLS) $(FETCH_HTTP): $(W)/libz.a
$(W)/apps/wasio-fetch.wasm $(W)/apps-p3/wasio-fetch.wasm $(FETCH_HOSTTLS) $(FETCH_HTTP): APP_LIBS = -I$(ZLIB_DIR) $(W)/libz.a
$(N)/apps/wasio-fetch: $(N)/libz.a
$(N)/apps/wasio-fetch: APP_LIBS = -I$(ZLIB_DIR) $(N)/libz.a

# A component test's `wasio-test: cc FLAGS` line (tests/run.py): wasio-cc
# gets FLAGS (--posix, -lhiredis); the native build the same libraries
# (-lhiredis: the bridge's and hiredis's archives, src/bridge/hiredis.mk).
ctest_cc = $(shell sed -n 's|^// wasio-test: cc ||p' tests/component/$(1).c)
ctest_native = $(patsubst -lhiredis,$(N)/libwasio-hiredis.a $(N)/libhiredis.a -I$(N)/include,$(filter-out --posix,$(call ctest_cc,$(1))))
$(W)/tests/%.wasm: tests/component/%.c $(TESTLIB) $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc $(call ctest_cc,$*) -o $@ -Itests $< $(TESTLIB_SRC)

# Host tests: raw bindings and the harness, no libwasio (tests/wasi).
$(W)/wasi-tests/%.wasm: tests/wasi/%.c tests/harness.c tests/harness.h $(W)/obj/gen/imports.o $(GEN)/imports_component_type.o \
  $(CMD_TYPE) $(CRT)
	@mkdir -p $(dir $@)
	$(CLANG) $(WASM_CFLAGS) -DHARNESS_NO_WASIO -Itests -fuse-ld=lld -nostartfiles -nodefaultlibs $(CRT) $< tests/harness.c \
	  $(W)/obj/gen/imports.o $(GEN)/imports_component_type.o $(CMD_TYPE) -lc $(WASM_RT) -o $@.core
	$(TB)/wasm-tools component new $@.core -o $@
	@rm -f $@.core

$(N)/tests/%: tests/component/%.c $(TESTLIB) $(N)/libwasio.a $(N)/$(TLSLIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -Itests $< $(TESTLIB_SRC) $(call ctest_native,$*) $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -o $@

$(N)/test-servers/%: tests/servers/%.c $(N)/libwasio.a $(N)/$(TLSLIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) $< $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) $(TEST_SERVER_WRAP) -o $@

$(N)/tests/unit: $(UNIT_SRC) $(wildcard tests/unit/*.h) $(TESTLIB) $(N)/libwasio.a $(N)/$(TLSLIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) $(TLS_INC) -Itests $(UNIT_SRC) $(TESTLIB_SRC) $(N)/libwasio.a $(N)/$(TLSLIB) $(NATIVE_LDFLAGS) -o $@

.PHONY: tests-build
tests-build: $(N)/tests/unit $(CTEST_WASM) $(CTEST_NATIVE) $(WTEST_WASM) $(foreach t,$(TEST_SERVERS),$(N)/test-servers/$(t))

# ---- fuzzing: libFuzzer targets of the HTTP codec and the TLS glue (not part of `make test`) ----
# `make fuzz` builds fuzz/fuzz_NAME.c against the codec alone (the TLS glue's
# targets: below) and runs each
# for FUZZ_SECONDS (default 30) with fuzz/corpus/NAME as read-only seeds;
# new inputs go to build/fuzz/corpus/NAME, crashes to build/fuzz/crash-NAME-*.
# `make fuzz-smoke` is the bounded CI run: 1 s per target.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(basename $(notdir $(wildcard fuzz/fuzz_*.c)))
FUZZ_SRC := $(sort $(wildcard src/codec/http_*.c))
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all $(COMMON_CFLAGS)

$(B)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h $(FUZZ_SRC) $(HDRS) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) $< $(FUZZ_SRC) -o $@

# The TLS glue's targets (fuzz/fuzz_tls_*.c: PEM and certificate loading,
# the engine's record path) compile the glue with the fuzzer's coverage and
# link the rest of libwasio and mbedTLS (not ours: not fuzzed for itself)
# from the native test build.
TLS_FUZZ_GLUE := $(wildcard src/tls/*_mbedtls.c)
$(B)/fuzz/fuzz_tls_%: fuzz/fuzz_tls_%.c fuzz/fuzz_common.h $(TLS_FUZZ_GLUE) $(HDRS) $(N)/libwasio.a $(N)/libmbedtls.a | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -DWASIO_DEBUG -Isrc/backend/posix $(TLS_INC) $< $(TLS_FUZZ_GLUE) \
	  $(N)/libwasio.a $(N)/libmbedtls.a -pthread -o $@

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(foreach t,$(FUZZ_TARGETS),$(B)/fuzz/$(t))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do n=$${t#fuzz_}; mkdir -p $(B)/fuzz/corpus/$$n; \
	  dict=; case $$n in http_*) dict=-dict=fuzz/http.dict;; esac; \
	  log=$(B)/fuzz/$$n.log; \
	  if $(B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
	      -artifact_prefix=$(B)/fuzz/crash-$$n- $(B)/fuzz/corpus/$$n fuzz/corpus/$$n >$$log 2>&1; then \
	    printf 'fuzz %-14s %s s: %s runs, no crash\n' $$n $(FUZZ_SECONDS) \
	      "$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log)"; \
	  else tail -40 $$log; echo "fuzz $$n: FAILED (log $$log)"; exit 1; fi; done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=1

# ---- the commands of the README ----------------------------------------------
test: all
	@python3 tests/run.py

demo: all
	@bash examples/demo.sh

# Only the TLS tests, natively and on wasmtime (a few minutes, not the whole
# suite's quarter hour): the TLS unit tests (anchors, PEM, the first flight,
# the allocation-failure sweeps of TLS and HTTPS), tests/component/tls.c,
# https_client.c, https_server.c, and the apps' TLS cases (wasio-fetch's
# https, --cacert, -k, the verification rules' exit 60; wasio-serve's
# --cert/--key).
TLS_TESTS := -k unit.tls -k unit.https -k unit.error -k tls. -k https_ -k wasio_fetch.https -k wasio_fetch.tls \
  -k wasio_fetch.error_codes -k wasio_fetch.proxy_x_https -k wasio_fetch.cert_rules -k wasio_serve.https
.PHONY: test-tls
test-tls: all
	@python3 tests/run.py --hosts native,wasmtime $(TLS_TESTS)

bench: bench-build
	@python3 bench/run.py

# ---- benchmarks (bench/): an optimized native library, no sanitizers ------------
# build/native-release/libwasio.a is the same core + posix backend as
# build/native, compiled -O2 without ASan/UBSan: the native baseline of the
# benchmarks. Each bench/NAME.c is built twice from the same source: natively
# against it, and as a component through wasio-cc. bench/helpers/peer.c is the
# native echo peer (no wasio).
# (R, RELEASE_CFLAGS and RELEASE_OBJ are defined at the top.)
BENCH_CFLAGS := -O2 -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Iinclude
# Every heap allocation of the statically linked code is also counted by the
# program itself (bench/alloc_count.h), a cross-check of wasio's own count.
BENCH_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign
# (http_floor.c is a wasi:http handler on the raw bindings: only its
# bench-http build exists.)
BENCHES := $(filter-out tls_% curl_% http_floor,$(basename $(notdir $(wildcard bench/*.c))))
BENCH_NATIVE := $(foreach b,$(BENCHES),$(R)/bench/$(b))
BENCH_WASM := $(foreach b,$(BENCHES),$(W)/bench/$(b).wasm)
# The same benchmarks on WASI 0.3 (wasio-cc --p3; bench/run.py's host wasmtime-p3).
BENCH_P3 := $(foreach b,loop_turn echo_tput http_serve http_get,$(W)/bench-p3/$(b).wasm)

$(R)/obj/%.o: %.c $(HDRS) $(wildcard src/backend/posix/*.h) | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(RELEASE_CFLAGS) -c $< -o $@

$(R)/libwasio.a: $(RELEASE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# libwasio.a holds the TLS glue (the HTTP library links it for https://), so
# every native bench links the release libmbedtls.a and trust anchors too
# (their rules are in the TLS section below), as the native tests do.
$(R)/bench/%: bench/%.c bench/alloc_count.h $(R)/libwasio.a $(R)/obj/$(GEN)/tls_anchors.o $(R)/$(TLSLIB) $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BENCH_CFLAGS) $< $(R)/obj/$(GEN)/tls_anchors.o $(R)/libwasio.a $(R)/$(TLSLIB) -pthread $(BENCH_WRAP) -o $@

$(W)/bench/%.wasm: bench/%.c bench/alloc_count.h $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc -o $@ -Wall -Wextra -Werror $(BENCH_WRAP) $<

$(W)/bench-p3/%.wasm: bench/%.c bench/alloc_count.h $(W)/libwasio-p3.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 -o $@ -Wall -Wextra -Werror $(BENCH_WRAP) $<

$(R)/bench/helpers/peer: bench/helpers/peer.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -std=c11 -Wall -Wextra -Werror $< -o $@

.PHONY: bench-build
bench-build: $(BENCH_NATIVE) $(BENCH_WASM) $(BENCH_P3) $(R)/bench/helpers/peer

# HTTP requests/s (bench/run_http.py): bench/http_serve.c and bench/http_get.c,
# native and as components (http_serve also as a wasi:http handler for wasmtime
# serve), against wrk, nginx (one worker) and curl --parallel.
HTTP_BENCH := $(R)/bench/http_serve $(R)/bench/http_get $(W)/bench/http_serve.wasm $(W)/bench/http_get.wasm \
  $(W)/bench-p3/http_serve.wasm $(W)/bench-p3/http_get.wasm \
  $(W)/bench-http/http_serve.wasm $(W)/bench-http/http_floor.wasm $(W)/bench-p3-http/http_serve.wasm
.PHONY: bench-http
bench-http: $(HTTP_BENCH)
	@python3 bench/run_http.py

# Does a guest that waits block the host's threads? (bench/run_wasi_http.py,
# issue 11): bench/http_wait.c as a wasi:http handler under wasmtime serve
# and jco serve, against its socket builds (natively and on wasmtime run).
$(W)/bench-http/%.wasm: bench/%.c $(W)/libwasio-http.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --http -o $@ -Wall -Wextra -Werror $<
$(W)/bench-p3-http/%.wasm: bench/%.c $(W)/libwasio-p3-http.a $(W)/$(TLSLIB) $(P3_CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --p3 --http -o $@ -Wall -Wextra -Werror $<
# The host's floor: a handler on the raw bindings, without wasio (bench/http_floor.c).
$(W)/bench-http/http_floor.wasm: bench/http_floor.c $(W)/libwasio-http.a $(CRT) tools/wasio-cc
	@mkdir -p $(dir $@)
	tools/wasio-cc --http -I$(HTGEN) -o $@ -Wall -Wextra -Werror $<
.PHONY: bench-wasi-http
bench-wasi-http: $(W)/bench-http/http_wait.wasm $(R)/bench/http_wait $(W)/bench/http_wait.wasm
	@python3 bench/run_wasi_http.py

# TLS handshakes/s and bulk MB/s (bench/run_tls.py): bench/tls_client.c,
# native and as a component, against openssl s_server, next to openssl s_time.
# The native build links the -O2 libmbedtls.a (the TLS section above) and
# the trust anchors compiled without sanitizers.
$(R)/obj/$(GEN)/tls_anchors.o: $(GEN)/tls_anchors.c | $(SETUP_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) $(RELEASE_CFLAGS) $(TLS_INC) -c $< -o $@
$(R)/bench/tls_%: bench/tls_%.c $(R)/libwasio.a $(R)/obj/$(GEN)/tls_anchors.o $(R)/$(TLSLIB) $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BENCH_CFLAGS) $< $(R)/obj/$(GEN)/tls_anchors.o $(R)/libwasio.a $(R)/$(TLSLIB) -pthread -o $@
$(W)/bench/tls_%.wasm: bench/tls_%.c $(W)/libwasio.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc -o $@ -Wall -Wextra -Werror $<
# The same client in the host-TLS build (bench/run_tls.py runs it with
# "host" under tools/wasio-run --host tlshost).
$(W)/bench-hosttls/tls_%.wasm: bench/tls_%.c $(W)/libwasio-hosttls.a $(W)/$(TLSLIB) $(CRT) tools/wasio-cc $(wildcard include/*.h include/wasio/*.h)
	@mkdir -p $(dir $@)
	tools/wasio-cc --host-tls -o $@ -Wall -Wextra -Werror $<
TLS_BENCH := $(R)/bench/tls_client $(W)/bench/tls_client.wasm $(W)/bench-hosttls/tls_client.wasm
.PHONY: bench-tls
bench-tls: $(TLS_BENCH)
	@python3 bench/run_tls.py

# ---- a newcomer's first run, from nothing -------------------------------------
# `make check-fresh` clones HEAD into a temporary directory and runs the
# README's first command there with an empty tool directory (WASIO_TOOLS),
# as on a machine that never ran setup: every pinned tool is installed or
# built again (it passed in 863 s on 2 cores with other builds running,
# README says; mostly wit-bindgen and the wasi:tls test host). Not part of
# `make test`; run it after changing tools/setup.sh, tools/versions.env or
# the Makefile's setup rules. The fast static form of the same check runs
# in `make test` (tests/tools/setup_order.py, tools/check-setup-order).
.PHONY: check-fresh
check-fresh:
	@d=$$(mktemp -d /tmp/wasio-fresh.XXXXXX) && echo "check-fresh: $$d (clone) and $$d/tools (WASIO_TOOLS)" && \
	  git clone -q . $$d/wasio && t0=$$(date +%s) && \
	  if WASIO_TOOLS=$$d/tools $(MAKE) -C $$d/wasio --no-print-directory demo > $$d/demo.log 2>&1; then \
	    echo "check-fresh: make demo from an empty WASIO_TOOLS passed in $$(( $$(date +%s) - t0 )) s"; rm -rf $$d; \
	  else tail -40 $$d/demo.log; echo "check-fresh: FAILED after $$(( $$(date +%s) - t0 )) s (log $$d/demo.log)"; exit 1; fi

clean:
	rm -rf $(B)

# ---- libcurl, the curl tool and the curl bridge (issue 13) ------------------------------
include src/bridge/curl.mk

# ---- hiredis and the hiredis bridge (issue 13) ---------------------------------------------
include src/bridge/hiredis.mk
