/* src/backend/posix/dns.c: the posix backend's lookups (internal.h's
 * wasio__bk_dns_*): getaddrinfo(3) on worker threads, so a slow resolver
 * never blocks the loop. The request itself is src/core/dns.c's.
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

/* Detaches the request from its thread's job (cancel or timeout). */
void wasio__bk_dns_stop(wasio_dns_t *dns) {
  wasio__posix_job_t *job = dns->b.job;
  if (job == NULL) return;
  pthread_mutex_lock(&wasio__dns_mutex);
  job->dns = NULL;
  pthread_mutex_unlock(&wasio__dns_mutex);
  dns->b.job = NULL;
}

void wasio__bk_dns_init(wasio_dns_t *dns) {
  dns->b.job = NULL;
  dns->b.done_next = NULL;
}

int wasio__bk_dns_start(wasio_dns_t *dns, const char *name, size_t len) {
  wasio__posix_job_t *job = wasio__malloc(sizeof *job);
  if (job == NULL) return WASIO_ENOMEM;
  memset(job, 0, sizeof *job);
  memcpy(job->name, name, len + 1);
  job->loop = dns->h.loop;
  job->dns = dns;
  pthread_attr_t attr;
  pthread_t thread;
  int rc = pthread_attr_init(&attr);
  if (rc == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, WASIO__DNS_THREAD_STACK);
    /* The thread touches only the job until it takes the mutex, and the
     * loop reads its finished list only in phase 3: setting b.job after the
     * start is race-free. */
    rc = pthread_create(&thread, &attr, wasio__dns_thread, job);
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) {
    wasio__free(job);
    return WASIO_ENOMEM;
  }
  dns->b.job = job;
  return 0;
}

void wasio__posix_dns_collect(wasio_loop_t *loop) {
  uint64_t count;
  ssize_t r = read(loop->backend.wakefd, &count, sizeof count);
  (void)r; /* EAGAIN: another wake-up already drained it */
  pthread_mutex_lock(&wasio__dns_mutex);
  wasio__posix_job_t *job = loop->backend.dns_done;
  loop->backend.dns_done = NULL;
  /* Copy the results while holding the mutex (the job's `dns` field is only
   * stable under it); the callbacks run after it is released. */
  wasio_dns_t *done = NULL, **tail = &done;
  for (wasio__posix_job_t *j = job; j != NULL; j = j->next) {
    wasio_dns_t *dns = j->dns;
    if (dns == NULL) continue;
    dns->b.job = NULL;
    dns->count = j->count;
    memcpy(dns->addrs, j->addrs, j->count * sizeof j->addrs[0]);
    dns->b.status = j->status;
    dns->b.done_next = NULL;
    *tail = dns;
    tail = &dns->b.done_next;
  }
  pthread_mutex_unlock(&wasio__dns_mutex);
  while (job != NULL) {
    wasio__posix_job_t *next = job->next;
    wasio__free(job);
    job = next;
  }
  while (done != NULL) {
    wasio_dns_t *next = done->b.done_next;
    /* A callback before may have canceled this one: done ignores it then. */
    wasio__dns_done(done, done->b.status);
    done = next;
  }
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
