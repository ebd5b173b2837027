/* src/backend/wasip3/http_incoming.c: the wasi:http/handler@0.3.0 export
 * of the wasip3 backend's wasi:http variant (-DWASIO_WASI_HTTP,
 * libwasio-p3-http.a, wit/wasio-p3-http.wit), and the incoming request's
 * calls of src/core/http_serve.h (wasio__bk_http_serve_bind, _incoming_*).
 *
 * Implementation notes
 * - The export is async and lifted with a callback: each request is a
 *   task of its own, which returns WAIT (on a waitable set) instead of
 *   blocking, so the host runs several requests of one instance at once
 *   (wasmtime serve: up to 16 by default) and the instance is locked only
 *   while one of their callbacks runs. Its state (wasio__h3_task_t) is
 *   the task's context slot 0; the task calls `task.return` itself, once,
 *   with the response (or the failure), and exits when its exchange is
 *   over: the host reads the body only after `task.return`, and gets no
 *   more bytes once no task of the instance waits.
 * - One loop serves them all, and one task at a time drives it: the
 *   driver waits on the loop's waitable set and, in its callbacks, hands
 *   the event to the reactor and runs the loop's turns (never blocking:
 *   the loop yields instead of waiting, and the clock's subtask is armed
 *   for the deadline it would have waited for). The other tasks sleep on
 *   a set of their own holding one end of a wake pipe (a stream<u8>
 *   within this instance, which the component model allows for numeric
 *   payloads): the driver writes a byte to wake a sleeper whose response
 *   is ready (it calls `task.return`) or whose exchange is over (it
 *   exits). Only the driver touches the loop's set (wasmtime wakes one of
 *   several waiters on a set, which one unspecified; a task that took an
 *   event from a set another task was woken for would lose it).
 * - A request that arrives while another task drives is begun at once
 *   (the exchange is queued on the loop as deferred work) and the driver
 *   is kicked: a byte on the kick pipe, whose readable end is a waiter in
 *   the loop's set. When the driver's exchange is over it hands the role
 *   to another live task (woken through its pipe) before it exits; with
 *   none left the loop rests until the next request, as between the
 *   requests of a wasi:http 0.2 instance.
 * - The program entry: the first request of an instance runs main through
 *   the crt's wasio__program_main_once (constructors, then main, no exit()
 *   after it); a server main binds (wasio_http_server_listen,
 *   src/http/server_host.c), which serves this request and every later
 *   one through the bound begin/step functions.
 * - With nothing bound the request is answered by the task alone (no loop
 *   may exist): 500 and a text body that says why, written on the task's
 *   own set, then trailers none.
 * - Backpressure: at WASIO_HTTP_HOST_MAX_CONCURRENT tasks alive the
 *   instance asks the host for no new request (backpressure.inc) until
 *   one ends.
 * - Task state is pooled: a task's set and wake pipe are kept for the
 *   next one, so a request costs no allocation or set of its own once the
 *   instance has served as many at once before.
 */
#ifdef WASIO_WASI_HTTP
#include <string.h>

#include "wasip3.h"
#include "core/http_serve.h"
#include "../wasi/http_common.h"

/* crt/start.c (src/backend/wasi/crt_main.h; in crt1-wasio-p3.o). */
int wasio__program_main_once(int *status);

/* Loop turns a driver's callback runs at most before it hands the host
 * control (YIELD) even though work is left: the host's own tasks (the
 * body pipes) progress only while the guest is suspended. */
#define WASIO__H3_TURNS_PER_CALLBACK 64
/* The longest text of the export's own 500. */
#define WASIO__H3_TEXT_CAP 256

struct wasio__bk_http_incoming {
  wasi_http_types_own_request_t req;   /* __handle 0 once consumed or dropped */
  wasi_http_types_own_response_t resp; /* set by respond, until task.return */
  int fail;                            /* set by fail: task.return(err) */
  bool answered;                       /* respond or fail set the answer */
};

typedef struct wasio__h3_task wasio__h3_task_t;

/* The states of the export's own text answer (wasio__h3_task_t.text_state). */
enum { TEXT_NONE = 0, TEXT_BODY, TEXT_TRAILERS };

struct wasio__h3_task {
  wasio__h3_task_t *next;  /* the live list or the pool */
  wasio__bk_http_incoming_t in;
  void *token;             /* the server's exchange (begin), NULL once over */
  uint32_t set;            /* the task's own set, with wake_rx in it */
  uint32_t wake_rx, wake_tx;
  uint8_t wake_byte;
  bool woken;              /* a byte was written and not yet seen */
  bool returned;           /* task.return done */
  bool over;               /* the exchange is over (or none was made) */
  bool driver;             /* it drives the loop (waits on its set) */
  bool served;             /* on the live list (a bound server has it) */
  /* The export's own text answer. */
  uint8_t text_state;
  uint32_t text_tx, text_tr; /* the body's writable end, the trailers' */
  size_t text_len, text_off;
  char text[WASIO__H3_TEXT_CAP];
};

/* What is bound to the export (one server per instance), and the tasks. */
static struct {
  const wasio__http_serve_ops_t *ops; /* NULL: nothing bound */
  void *arg;
  bool (*step)(void *token, bool alive); /* kept after unbind, for the exchanges under way */
  wasio_loop_t *loop;
  bool ever_bound;
  wasio__h3_task_t *live;  /* tasks of the bound server */
  wasio__h3_task_t *pool;  /* ended tasks, their set and pipe kept */
  wasio__h3_task_t *driver;
  unsigned tasks;          /* alive, text answers included */
  bool pressure;           /* backpressure.inc in force */
  /* The kick pipe: its readable end waits in the loop's set. */
  wasio__w3_t kick;
  uint32_t kick_tx;
  uint8_t kick_byte;
  bool kick_sent;
} g;

/* ---- binding and the kick ------------------------------------------------------------ */

/* (Re)starts the kick pipe's one-byte read. */
static void wasio__h3_kick_arm(void) {
  uint32_t st = wasi_http_types_stream_u8_read(g.kick.handle, &g.kick_byte, 1);
  if (wasio__w3_blocked(st)) wasio__w3_block(g.loop, &g.kick);
  /* A byte already there: read; the kick that wrote it is served by the
   * run the driver is in. */
  else g.kick_sent = false;
}

/* The kick's byte came (its event, handed to the dispatch or seen by the
 * driver's callback): the next kick may be sent, and is read. */
static void wasio__h3_kick_seen(void) {
  wasio__w3_idle(g.loop, &g.kick);
  wasio__w3_consume(&g.kick);
  g.kick_sent = false;
  wasio__h3_kick_arm();
}

void wasio__http_kick_ready(wasio__w3_t *w) {
  (void)w;
  wasio__h3_kick_seen();
}

static void wasio__h3_kick_end(void) {
  if (g.kick.handle == 0) return;
  uint32_t rx = g.kick.handle;
  wasio__w3_end(g.loop, &g.kick, wasi_http_types_stream_u8_cancel_read);
  wasi_http_types_stream_u8_drop_readable(rx);
  wasi_http_types_stream_u8_drop_writable(g.kick_tx);
  g.kick_tx = 0;
}

int wasio__bk_http_serve_bind(const wasio__http_serve_ops_t *ops, void *arg, wasio_loop_t *loop) {
  if (g.ops != NULL) return WASIO_EBUSY;
  if (ops->begin == NULL || ops->step == NULL || loop == NULL) return WASIO_EINVAL;
  /* Exchanges of a server bound before still run on its loop: one loop is
   * driven at a time. */
  if (g.live != NULL && loop != g.loop) return WASIO_EBUSY;
  wasio__w3_init(&g.kick, WASIO__W3_HTTP_KICK);
  uint32_t rx = wasi_http_types_stream_u8_new(&g.kick_tx);
  g.loop = loop;
  if (wasio__w3_track(loop, &g.kick, rx) != 0) {
    wasi_http_types_stream_u8_drop_readable(rx);
    wasi_http_types_stream_u8_drop_writable(g.kick_tx);
    g.kick_tx = 0;
    return WASIO_ENOMEM;
  }
  g.kick_sent = false;
  wasio__h3_kick_arm();
  g.ops = ops;
  g.arg = arg;
  g.step = ops->step;
  g.ever_bound = true;
  return 0;
}

void wasio__bk_http_serve_unbind(void *arg) {
  if (g.ops == NULL || g.arg != arg) return;
  /* Exchanges under way go on (their tasks step them); new requests get
   * the export's 500. */
  wasio__h3_kick_end();
  g.ops = NULL;
  g.arg = NULL;
}

/* Makes sure the driver runs soon: a byte on the kick pipe. */
static void wasio__h3_kick(void) {
  if (g.kick.handle == 0 || g.kick_sent) return;
  static const uint8_t one = 1;
  uint32_t st = wasi_http_types_stream_u8_write(g.kick_tx, &one, 1);
  if (wasio__w3_blocked(st)) {
    /* No read waits (not reached: it is re-armed whenever it completes);
     * the driver still runs at its next event. */
    (void)wasi_http_types_stream_u8_cancel_write(g.kick_tx);
    return;
  }
  g.kick_sent = true;
}

/* ---- tasks -------------------------------------------------------------------------- */

static void wasio__h3_wake_arm(wasio__h3_task_t *t) {
  /* Not blocked: a byte was left from a wake never seen; the task is
   * running now anyway. */
  (void)wasi_http_types_stream_u8_read(t->wake_rx, &t->wake_byte, 1);
}

/* A task's state, from the pool or new (with its set and pipe). */
static wasio__h3_task_t *wasio__h3_task_get(void) {
  wasio__h3_task_t *t = g.pool;
  if (t != NULL) {
    g.pool = t->next;
  } else {
    t = wasio__calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->set = imports_waitable_set_new();
    t->wake_rx = wasi_http_types_stream_u8_new(&t->wake_tx);
    imports_waitable_join(t->wake_rx, t->set);
    wasio__h3_wake_arm(t);
  }
  t->next = NULL;
  memset(&t->in, 0, sizeof t->in);
  t->token = NULL;
  /* t->woken stays: a byte its last owner never saw still comes, and
   * another write would find no read armed. */
  t->returned = t->over = t->driver = t->served = false;
  t->text_state = TEXT_NONE;
  t->text_tx = t->text_tr = 0;
  t->text_len = t->text_off = 0;
  if (++g.tasks >= WASIO_HTTP_HOST_MAX_CONCURRENT && !g.pressure) {
    g.pressure = true;
    imports_backpressure_inc();
  }
  return t;
}

static void wasio__h3_task_put(wasio__h3_task_t *t) {
  t->next = g.pool;
  g.pool = t;
  if (--g.tasks < WASIO_HTTP_HOST_MAX_CONCURRENT && g.pressure) {
    g.pressure = false;
    imports_backpressure_dec();
  }
}

/* Wakes a sleeping task (a byte through its pipe). */
static void wasio__h3_wake(wasio__h3_task_t *t) {
  if (t->woken) return;
  static const uint8_t one = 1;
  uint32_t st = wasi_http_types_stream_u8_write(t->wake_tx, &one, 1);
  if (wasio__w3_blocked(st)) {
    /* Its read is always armed while it sleeps (not reached). */
    (void)wasi_http_types_stream_u8_cancel_write(t->wake_tx);
    return;
  }
  t->woken = true;
}

static void wasio__h3_unlist(wasio__h3_task_t *t) {
  wasio__h3_task_t **pp = &g.live;
  while (*pp != NULL && *pp != t) pp = &(*pp)->next;
  if (*pp == t) *pp = t->next;
  t->next = NULL;
  t->served = false;
}

/* task.return with the answer: the response, or the failure (one that
 * was never set: the exchange ended without an answer, e.g. the client
 * left before the head). */
static void wasio__h3_return(wasio__h3_task_t *t) {
  exports_wasi_http_handler_result_own_response_error_code_t res;
  memset(&res, 0, sizeof res);
  if (t->in.resp.__handle != 0) {
    res.val.ok = t->in.resp;
    t->in.resp.__handle = 0;
  } else {
    res.is_err = true;
    wasio__http_fail_code(t->in.fail != 0 ? t->in.fail : WASIO_ECANCELED, &res.val.err);
  }
  t->returned = true;
  exports_wasi_http_handler_handle_return(res);
}

/* ---- the driver ----------------------------------------------------------------------- */

/* Whether the loop has work to do at once (a waiter ready, deferred or
 * closing work). */
static bool wasio__h3_immediate(wasio_loop_t *loop) {
  return loop->backend.ready.next != &loop->backend.ready || loop->defer_head != NULL ||
         loop->closing_head != NULL;
}

/* Asks every exchange whether it is over (one that cannot end, alive
 * false, is answered for); drops a response made after the host canceled
 * its task (nobody reads it: its writes then fail and the exchange ends). */
static void wasio__h3_step_all(bool alive) {
  for (wasio__h3_task_t *t = g.live; t != NULL; t = t->next) {
    if (t->returned && t->in.resp.__handle != 0) {
      wasi_http_types_response_drop_own(t->in.resp);
      t->in.resp.__handle = 0;
    }
    if (t->token != NULL && g.step(t->token, alive)) {
      t->token = NULL;
      t->over = true;
    }
  }
}

/* Runs the loop until it would wait, stepping every exchange, and wakes
 * the sleepers with something to do. Returns whether work is left (the
 * turn budget ran out). */
static bool wasio__h3_drive(wasio__h3_task_t *self) {
  wasio_loop_t *loop = g.loop;
  bool left = true;
  for (int i = 0; i < WASIO__H3_TURNS_PER_CALLBACK; i++) {
    /* The export must not block: a turn that would wait yields. Set
     * before every turn: a server shut down in the last one unbound
     * itself, which turns yielding off. */
    wasio__loop_set_yield(loop, true);
    int r = wasio_loop_run(loop, WASIO_RUN_ONCE);
    bool alive = wasio__loop_alive(loop);
    /* (A loop with nothing alive runs no turn: what is ready waits.) */
    if (r > 0 || (alive && wasio__h3_immediate(loop))) continue;
    wasio__h3_step_all(alive);
    if (!wasio__loop_alive(loop) || !wasio__h3_immediate(loop)) {
      left = false;
      break;
    }
  }
  /* Out of budget with work left: the exchanges that ended meanwhile end
   * their tasks now, not at the next quiet moment. */
  if (left) wasio__h3_step_all(true);
  for (wasio__h3_task_t *t = g.live; t != NULL; t = t->next)
    if (t != self && ((!t->returned && t->in.answered) || t->over)) wasio__h3_wake(t);
  return left;
}

/* ---- the end of a task ----------------------------------------------------------------- */

/* The task's exchange is over and it returned: what it holds goes, the
 * driver's role passes on, its state goes back to the pool. */
static void wasio__h3_task_end(wasio__h3_task_t *t) {
  /* A response made after the host canceled the task goes unsent. */
  if (t->in.resp.__handle != 0) wasi_http_types_response_drop_own(t->in.resp);
  if (t->in.req.__handle != 0) wasi_http_types_request_drop_own(t->in.req);
  t->in.resp.__handle = t->in.req.__handle = 0;
  if (t->served) wasio__h3_unlist(t);
  if (t->driver) {
    t->driver = false;
    g.driver = g.live;
    if (g.driver != NULL) {
      g.driver->driver = true;
      wasio__h3_wake(g.driver);
    }
  }
  wasio__h3_task_put(t);
}

static imports_callback_code_t wasio__h3_turn(wasio__h3_task_t *t) {
  bool left = t->driver ? wasio__h3_drive(t) : false;
  if (!t->returned && (t->in.answered || t->over)) wasio__h3_return(t);
  if (t->over) {
    wasio__h3_task_end(t);
    return IMPORTS_CALLBACK_CODE_EXIT;
  }
  if (!t->driver) return IMPORTS_CALLBACK_CODE_WAIT(t->set);
  if (left) return IMPORTS_CALLBACK_CODE_YIELD;
  /* The deadline the loop would have waited for wakes it; one already
   * past (the clock returned at once: no event will come) runs now. */
  uint64_t due = wasio__loop_yield_deadline(g.loop);
  if (wasio__loop_alive(g.loop) && due != 0 && due != UINT64_MAX) {
    wasio__clock_arm(g.loop, due);
    if (wasio__h3_immediate(g.loop)) return IMPORTS_CALLBACK_CODE_YIELD;
  }
  return IMPORTS_CALLBACK_CODE_WAIT(g.loop->backend.set);
}

/* ---- the export's own answer: 500 and a text ------------------------------------------ */

static const wasi_http_types_result_option_own_trailers_error_code_t wasio__h3_no_trailers;

/* Moves the text answer on (after an event for it, or at its start);
 * what the callback returns. */
static imports_callback_code_t wasio__h3_text_step(wasio__h3_task_t *t, const imports_event_t *ev) {
  if (t->text_state == TEXT_BODY) {
    bool have = ev != NULL && ev->waitable == t->text_tx;
    uint32_t st = have ? ev->code : 0;
    for (;;) {
      if (have) {
        size_t n = wasio__w3_count(st);
        t->text_off += n;
        /* The client left (or, not seen, a write took nothing): no more. */
        if (wasio__w3_dropped(st) || n == 0) t->text_off = t->text_len;
      }
      if (t->text_off >= t->text_len) break;
      st = wasi_http_types_stream_u8_write(t->text_tx, (const uint8_t *)t->text + t->text_off,
                                           t->text_len - t->text_off);
      if (wasio__w3_blocked(st)) {
        imports_waitable_join(t->text_tx, t->set);
        return IMPORTS_CALLBACK_CODE_WAIT(t->set);
      }
      have = true;
    }
    imports_waitable_join(t->text_tx, 0);
    wasi_http_types_stream_u8_drop_writable(t->text_tx);
    t->text_tx = 0;
    t->text_state = TEXT_TRAILERS;
    uint32_t w = wasi_http_types_future_result_option_own_trailers_error_code_write(t->text_tr,
                                                                                     &wasio__h3_no_trailers);
    if (wasio__w3_blocked(w)) {
      imports_waitable_join(t->text_tr, t->set);
      return IMPORTS_CALLBACK_CODE_WAIT(t->set);
    }
  } else if (t->text_state == TEXT_TRAILERS && (ev == NULL || ev->waitable != t->text_tr)) {
    return IMPORTS_CALLBACK_CODE_WAIT(t->set); /* a stale wake */
  }
  /* The trailers were written (or refused: the client left). */
  imports_waitable_join(t->text_tr, 0);
  wasi_http_types_future_result_option_own_trailers_error_code_drop_writable(t->text_tr);
  t->text_tr = 0;
  t->text_state = TEXT_NONE;
  wasio__h3_task_put(t);
  return IMPORTS_CALLBACK_CODE_EXIT;
}

/* Answers the task's request with 500 and `text`, without the loop. */
static imports_callback_code_t wasio__h3_text(wasio__h3_task_t *t, const char *text) {
  static const wasio_http_header_t ct[] = {{{"content-type", 12}, {"text/plain; charset=utf-8", 25}}};
  size_t n = strlen(text);
  if (n >= sizeof t->text) n = sizeof t->text - 1;
  memcpy(t->text, text, n);
  t->text_len = n;
  t->text_off = 0;
  wasio__bk_http_fields_t f;
  if (wasio__bk_http_fields_new(ct, 1, &f) != 0) {
    t->in.fail = WASIO_ENOMEM;
    wasio__h3_return(t);
    wasi_http_types_request_drop_own(t->in.req);
    wasio__h3_task_put(t);
    return IMPORTS_CALLBACK_CODE_EXIT;
  }
  uint32_t rx = wasi_http_types_stream_u8_new(&t->text_tx);
  uint32_t tr = wasi_http_types_future_result_option_own_trailers_error_code_new(&t->text_tr);
  wasi_http_types_tuple2_own_response_future_result_void_error_code_t made;
  wasi_http_types_static_response_new(wasio__bk_http_fields_take(&f), &rx, tr, &made);
  wasi_http_types_future_result_void_error_code_drop_readable(made.f1);
  (void)wasi_http_types_method_response_set_status_code(wasi_http_types_borrow_response(made.f0), 500);
  t->in.resp = made.f0;
  wasio__h3_return(t);
  wasi_http_types_request_drop_own(t->in.req);
  t->in.req.__handle = 0;
  /* The host reads the body once this callback returned. */
  t->text_state = TEXT_BODY;
  return wasio__h3_text_step(t, NULL);
}

/* ---- the export ------------------------------------------------------------------------- */

imports_callback_code_t exports_wasi_http_handler_handle(exports_wasi_http_handler_own_request_t request) {
  int status = 0;
  int ran = wasio__program_main_once(&status);
  wasio__h3_task_t *t = wasio__h3_task_get();
  if (t == NULL) {
    exports_wasi_http_handler_result_own_response_error_code_t res;
    memset(&res, 0, sizeof res);
    res.is_err = true;
    wasio__http_fail_code(WASIO_ENOMEM, &res.val.err);
    wasi_http_types_request_drop_own(request);
    exports_wasi_http_handler_handle_return(res);
    return IMPORTS_CALLBACK_CODE_EXIT;
  }
  imports_context_set_0(t);
  t->in.req = request;
  char text[WASIO__H3_TEXT_CAP];
  if (ran < 0) return wasio__h3_text(t, "wasio: a request arrived while main was still running\n");
  if (g.ops == NULL) return wasio__h3_text(t, wasio__http_unserved(text, sizeof text, status, g.ever_bound));
  t->served = true;
  t->next = g.live;
  g.live = t;
  t->token = g.ops->begin(g.arg, &t->in);
  if (t->token == NULL) t->over = true; /* failed (begin set the failure) */
  if (g.driver == NULL) {
    g.driver = t;
    t->driver = true;
  } else {
    wasio__h3_kick();
  }
  return wasio__h3_turn(t);
}

imports_callback_code_t exports_wasi_http_handler_handle_callback(imports_event_t *ev) {
  wasio__h3_task_t *t = imports_context_get_0();
  if (ev->event == IMPORTS_EVENT_CANCEL) {
    /* The host gave up on the request: the exchange goes on until it ends
     * (its response, when it comes, is dropped unsent). */
    if (!t->returned) {
      t->returned = true;
      imports_task_cancel();
    }
  } else if (ev->event != IMPORTS_EVENT_NONE && ev->waitable == t->wake_rx) {
    t->woken = false;
    wasio__h3_wake_arm(t);
    if (t->text_state != TEXT_NONE) return IMPORTS_CALLBACK_CODE_WAIT(t->set);
  } else if (t->text_state != TEXT_NONE) {
    return wasio__h3_text_step(t, ev);
  } else if (t->driver && ev->event != IMPORTS_EVENT_NONE) {
    /* The kick is re-armed at once (a loop with nothing alive dispatches
     * nothing, and a kick left unread would stop the next one). */
    if (g.kick.handle != 0 && ev->waitable == g.kick.handle) {
      wasio__h3_kick_seen();
    } else {
      wasio__event(g.loop, ev);
    }
  }
  return wasio__h3_turn(t);
}

/* ---- the incoming request --------------------------------------------------------------- */

int wasio__bk_http_incoming_head(wasio__bk_http_incoming_t *r, wasio__http_incoming_head_t *head,
                                 wasio__http_fieldbuf_t *fields) {
  if (r->req.__handle == 0) return WASIO_ESTATE;
  return wasio__http_incoming_head_read(wasi_http_types_borrow_request(r->req), head, fields);
}

int wasio__bk_http_incoming_body(wasio__bk_http_incoming_t *r, wasio__bk_http_body_in_t *body) {
  if (r->req.__handle == 0) return WASIO_EIO; /* the body can be had once */
  wasi_http_types_future_result_void_error_code_writer_t res_w;
  wasi_http_types_future_result_void_error_code_t res_r = wasi_http_types_future_result_void_error_code_new(&res_w);
  wasi_http_types_tuple2_stream_u8_future_result_option_own_trailers_error_code_t parts;
  wasi_http_types_static_request_consume_body(r->req, res_r, &parts);
  r->req.__handle = 0;
  wasio__bk_http_body_in_open(body, parts.f0, parts.f1, res_w);
  return 0;
}

int wasio__bk_http_incoming_respond(wasio__bk_http_incoming_t *r, int status, wasio__bk_http_fields_t *headers,
                                    wasio__bk_http_body_out_t *body) {
  if (r->answered) {
    wasio__bk_http_fields_drop(headers);
    return WASIO_ESTATE;
  }
  uint32_t rx = 0, tr = 0;
  int rc = wasio__bk_http_body_out_make(body, &rx, &tr);
  if (rc < 0) {
    wasio__bk_http_fields_drop(headers);
    return rc;
  }
  wasi_http_types_tuple2_own_response_future_result_void_error_code_t made;
  wasi_http_types_static_response_new(wasio__bk_http_fields_take(headers), &rx, tr, &made);
  /* Its verdict is the request's `res` (http_host.c's notes): not awaited. */
  wasi_http_types_future_result_void_error_code_drop_readable(made.f1);
  if (!wasi_http_types_method_response_set_status_code(wasi_http_types_borrow_response(made.f0),
                                                       (wasi_http_types_status_code_t)status)) {
    wasi_http_types_response_drop_own(made.f0); /* the body's readable ends with it */
    wasio__bk_http_body_out_release(body);
    return WASIO_EINVAL;
  }
  r->resp = made.f0;
  r->answered = true;
  return 0;
}

void wasio__bk_http_incoming_fail(wasio__bk_http_incoming_t *r, int err) {
  if (r->answered) return;
  r->fail = err;
  r->answered = true;
}
#endif
