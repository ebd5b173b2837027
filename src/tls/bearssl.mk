# src/tls/bearssl.mk: builds one libbearssl.a from Debian's bearssl source
# package, which tools/setup.sh unpacks into $(BEARSSL_DIR). The main
# Makefile runs this as a sub-make once setup has run, because the list of
# BearSSL sources only exists after that (a wildcard in the main Makefile
# would be expanded before setup, empty on a fresh machine).
#
#   make -f src/tls/bearssl.mk BEARSSL_DIR=... OUT=build/wasm32 CC=... CFLAGS=... AR=...
#
# Output: $(OUT)/libbearssl.a, objects in $(OUT)/bearssl/. BearSSL's own
# code is compiled as is: no patch, only the compiler flags differ.
BEARSSL_SRC := $(sort $(shell find $(BEARSSL_DIR)/src -name '*.c'))
ifeq ($(BEARSSL_SRC),)
$(error no BearSSL sources in $(BEARSSL_DIR)/src: run tools/setup.sh)
endif
BEARSSL_OBJ := $(patsubst $(BEARSSL_DIR)/src/%.c,$(OUT)/bearssl/%.o,$(BEARSSL_SRC))
# The compiler command is recorded; a change (new flags, another BearSSL
# version) rebuilds every object.
FLAGS_FILE := $(OUT)/bearssl/.cflags
FLAGS_NOW := $(CC) $(CFLAGS) $(BEARSSL_DIR)
$(shell mkdir -p $(OUT)/bearssl && (echo '$(FLAGS_NOW)' | cmp -s - $(FLAGS_FILE) || echo '$(FLAGS_NOW)' > $(FLAGS_FILE)))

$(OUT)/libbearssl.a: $(BEARSSL_OBJ)
	@rm -f $@
	@$(AR) rcs $@ $^
	@printf 'bearssl: %s (%s objects, %s bytes)\n' $@ $(words $^) $$(stat -c %s $@)

$(OUT)/bearssl/%.o: $(BEARSSL_DIR)/src/%.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -I$(BEARSSL_DIR)/src -I$(BEARSSL_DIR)/inc -c $< -o $@
