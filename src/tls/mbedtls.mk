# src/tls/mbedtls.mk: builds one libmbedtls.a (crypto, X.509 and TLS
# together) from Debian's mbedtls source package, which tools/setup.sh
# unpacks into $(MBEDTLS_DIR), with wasio's configuration header
# (src/tls/wasio_mbedtls_config.h). The main Makefile runs this as a sub-make
# once setup has run, because the list of sources only exists after that (a
# wildcard in the main Makefile would be expanded before setup, empty on a
# fresh machine).
#
#   make -f src/tls/mbedtls.mk MBEDTLS_DIR=... OUT=build/wasm32 CC=... CFLAGS=... AR=...
#
# Output: $(OUT)/libmbedtls.a, objects in $(OUT)/mbedtls/. mbedTLS's code is
# compiled as Debian ships it: no patch; the configuration header and the
# compiler flags are the only inputs of ours. Every library/*.c is compiled:
# what the configuration leaves out compiles to (almost) nothing.
CONFIG := src/tls/wasio_mbedtls_config.h
MBEDTLS_SRC := $(sort $(wildcard $(MBEDTLS_DIR)/library/*.c))
ifeq ($(MBEDTLS_SRC),)
$(error no mbedTLS sources in $(MBEDTLS_DIR)/library: run tools/setup.sh)
endif
MBEDTLS_OBJ := $(patsubst $(MBEDTLS_DIR)/library/%.c,$(OUT)/mbedtls/%.o,$(MBEDTLS_SRC))
# The platform functions the configuration asks for (getentropy, the wall
# clock) travel in the same archive: every program that links mbedTLS
# (wasio's TLS, libcurl) gets them, once.
# So does the signature-algorithm order for libcurl's links
# (src/tls/mbedtls/sig_algs_wrap.c: only linked where --wrap asks for it).
HOOKS := src/tls/mbedtls/platform_hooks.c src/tls/mbedtls/sig_algs_wrap.c
MBEDTLS_OBJ += $(OUT)/mbedtls/wasio_platform_hooks.o $(OUT)/mbedtls/wasio_sig_algs_wrap.o
# The compiler command is recorded; a change (new flags, another mbedTLS
# version) rebuilds every object, as does a change of the configuration.
FLAGS_FILE := $(OUT)/mbedtls/.cflags
FLAGS_NOW := $(CC) $(CFLAGS) $(MBEDTLS_DIR)
$(shell mkdir -p $(OUT)/mbedtls && (echo '$(FLAGS_NOW)' | cmp -s - $(FLAGS_FILE) || echo '$(FLAGS_NOW)' > $(FLAGS_FILE)))

$(OUT)/libmbedtls.a: $(MBEDTLS_OBJ)
	@rm -f $@
	@$(AR) rcs $@ $^
	@printf 'mbedtls: %s (%s objects, %s bytes)\n' $@ $(words $^) $$(stat -c %s $@)

$(OUT)/mbedtls/%.o: $(MBEDTLS_DIR)/library/%.c $(FLAGS_FILE) $(CONFIG)
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -DMBEDTLS_CONFIG_FILE='"wasio_mbedtls_config.h"' -I$(dir $(CONFIG)) \
	  -I$(MBEDTLS_DIR)/include -I$(MBEDTLS_DIR)/library -c $< -o $@

$(OUT)/mbedtls/wasio_%.o: src/tls/mbedtls/%.c $(FLAGS_FILE) $(CONFIG)
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -DMBEDTLS_CONFIG_FILE='"wasio_mbedtls_config.h"' -I$(dir $(CONFIG)) \
	  -I$(MBEDTLS_DIR)/include -I$(MBEDTLS_DIR)/library -c $< -o $@
