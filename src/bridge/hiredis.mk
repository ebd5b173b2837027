# src/bridge/hiredis.mk: hiredis from Debian's source package (HIREDIS_VERSION,
# unpacked by tools/setup.sh into HIREDIS_DIR), built unchanged, and wasio's
# hiredis bridge (src/bridge/hiredis.c, wasio/hiredis.h). Included by the
# Makefile after its own variables. docs/BRIDGES.md says how it is built.
#
# Outputs, per target (wasm32: the wasip2 libc, whose sockets hiredis
# uses; native: ASan+UBSan like the native tests):
#   build/TARGET/libhiredis.a          hiredis's seven sources, as its CMake build lists them
#   build/TARGET/libwasio-hiredis.a    the bridge
#   build/TARGET/include/hiredis/      hiredis's public headers
# `wasio-cc ... -lhiredis` links the wasm32 pair.
#
# The one workaround, for wasm32: WASI has no Unix-domain sockets, and the
# pinned wasi-libc declares struct sockaddr_un without sun_path, which
# hiredis's Unix-socket connect fills. tools/hiredis/include (first on the
# include path of the wasm32 build only) declares the POSIX struct
# instead; hiredis's files stay as Debian ships them, and a Unix-socket
# connect fails at run time (the libc refuses AF_UNIX sockets).

HIREDIS_DIR := $(WASIO_TOOLS)/hiredis-$(HIREDIS_VERSION)
HIREDIS_SRC := alloc async hiredis net read sds sockcompat
HIREDIS_HDRS := hiredis.h async.h read.h sds.h alloc.h
HIREDIS_WASM_CC := $(CLANG) $(WASM_TARGET) -O2 -g0
HIREDIS_WASM_CFLAGS := -Itools/hiredis/include
HIREDIS_NATIVE_CC := $(CLANG) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
HIREDIS_DEPS := $(SETUP_STAMP) src/bridge/hiredis.mk tools/hiredis/include/sys/un.h
BRIDGE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Werror -Iinclude

$(W)/hiredis/%.o: $(HIREDIS_DEPS)
	@mkdir -p $(dir $@)
	$(HIREDIS_WASM_CC) $(HIREDIS_WASM_CFLAGS) -c $(HIREDIS_DIR)/$*.c -o $@
$(N)/hiredis/%.o: $(HIREDIS_DEPS)
	@mkdir -p $(dir $@)
	$(HIREDIS_NATIVE_CC) -c $(HIREDIS_DIR)/$*.c -o $@

# The headers beside each library (<hiredis/async.h>).
$(W)/include/hiredis/.ok $(N)/include/hiredis/.ok: $(HIREDIS_DEPS)
	@mkdir -p $(dir $@)
	@for h in $(HIREDIS_HDRS); do cp $(HIREDIS_DIR)/$$h $(dir $@); done
	@touch $@

$(W)/libhiredis.a: $(foreach s,$(HIREDIS_SRC),$(W)/hiredis/$(s).o) $(W)/include/hiredis/.ok
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)
$(N)/libhiredis.a: $(foreach s,$(HIREDIS_SRC),$(N)/hiredis/$(s).o) $(N)/include/hiredis/.ok
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# The bridge: only wasio's public headers and hiredis's.
$(W)/obj/src/bridge/hiredis.o: src/bridge/hiredis.c include/wasio/hiredis.h $(HDRS) $(W)/include/hiredis/.ok
	@mkdir -p $(dir $@)
	$(HIREDIS_WASM_CC) $(BRIDGE_CFLAGS) -I$(W)/include -c $< -o $@
$(N)/obj/src/bridge/hiredis.o: src/bridge/hiredis.c include/wasio/hiredis.h $(HDRS) $(N)/include/hiredis/.ok
	@mkdir -p $(dir $@)
	$(CLANG) $(NATIVE_CFLAGS) -I$(N)/include -c $< -o $@
$(W)/libwasio-hiredis.a: $(W)/obj/src/bridge/hiredis.o
	@rm -f $@
	$(AR) rcs $@ $^
$(N)/libwasio-hiredis.a: $(N)/obj/src/bridge/hiredis.o
	@rm -f $@
	$(AR) rcs $@ $^

HIREDIS_LIBS := $(W)/libhiredis.a $(W)/libwasio-hiredis.a $(N)/libhiredis.a $(N)/libwasio-hiredis.a
.PHONY: hiredis
hiredis: $(HIREDIS_LIBS)
all: hiredis

# The component tests that link it (`wasio-test: cc -lhiredis`).
HIREDIS_CTESTS := $(basename $(notdir $(shell grep -l 'wasio-test: cc.*-lhiredis' tests/component/*.c)))
$(foreach t,$(HIREDIS_CTESTS),$(W)/tests/$(t).wasm): $(W)/libhiredis.a $(W)/libwasio-hiredis.a
$(foreach t,$(HIREDIS_CTESTS),$(N)/tests/$(t)): $(N)/libhiredis.a $(N)/libwasio-hiredis.a
