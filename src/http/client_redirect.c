/* src/http/client_redirect.c: following redirects: whether a final head
 * is one to follow (the method rule is the codec's one,
 * wasio_http_redirect_method), resolving its Location, and starting the
 * next request (credentials stay with their origin). */
#include "client_internal.h"

/* Decides whether the final head `res` is a redirect to follow; if so sets
 * call->next_url. Returns 0, or an error that ends the call. */
int wasio__call_redirect_check(wasio_http_call_t *call, const wasio_http_response_t *res) {
  wasio_http_redirect_t how =
      wasio_http_redirect_method(res->status, (wasio_http_str_t){call->method, strlen(call->method)});
  if (how == WASIO_HTTP_REDIRECT_NONE || call->max_redirects == 0) return 0;
  size_t pos = 0;
  int idx = wasio_http_find_header(res->headers, res->num_headers, "location", &pos);
  if (idx < 0) return 0; /* nothing to follow: the 3xx is the answer */
  /* A streamed body cannot be sent twice: the 3xx is the answer. */
  if (how == WASIO_HTTP_REDIRECT_SAME && call->body_read != NULL) return 0;
  if (call->redirects >= call->max_redirects) return WASIO_ELIMIT;
  /* The bound of wasio_url_resolve(): URL + reference + "/" + NUL. */
  wasio_http_str_t ref = res->headers[idx].value;
  size_t cap = strlen(call->url) + ref.len + 2;
  char *next = wasio__malloc(cap);
  if (next == NULL) return WASIO_ENOMEM;
  if (wasio_url_resolve(call->url, &call->u, ref, next, cap) < 0) {
    wasio__free(next);
    return 0; /* unusable Location: the 3xx is the answer */
  }
  wasio_url_t nu;
  if (wasio_url_parse(next, strlen(next), &nu) != 0) {
    wasio__free(next);
    return 0;
  }
  wasio__free(call->next_url);
  call->next_url = next;
  call->next_status = res->status;
  return 0;
}

/* Starts the request to call->next_url after the redirect's body is gone. */
void wasio__call_follow(wasio_http_call_t *call) {
  char *next = call->next_url;
  call->next_url = NULL;
  wasio_url_t nu;
  (void)wasio_url_parse(next, strlen(next), &nu); /* checked before */
  bool same_origin = nu.https == call->u.https && nu.port == call->u.port && nu.host.len == call->u.host.len &&
                     memcmp(nu.host.ptr, call->u.host.ptr, nu.host.len) == 0;
  if (wasio_http_redirect_method(call->next_status, (wasio_http_str_t){call->method, strlen(call->method)}) ==
      WASIO_HTTP_REDIRECT_GET) {
    call->method = "GET"; /* the caller's copy stays in the call's allocation, unused */
    call->body = NULL;
    call->body_len = 0;
    call->body_read = NULL;
  }
  if (call->url_owned) wasio__free(call->url);
  call->url = next;
  call->url_owned = true;
  call->u = nu;
  call->redirects++;
  call->caller_host = false;
  if (!same_origin) {
    /* Credentials are for the origin they were given for. */
    size_t k = 0;
    for (size_t i = 0; i < call->num_headers; i++) {
      wasio_http_str_t nm = call->headers[i].name;
      bool secret = (nm.len == 13 && strncasecmp(nm.ptr, "authorization", 13) == 0) ||
                    (nm.len == 6 && strncasecmp(nm.ptr, "cookie", 6) == 0) ||
                    (nm.len == 19 && strncasecmp(nm.ptr, "proxy-authorization", 19) == 0);
      if (!secret) call->headers[k++] = call->headers[i];
    }
    call->num_headers = k;
  }
  int rc = wasio__call_build_head(call);
  if (rc == 0 && call->client->host) {
    /* The HOST transport: the next request starts from the deferred
     * request, as a new call's does. */
    wasio__call_set_phase(call, WASIO__CALL_QUEUED);
    wasio__call_schedule(call, WASIO__WORK_DISPATCH);
    return;
  }
  if (rc == 0) rc = wasio__call_enqueue(call, false);
  if (rc != 0) {
    wasio__call_finish(call, rc);
    return;
  }
  wasio__origin_dispatch(call->origin, call->client);
}
