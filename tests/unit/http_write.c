/* tests/unit/http_write.c: the writers: exact output, size checks at
 * every capacity, refusal of anything that would inject or mis-frame, and
 * round trips through the parsers. */
#include "testlib.h"

#define WBUF 512

/* Every capacity below the needed size must give WASIO_ENOBUFS, the exact
 * size must succeed; the output is written into an exact-size heap buffer
 * so a write past `cap` is an ASan error. */
#define CHECK_ALL_CAPS(call_with_buf_cap, want_text)                                \
  do {                                                                              \
    const char *want_ = (want_text);                                                \
    size_t want_n_ = strlen(want_);                                                      \
    for (size_t cap = 0; cap <= want_n_; cap++) {                                        \
      char *buf = malloc(cap ? cap : 1);                                            \
      int rc_ = call_with_buf_cap;                                                  \
      if (cap < want_n_) ASSERT_WASIO(WASIO_ENOBUFS, rc_);                               \
      else {                                                                        \
        ASSERT_EQ_INT(rc_, want_n_);                                                     \
        ASSERT_EQ_MEM(buf, want_, want_n_);                                              \
      }                                                                             \
      free(buf);                                                                    \
    }                                                                               \
  } while (0)

static const wasio_http_header_t k_hdrs[] = {
    {WASIO_HTTP_STR("Host"), WASIO_HTTP_STR("example.com")},
    {WASIO_HTTP_STR("Content-Length"), WASIO_HTTP_STR("5")},
};

TEST(http_write_request_head) {
  CHECK_ALL_CAPS(wasio_http_write_request_head(buf, cap, WASIO_HTTP_STR("POST"), WASIO_HTTP_STR("/x?y=1"), 1, k_hdrs, 2),
                 "POST /x?y=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n");
  CHECK_ALL_CAPS(wasio_http_write_request_head(buf, cap, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 0, NULL, 0),
                 "GET / HTTP/1.0\r\n\r\n");
}

TEST(http_write_response_head) {
  CHECK_ALL_CAPS(wasio_http_write_response_head(buf, cap, 1, 404, WASIO_HTTP_STR("Not Found"), k_hdrs + 1, 1),
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n");
  CHECK_ALL_CAPS(wasio_http_write_response_head(buf, cap, 1, 299, (wasio_http_str_t){NULL, 0}, NULL, 0),
                 "HTTP/1.1 299 \r\n\r\n");
}

TEST(http_write_chunk_framing) {
  CHECK_ALL_CAPS(wasio_http_write_chunk_header(buf, cap, 26), "1a\r\n");
  CHECK_ALL_CAPS(wasio_http_write_chunk_header(buf, cap, 1), "1\r\n");
  CHECK_ALL_CAPS(wasio_http_write_chunk_header(buf, cap, UINT64_MAX), "ffffffffffffffff\r\n");
  CHECK_ALL_CAPS(wasio_http_write_last_chunk(buf, cap, NULL, 0), "0\r\n\r\n");
  static const wasio_http_header_t tr[] = {{WASIO_HTTP_STR("X-Sum"), WASIO_HTTP_STR("abc")}};
  CHECK_ALL_CAPS(wasio_http_write_last_chunk(buf, cap, tr, 1), "0\r\nX-Sum: abc\r\n\r\n");
  char b[8];
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_write_chunk_header(b, sizeof b, 0));
}

TEST(http_write_u64) {
  CHECK_ALL_CAPS(wasio_http_write_u64(buf, cap, 0), "0");
  CHECK_ALL_CAPS(wasio_http_write_u64(buf, cap, 5), "5");
  CHECK_ALL_CAPS(wasio_http_write_u64(buf, cap, 1024), "1024");
  CHECK_ALL_CAPS(wasio_http_write_u64(buf, cap, UINT64_MAX), "18446744073709551615");
  ASSERT_EQ_INT(WASIO_HTTP_U64_DIGITS, (int)strlen("18446744073709551615"));
}

TEST(http_write_refuses_injection) {
  char b[WBUF];
  wasio_http_header_t h[1];
  h[0] = (wasio_http_header_t){WASIO_HTTP_STR("X"), WASIO_HTTP_STR("a\r\nInjected: 1")};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 1, h, 1));
  h[0] = (wasio_http_header_t){WASIO_HTTP_STR("X"), WASIO_HTTP_STR("a\nb")};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, wasio_http_write_response_head(b, WBUF, 1, 200, WASIO_HTTP_STR("OK"), h, 1));
  h[0] = (wasio_http_header_t){WASIO_HTTP_STR("X"), {"a\0b", 3}};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, wasio_http_write_last_chunk(b, WBUF, h, 1));
  h[0] = (wasio_http_header_t){WASIO_HTTP_STR("X Y"), WASIO_HTTP_STR("v")};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_NAME, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 1, h, 1));
  h[0] = (wasio_http_header_t){WASIO_HTTP_STR("X:"), WASIO_HTTP_STR("v")};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_NAME, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 1, h, 1));
  h[0] = (wasio_http_header_t){{NULL, 0}, WASIO_HTTP_STR("v")};
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_NAME, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 1, h, 1));
  ASSERT_WASIO(WASIO_EHTTP_BAD_METHOD, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET /"), WASIO_HTTP_STR("/"), 1, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_METHOD, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR(""), WASIO_HTTP_STR("/"), 1, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_TARGET, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/a b"), 1, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_TARGET, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/\r\n"), 1, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_TARGET, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR(""), 1, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_VERSION, wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("GET"), WASIO_HTTP_STR("/"), 2, NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_VERSION, wasio_http_write_response_head(b, WBUF, -1, 200, WASIO_HTTP_STR("OK"), NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_STATUS, wasio_http_write_response_head(b, WBUF, 1, 99, WASIO_HTTP_STR("OK"), NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_STATUS, wasio_http_write_response_head(b, WBUF, 1, 1000, WASIO_HTTP_STR("OK"), NULL, 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_STATUS, wasio_http_write_response_head(b, WBUF, 1, 200, WASIO_HTTP_STR("OK\r\nX: y"), NULL, 0));
}

TEST(http_write_round_trip) {
  static char b[WBUF];
  wasio_http_header_t h[3] = {
      {WASIO_HTTP_STR("Host"), WASIO_HTTP_STR("a")},
      {WASIO_HTTP_STR("Transfer-Encoding"), WASIO_HTTP_STR("chunked")},
      {WASIO_HTTP_STR("X-Obs"), WASIO_HTTP_STR("caf\xc3\xa9 \tx")},
  };
  int n = wasio_http_write_request_head(b, WBUF, WASIO_HTTP_STR("PATCH"), WASIO_HTTP_STR("/r"), 1, h, 3);
  ASSERT_GT_INT(n, 0);
  size_t len = (size_t)n;
  int c = wasio_http_write_chunk_header(b + len, WBUF - len, 3);
  ASSERT_EQ_INT(c, 3);
  len += (size_t)c;
  memcpy(b + len, "abc" WASIO_HTTP_CRLF, 5);
  len += 5;
  wasio_http_header_t tr = {WASIO_HTTP_STR("T"), WASIO_HTTP_STR("1")};
  c = wasio_http_write_last_chunk(b + len, WBUF - len, &tr, 1);
  ASSERT_EQ_INT(c, 11);
  len += (size_t)c;

  wasio_http_request_t *req = malloc(sizeof *req);
  ASSERT_EQ_INT(parse_request_all(b, len, req, __FILE__, __LINE__), n);
  ASSERT_STR_IS(req->method, "PATCH");
  ASSERT_EQ_INT(req->num_headers, 3);
  ASSERT_STR_IS(req->headers[2].value, "caf\xc3\xa9 \tx");
  ASSERT_EQ_INT(req->framing.body, WASIO_HTTP_BODY_CHUNKED);
  body_result_t *out = malloc(sizeof *out);
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, b + n, len - (size_t)n, out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, out->rc);
  ASSERT_EQ_INT(out->consumed, len - (size_t)n);
  ASSERT_EQ_MEM(out->payload, "abc", 3);
  ASSERT_EQ_STR(out->trailers, "T=1;");
  free(out);

  /* A response too. */
  const char *ok = wasio_http_reason(200);
  n = wasio_http_write_response_head(b, WBUF, 1, 200, (wasio_http_str_t){ok, strlen(ok)}, h, 1);
  wasio_http_response_t *res = malloc(sizeof *res);
  ASSERT_EQ_INT(parse_response_all(b, (size_t)n, 0, res, __FILE__, __LINE__), n);
  ASSERT_EQ_INT(res->status, 200);
  ASSERT_STR_IS(res->reason, "OK");
  free(res);
  free(req);
}

TEST(http_reason_phrases) {
  ASSERT_EQ_STR(wasio_http_reason(200), "OK");
  ASSERT_EQ_STR(wasio_http_reason(404), "Not Found");
  ASSERT_EQ_STR(wasio_http_reason(431), "Request Header Fields Too Large");
  ASSERT_EQ_STR(wasio_http_reason(505), "HTTP Version Not Supported");
  ASSERT_EQ_STR(wasio_http_reason(299), "");
  ASSERT_EQ_STR(wasio_http_reason(-1), "");
}

TEST(http_error_names) {
  /* The new codes are in the one error map, with names and messages. */
  ASSERT_EQ_STR(wasio_err_name(WASIO_EHTTP_CL_AND_TE), "WASIO_EHTTP_CL_AND_TE");
  ASSERT_EQ_STR(wasio_err_name(WASIO_EURL_PERCENT), "WASIO_EURL_PERCENT");
  ASSERT_EQ_STR(wasio_err_name(WASIO_ENOBUFS), "WASIO_ENOBUFS");
  ASSERT_EQ_STR(wasio_strerror(WASIO_EHTTP_OBS_FOLD), "obsolete line folding in HTTP header");
  /* Appended after the existing codes: ESTATE keeps its value. */
  ASSERT_EQ_INT(WASIO_ENOBUFS, WASIO_ESTATE - 1);
}
