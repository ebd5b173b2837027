/* examples/hello: the smallest wasio program. A loop, one repeating timer
 * that ticks three times 100 ms apart, then the loop runs out of work and
 * returns. Built as a component by `make` (tools/wasio-cc) and run by
 * `make demo` on wasmtime and on jco; the same source builds natively. */
#include <stdio.h>
#include <stdlib.h>

#include "wasio.h"

#define TICKS 3
#define TICK_NS (100 * WASIO_NS_PER_MS)

static int ticks;

static void on_tick(wasio_timer_t *timer) {
  uint64_t started = *(uint64_t *)wasio_timer_data(timer);
  uint64_t now = wasio_loop_now(wasio_timer_loop(timer));
  printf("tick %d at +%llu ms\n", ++ticks, (unsigned long long)((now - started) / WASIO_NS_PER_MS));
  if (ticks == TICKS) wasio_timer_close(timer, NULL);
}

int main(void) {
  wasio_loop_t *loop;
  wasio_timer_t *timer;
  int rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_timer_new(loop, &timer);
  if (rc != 0) {
    fprintf(stderr, "hello: %s\n", wasio_strerror(rc));
    return 1;
  }
  uint64_t started = wasio_loop_now(loop);
  wasio_timer_set_data(timer, &started);
  wasio_timer_start(timer, on_tick, TICK_NS, TICK_NS);
  printf("hello from wasio %s\n", WASIO_VERSION_STRING);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0 || wasio_loop_close(loop) != 0) {
    fprintf(stderr, "hello: loop did not finish cleanly\n");
    return 1;
  }
  return 0;
}
