/* src/backend/wasi/abi.h: canonical ABI results into caller memory, for
 * both WASI backends (abi.c). Between arena_set and arena_clear, the host's
 * cabi_realloc calls are served from [base, base + cap) (bump allocation).
 * A result that does not fit falls back to the counted heap;
 * wasio__abi_free releases such a result and ignores arena memory, so
 * every reader pairs a result with it. */
#ifndef WASIO_BACKEND_WASI_ABI_H
#define WASIO_BACKEND_WASI_ABI_H

#include <stddef.h>

void wasio__arena_set(void *base, size_t cap);
/* As arena_set, but results aligned wider than a byte (records, u32
 * lists) go to [words, words + words_cap) and byte lists to [bytes, ...). */
void wasio__arena_set_split(void *bytes, size_t bytes_cap, void *words, size_t words_cap);
void wasio__arena_clear(void);
void wasio__abi_free(void *ptr, size_t size);

#endif
