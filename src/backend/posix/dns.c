/* src/backend/posix/dns.c: wasio/dns.h with getaddrinfo(3) on worker
 * threads, so a slow resolver never blocks the loop.
 *
 * Implementation notes
 * - Each lookup gets a job and a detached thread. The job, not the request
 *   handle, is what the thread touches, so a request can be canceled or time
 *   out (and be freed) while its thread is still inside getaddrinfo.
 * - Ownership of a job: the thread owns it while resolving. When done it
 *   takes the process-wide mutex and either hands it to the loop (the job's
 *   `dns` is still set: pushed on the loop's finished list, eventfd
 *   written) or, if the request was abandoned meanwhile (`dns` cleared by
 *   cancel or timeout under the same mutex), frees it. The mutex is static,
 *   not in the loop, because an abandoned job may finish after its loop was
 *   closed; such a job then touches nothing but itself.
 * - The loop thread allocates every job (counted allocations stay on one
 *   thread); workers only free abandoned ones.
 * - Numeric names are answered from the pending list in phase 3 without a
 *   thread: never from inside wasio_dns_resolve.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

/* Stack of a lookup thread: glibc's 8 MiB default reserves far more address
 * space than a burst of lookups needs, while NSS modules (and ASan) need
 * more than the bare minimum; 1 MiB leaves a wide margin. */
#define WASIO__DNS_THREAD_STACK (1024 * 1024)

typedef struct wasio__posix_job {
  struct wasio__posix_job *next;  /* loop's finished list */
  wasio_loop_t *loop;
  wasio_dns_t *dns;               /* NULL once abandoned */
  int status;
  size_t count;
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
  char name[WASIO_DNS_MAX_NAME + 1];
} wasio__posix_job_t;

static pthread_mutex_t wasio__dns_mutex = PTHREAD_MUTEX_INITIALIZER;

/* getaddrinfo's EAI_* codes to WASIO_E*. */
static int wasio__dns_err(int eai, int errnum) {
  switch (eai) {
    case 0: return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
      return WASIO_ENAMENOTFOUND;
    case EAI_AGAIN: return WASIO_EDNSTEMP;
    case EAI_MEMORY: return WASIO_ENOMEM;
    case EAI_SYSTEM: return wasio__posix_err(errnum);
    default: return WASIO_EDNSFAIL;
  }
}

static void *wasio__dns_thread(void *arg) {
  wasio__posix_job_t *job = arg;
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  /* One socket type, so each address comes back once, not once per type. */
  hints.ai_socktype = SOCK_STREAM;
  /* No AI_ADDRCONFIG: on a host whose only interface is loopback (a
   * sandbox, a CI container) it hides every address, "localhost" included.
   * An address of a family the host cannot reach simply fails to connect,
   * and wasio_tcp_connect_host goes on to the next one. */
  hints.ai_flags = 0;
  int eai = getaddrinfo(job->name, NULL, &hints, &res);
  job->status = wasio__dns_err(eai, errno);
  job->count = 0;
  if (eai == 0) {
    for (struct addrinfo *ai = res; ai != NULL && job->count < WASIO_DNS_MAX_ADDRS; ai = ai->ai_next)
      if (wasio__posix_from_sockaddr(ai->ai_addr, &job->addrs[job->count]) == 0) {
        job->addrs[job->count].port = 0;
        job->count++;
      }
    freeaddrinfo(res);
    if (job->count == 0) job->status = WASIO_ENAMENOTFOUND;
  }
  pthread_mutex_lock(&wasio__dns_mutex);
  if (job->dns == NULL) {
    pthread_mutex_unlock(&wasio__dns_mutex);
    wasio__free(job); /* abandoned: nobody else knows it any more */
    return NULL;
  }
  wasio_loop_t *loop = job->loop;
  job->next = loop->backend.dns_done;
  loop->backend.dns_done = job;
  uint64_t one = 1;
  ssize_t w = write(loop->backend.wakefd, &one, sizeof one);
  (void)w; /* a full eventfd counter still wakes the loop */
  pthread_mutex_unlock(&wasio__dns_mutex);
  return NULL;
}

/* Makes the request's result final and queues its callback for phase 3. */
static void wasio__dns_finish(wasio_dns_t *dns, int status) {
  wasio__backend_dns_t *b = &dns->b;
  b->finished = 1;
  b->status = status;
  wasio__timer_node_disarm(dns->h.loop, &b->timer);
  wasio__posix_pending(dns->h.loop, &b->io);
}

/* Detaches the request from its thread's job (cancel or timeout). */
static void wasio__dns_abandon(wasio_dns_t *dns) {
  wasio__posix_job_t *job = dns->b.job;
  if (job == NULL) return;
  pthread_mutex_lock(&wasio__dns_mutex);
  job->dns = NULL;
  pthread_mutex_unlock(&wasio__dns_mutex);
  dns->b.job = NULL;
}

int wasio_dns_resolve(wasio_loop_t *loop, const char *name, uint64_t timeout_ns,
                      wasio_dns_cb cb, void *data, wasio_dns_t **out) {
  if (loop == NULL || name == NULL || cb == NULL) return WASIO_EINVAL;
  size_t len = strlen(name);
  if (len == 0) return WASIO_EINVAL;
  if (len > WASIO_DNS_MAX_NAME) return WASIO_ENAMETOOLONG;
  wasio_dns_t *dns = wasio__malloc(sizeof *dns);
  if (dns == NULL) return WASIO_ENOMEM;
  memset(dns, 0, sizeof *dns);
  wasio__timer_node_init(&dns->b.timer, WASIO__TIMER_DNS);
  dns->b.cb = cb;

  wasio_addr_t numeric;
  if (wasio_addr_parse(name, 0, &numeric) == 0) {
    dns->b.addrs[0] = numeric;
    dns->b.count = 1;
    wasio__handle_init(loop, &dns->h, WASIO_KIND_DNS);
    wasio__posix_io_init(&dns->b.io, &dns->h);
    dns->h.data = data;
    wasio__handle_set_active(&dns->h, true);
    wasio__dns_finish(dns, 0);
    if (out != NULL) *out = dns;
    return 0;
  }

  wasio__posix_job_t *job = wasio__malloc(sizeof *job);
  if (job == NULL) {
    wasio__free(dns);
    return WASIO_ENOMEM;
  }
  memset(job, 0, sizeof *job);
  memcpy(job->name, name, len + 1);
  job->loop = loop;
  job->dns = dns;
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(loop);
    uint64_t due = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    if (wasio__timer_node_arm(loop, &dns->b.timer, due) != 0) {
      wasio__free(job);
      wasio__free(dns);
      return WASIO_ENOMEM;
    }
  }
  pthread_attr_t attr;
  pthread_t thread;
  int rc = pthread_attr_init(&attr);
  if (rc == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, WASIO__DNS_THREAD_STACK);
    rc = pthread_create(&thread, &attr, wasio__dns_thread, job);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) {
    wasio__timer_node_disarm(loop, &dns->b.timer);
    wasio__free(job);
    wasio__free(dns);
    return WASIO_ENOMEM;
  }
  /* The thread touches only the job until it takes the mutex, and the loop
   * reads its finished list only after this call returns: registering the
   * handle now is race-free. */
  wasio__handle_init(loop, &dns->h, WASIO_KIND_DNS);
  wasio__posix_io_init(&dns->b.io, &dns->h);
  dns->h.data = data;
  dns->b.job = job;
  wasio__handle_set_active(&dns->h, true);
  if (out != NULL) *out = dns;
  return 0;
}

int wasio_dns_cancel(wasio_dns_t *req) {
  /* A result that is known but not yet delivered (a numeric answer, say)
   * can still be canceled: the user has not seen it. */
  if (req == NULL || wasio__handle_closing(&req->h) ||
      (req->b.finished && req->b.status == WASIO_ECANCELED))
    return WASIO_EINVAL;
  wasio__dns_abandon(req);
  wasio__dns_finish(req, WASIO_ECANCELED);
  return 0;
}

void wasio__dns_on_timer(wasio__timer_node_t *node) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(node, wasio_dns_t, b.timer);
  if (dns->b.finished) return;
  wasio__dns_abandon(dns);
  wasio__dns_finish(dns, WASIO_ETIMEDOUT);
}

void wasio__posix_dns_collect(wasio_loop_t *loop) {
  uint64_t count;
  ssize_t r = read(loop->backend.wakefd, &count, sizeof count);
  (void)r; /* EAGAIN: another wake-up already drained it */
  pthread_mutex_lock(&wasio__dns_mutex);
  wasio__posix_job_t *job = loop->backend.dns_done;
  loop->backend.dns_done = NULL;
  /* Copy the results while holding the mutex: a cancel on this thread
   * cannot race, but the job's `dns` field is only stable under it. */
  for (wasio__posix_job_t *j = job; j != NULL; j = j->next) {
    wasio_dns_t *dns = j->dns;
    if (dns == NULL) continue;
    dns->b.job = NULL;
    dns->b.count = j->count;
    memcpy(dns->b.addrs, j->addrs, j->count * sizeof j->addrs[0]);
    wasio__dns_finish(dns, j->status);
  }
  pthread_mutex_unlock(&wasio__dns_mutex);
  while (job != NULL) {
    wasio__posix_job_t *next = job->next;
    wasio__free(job);
    job = next;
  }
  /* The callbacks run from the pending list: in this phase if its snapshot
   * was not taken yet, else in the next turn. */
}

void wasio__posix_dns_io(wasio_dns_t *dns) {
  wasio__backend_dns_t *b = &dns->b;
  if (!b->finished) return;
  wasio__handle_set_active(&dns->h, false);
  /* The callback is the request's last word: it is freed in phase 4. Closing
   * before the call makes a wasio_dns_cancel from inside it an EINVAL
   * rather than a second callback. */
  wasio__handle_close(&dns->h, NULL);
  size_t count = b->status == 0 ? b->count : 0;
  b->cb(dns, b->status, count ? b->addrs : NULL, count);
}

void wasio__posix_dns_loop_free(wasio_loop_t *loop) {
  /* Only abandoned jobs can be left here (a live one keeps its request open
   * and wasio_loop_close refuses); free them. */
  pthread_mutex_lock(&wasio__dns_mutex);
  wasio__posix_job_t *job = loop->backend.dns_done;
  loop->backend.dns_done = NULL;
  pthread_mutex_unlock(&wasio__dns_mutex);
  while (job != NULL) {
    wasio__posix_job_t *next = job->next;
    wasio__free(job);
    job = next;
  }
}

void wasio__dns_free(wasio_dns_t *dns) { wasio__posix_pending_remove(dns->h.loop, &dns->b.io); }

void *wasio_dns_data(const wasio_dns_t *req) { return req->h.data; }
wasio_loop_t *wasio_dns_loop(const wasio_dns_t *req) { return req->h.loop; }
