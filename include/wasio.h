/* wasio.h: everything public. See docs/ARCHITECTURE.md for the layers.
 *
 * Conventions for every function:
 * - Returns 0 (or a non-negative value) on success, a negative WASIO_E*
 *   code (wasio/error.h) on failure.
 * - A function that takes a callback and fails never calls it; one that
 *   succeeds calls it exactly once, and never from inside the call itself:
 *   callbacks run from the loop (wasio_loop_run), so no caller is ever
 *   re-entered by the function it called.
 * - Closing a handle cancels what it still owes (a connect, queued writes
 *   or sends, a shutdown): those callbacks run with WASIO_ECANCELED (or
 *   their real status when already done) in phase 4 of the turn, each
 *   once, before the handle's close callback; the same for TCP, UDP and
 *   TLS streams.
 * - Pointers are non-NULL unless the doc says "may be NULL".
 * - Handles are created by wasio_*_new() and stay valid until their close
 *   callback has returned; the library frees them then.
 */
#ifndef WASIO_H
#define WASIO_H

#define WASIO_VERSION_MAJOR 0
#define WASIO_VERSION_MINOR 1
#define WASIO_VERSION_PATCH 0
#define WASIO_VERSION_STRING "0.1.0"

#include "wasio/error.h"
#include "wasio/addr.h"
#include "wasio/loop.h"
#include "wasio/tcp.h"
#include "wasio/udp.h"
#include "wasio/dns.h"
#include "wasio/poll.h"
#include "wasio/http_codec.h"
#include "wasio/http.h"
#include "wasio/tls.h"

#endif
