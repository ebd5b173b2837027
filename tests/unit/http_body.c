/* tests/unit/http_body.c: body decoding (Content-Length, chunked with
 * extensions and trailers, close-delimited), its errors, and whole
 * connections of pipelined messages (heads + bodies) fed at every split. */
#include "testlib.h"

static body_result_t g_out;

#define EXPECT_CHUNKED_ERR(err, lit)          \
  do {                                        \
    CHUNKED(lit, &g_out);                     \
    ASSERT_WASIO((err), g_out.rc);            \
  } while (0)

/* ---- Content-Length, none, close ------------------------------------------------- */

TEST(http_body_length) {
  static const char in[] = "helloGET / HTTP/1.1\r\n";
  decode_body_all(WASIO_HTTP_BODY_LENGTH, 5, in, sizeof in - 1, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.consumed, 5);
  ASSERT_EQ_INT(g_out.payload_len, 5);
  ASSERT_EQ_MEM(g_out.payload, "hello", 5);
}

TEST(http_body_length_truncated) {
  wasio_http_body_t d;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_LENGTH, 5, NULL);
  size_t used;
  wasio_http_str_t data;
  ASSERT_WASIO(WASIO_HTTP_BODY_MORE, wasio_http_body_decode(&d, "hel", 3, &used, &data));
  ASSERT_EQ_INT(used, 3);
  ASSERT_STR_IS(data, "hel");
  ASSERT_WASIO(WASIO_EHTTP_TRUNCATED, wasio_http_body_finish(&d));
  ASSERT_WASIO(WASIO_EHTTP_TRUNCATED, wasio_http_body_decode(&d, "lo", 2, &used, &data));
}

TEST(http_body_none_and_zero_length) {
  wasio_http_body_t d;
  size_t used = 99;
  wasio_http_str_t data;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_NONE, 0, NULL);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, NULL, 0, &used, &data));
  ASSERT_EQ_INT(used, 0);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, "GET", 3, &used, &data));
  ASSERT_EQ_INT(used, 0);
  ASSERT_EQ_INT(data.len, 0);
  ASSERT_OK(wasio_http_body_finish(&d));
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_LENGTH, 0, NULL);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, "x", 1, &used, &data));
  ASSERT_EQ_INT(used, 0);
}

TEST(http_body_close_delimited) {
  static const char in[] = "all of this\r\n0\r\n\r\nis body";
  decode_body_all(WASIO_HTTP_BODY_CLOSE, 0, in, sizeof in - 1, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_MORE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, sizeof in - 1);
  ASSERT_EQ_MEM(g_out.payload, in, sizeof in - 1);
  wasio_http_body_t d;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_CLOSE, 0, NULL);
  ASSERT_OK(wasio_http_body_finish(&d));
}

TEST(http_body_init_from_framing) {
  wasio_http_request_t *req = malloc(sizeof *req);
  static const char m[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = wasio_http_parse_request(&p, m, sizeof m - 1, req);
  ASSERT_EQ_INT(rc, sizeof m - 1 - 4);
  wasio_http_body_t d;
  wasio_http_body_init(&d, &req->framing, NULL);
  size_t used;
  wasio_http_str_t data;
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, m + rc, 4, &used, &data));
  ASSERT_STR_IS(data, "body");
  free(req);
}

/* ---- chunked ------------------------------------------------------------------------ */

TEST(http_chunked_basic) {
  CHUNKED("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.consumed, 26);
  ASSERT_EQ_INT(g_out.payload_len, 11);
  ASSERT_EQ_MEM(g_out.payload, "hello world", 11);
  ASSERT_EQ_STR(g_out.trailers, "");
}

TEST(http_chunked_stops_at_message_end) {
  CHUNKED("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.consumed, 13);
  ASSERT_EQ_MEM(g_out.payload, "abc", 3);
}

TEST(http_chunked_hex_forms) {
  CHUNKED("A\r\n0123456789\r\n00010\r\nabcdefghijklmnop\r\n000\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, 26);
  CHUNKED("a\r\n0123456789\r\n0\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, 10);
}

TEST(http_chunked_extensions_ignored) {
  CHUNKED("5;name=value\r\nhello\r\n1 ; a=\"q;\\\"x\" ;b\r\n!\r\n0;last\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, 6);
  ASSERT_EQ_MEM(g_out.payload, "hello!", 6);
  CHUNKED("2;x=\"\xff\xfe\t \\\xff\"\r\nhi\r\n0\r\n\r\n", &g_out); /* obs-text, HTAB, SP, quoted-pair */
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
}

/* RFC 9112 section 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name
 * [ BWS "=" BWS chunk-ext-val ] ), name a token, value a token or a
 * quoted-string. Every form the grammar allows, each split at every
 * position (CHUNKED). */
TEST(http_chunked_extension_grammar) {
  static const char *const ok[] = {
      "2;a\r\nhi\r\n0\r\n\r\n",
      "2;a=b\r\nhi\r\n0\r\n\r\n",
      "2 ;a\r\nhi\r\n0\r\n\r\n",
      "2\t; \ta \t= \tb\r\nhi\r\n0\r\n\r\n",         /* BWS wherever the grammar has it */
      "2;a;b;c=d\r\nhi\r\n0\r\n\r\n",
      "2;a=\"\"\r\nhi\r\n0\r\n\r\n",                    /* empty quoted string */
      "2;a=\"x;y=z\" ;b=c\r\nhi\r\n0\r\n\r\n",           /* ';' and '=' quoted */
      "2;a=\"\\\"\\\\\"\r\nhi\r\n0\r\n\r\n",          /* quoted-pairs: \" and \\ */
      "2;!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~\r\nhi\r\n0\r\n\r\n", /* every tchar */
      "2;a=b\r\nhi\r\n0;z=\"last\"\r\n\r\n",            /* on the last chunk too */
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, ok[i], strlen(ok[i]), &g_out, __FILE__, __LINE__);
    if (g_out.rc != WASIO_HTTP_BODY_DONE || g_out.payload_len != 2)
      harness_fail(__FILE__, __LINE__, "case %zu (%s): %s", i, ok[i], harness_err_name(g_out.rc));
  }
}

TEST(http_chunked_extension_grammar_violations) {
  static const char *const bad[] = {
      "2;\r\nhi\r\n0\r\n\r\n",                          /* no name (issue 9) */
      "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n",   /* a quoted string never closed (issue 9) */
      "2;;a\r\nhi\r\n0\r\n\r\n",                        /* empty extension */
      "2;a=\r\nhi\r\n0\r\n\r\n",                        /* '=' without a value */
      "2;=b\r\nhi\r\n0\r\n\r\n",                        /* a value without a name */
      "2;a \r\nhi\r\n0\r\n\r\n",                        /* BWS before CRLF */
      "2;a=b \r\nhi\r\n0\r\n\r\n",
      "2;a=\"b\" \r\nhi\r\n0\r\n\r\n",
      "2;a b\r\nhi\r\n0\r\n\r\n",                       /* two names without ';' */
      "2;a=b c\r\nhi\r\n0\r\n\r\n",
      "2;a=b=c\r\nhi\r\n0\r\n\r\n",
      "2;a=\"b\"c\r\nhi\r\n0\r\n\r\n",                    /* bytes after the closing quote */
      "2;a=\"b\\\r\nhi\r\n0\r\n\r\n",                    /* a quoted-pair cut by CR */
      "2;a=\"b\x01\"\r\nhi\r\n0\r\n\r\n",                 /* a control byte in a quoted string */
      "2;a=\"b\\\x7f\"\r\nhi\r\n0\r\n\r\n",               /* ... and in a quoted-pair */
      "2;a=b\xff\r\nhi\r\n0\r\n\r\n",                     /* obs-text outside quotes */
      "2;a(b)\r\nhi\r\n0\r\n\r\n",                      /* delimiters in a name */
      "2;a=b@c\r\nhi\r\n0\r\n\r\n",
      "2;a=b\r\nhi\r\n0;\r\n\r\n",                       /* on the last chunk */
      "2;a=b\r\nhi\r\n0;x=\"\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, bad[i], strlen(bad[i]), &g_out, __FILE__, __LINE__);
    if (g_out.rc != WASIO_EHTTP_BAD_CHUNK_EXT)
      harness_fail(__FILE__, __LINE__, "case %zu (%s): %s, want WASIO_EHTTP_BAD_CHUNK_EXT", i, bad[i],
                   harness_err_name(g_out.rc));
  }
}

/* At most WASIO_HTTP_MAX_CHUNK_EXTS extensions per chunk line. */
TEST(http_chunked_extension_count) {
  char in[256];
  size_t n = 0;
  in[n++] = '1';
  for (int i = 0; i < WASIO_HTTP_MAX_CHUNK_EXTS; i++) n += (size_t)snprintf(in + n, sizeof in - n, ";e%d", i);
  n += (size_t)snprintf(in + n, sizeof in - n, "\r\nz\r\n1;a;b\r\ny\r\n0\r\n\r\n");
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc); /* the count is per line */
  n = 1;
  for (int i = 0; i <= WASIO_HTTP_MAX_CHUNK_EXTS; i++) n += (size_t)snprintf(in + n, sizeof in - n, ";e%d", i);
  n += (size_t)snprintf(in + n, sizeof in - n, "\r\nz\r\n0\r\n\r\n");
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_EXT, g_out.rc);
}

TEST(http_chunked_trailers) {
  CHUNKED("4\r\ndata\r\n0\r\nX-Checksum: abc \r\nY:1\r\n\r\nNEXT", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  ASSERT_EQ_INT(g_out.consumed, 37);
  ASSERT_EQ_MEM(g_out.payload, "data", 4);
  ASSERT_EQ_STR(g_out.trailers, "X-Checksum=abc;Y=1;");
}

TEST(http_chunked_trailer_needs_contiguous_bytes) {
  /* The decoder consumes up to the trailer section and leaves the section
   * itself unconsumed until it is complete. */
  static const char in[] = "1\r\nz\r\n0\r\nA: b\r\n\r\n";
  wasio_http_body_t d;
  wasio_http_trailers_t tr;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_CHUNKED, 0, &tr);
  size_t used;
  wasio_http_str_t data;
  ASSERT_WASIO(WASIO_HTTP_BODY_MORE, wasio_http_body_decode(&d, in, 14, &used, &data));
  ASSERT_EQ_INT(used, 4); /* "1\r\nz" */
  ASSERT_STR_IS(data, "z");
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_body_decode(&d, in + 4, 10, &used, &data));
  ASSERT_EQ_INT(used, 5); /* "\r\n0\r\n"; "A: b\r" is kept */
  ASSERT_EQ_INT(data.len, 0);
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_body_decode(&d, in + 9, 5, &used, &data));
  ASSERT_EQ_INT(used, 0);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, in + 9, 8, &used, &data));
  ASSERT_EQ_INT(used, 8);
  ASSERT_EQ_INT(tr.num_fields, 1);
  ASSERT_STR_IS(tr.fields[0].name, "A");
  ASSERT_STR_IS(tr.fields[0].value, "b");
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, wasio_http_body_decode(&d, in, 3, &used, &data));
  ASSERT_EQ_INT(used, 0);
  ASSERT_OK(wasio_http_body_finish(&d));
}

TEST(http_chunked_truncated) {
  CHUNKED("5\r\nhel", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_MORE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, 3);
  wasio_http_body_t d;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_CHUNKED, 0, NULL);
  ASSERT_WASIO(WASIO_EHTTP_TRUNCATED, wasio_http_body_finish(&d));
}

TEST(http_chunked_bad_size) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "x\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "-5\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "+5\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "0x5\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, ";ext\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, " 5\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "5\r\nhello\r\nz\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_SIZE, "5\x00\r\nhello\r\n0\r\n\r\n");
  /* The error is reported at the offending byte: what came before was
   * consumed, the payload before it delivered. */
  CHUNKED("2\r\nok\r\nq\r\n", &g_out);
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_SIZE, g_out.rc);
  ASSERT_EQ_INT(g_out.consumed, 7);
  ASSERT_EQ_INT(g_out.payload_len, 2);
}

TEST(http_chunked_size_overflow) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_SIZE_OVERFLOW, "10000000000000000\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_SIZE_OVERFLOW, "fffffffffffffffff\r\n");
  /* 2^64-1 itself is a (huge) valid size; leading zeros do not count. */
  CHUNKED("ffffffffffffffff\r\nabc", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_MORE, g_out.rc);
  ASSERT_EQ_INT(g_out.payload_len, 3);
  CHUNKED("00000000000000000000000001\r\nz\r\n0\r\n\r\n", &g_out);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
}

TEST(http_chunked_missing_crlf_after_data) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_NO_CRLF, "5\r\nhelloX\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_NO_CRLF, "5\r\nhello\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_NO_CRLF, "5\r\nhello\rX0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_CHUNK_NO_CRLF, "5\r\nhello world\r\n0\r\n\r\n");
}

TEST(http_chunked_bare_cr_lf_in_size_line) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_LF, "5\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_CR, "5\rhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_LF, "5;a=b\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_LF, "5\r\nhello\r\n0\n\r\n");
}

TEST(http_chunked_bad_extension) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_EXT, "5;a\x01\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_EXT, "5;a\x7f\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_EXT, "5 x\r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_EXT, "5 \r\nhello\r\n0\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_CHUNK_EXT, "5;\x00\r\nhello\r\n0\r\n\r\n");
}

TEST(http_chunked_line_limit) {
  static char in[WASIO_HTTP_MAX_CHUNK_LINE + 32];
  size_t n = 0;
  in[n++] = '1';
  in[n++] = ';';
  while (n < WASIO_HTTP_MAX_CHUNK_LINE) in[n++] = 'e';
  memcpy(in + n, "\r\nz\r\n0\r\n\r\n", 10);
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n + 10, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  in[n++] = 'e';
  memcpy(in + n, "\r\nz\r\n0\r\n\r\n", 10);
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n + 10, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_EHTTP_CHUNK_LINE_TOO_LONG, g_out.rc);
  /* Leading zeros count too: they cannot make a line endless. */
  memset(in, '0', WASIO_HTTP_MAX_CHUNK_LINE + 1);
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, WASIO_HTTP_MAX_CHUNK_LINE + 1, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_EHTTP_CHUNK_LINE_TOO_LONG, g_out.rc);
}

TEST(http_chunked_trailer_errors) {
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_SPACE_BEFORE_COLON, "0\r\nX : a\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_OBS_FOLD, "0\r\nX: a\r\n b\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_OBS_FOLD, "0\r\n a\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_LF, "0\r\n\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BARE_CR, "0\r\nX: a\rb\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "0\r\nno colon\r\n\r\n");
  EXPECT_CHUNKED_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "0\r\nX: \x01\r\n\r\n");
}

TEST(http_chunked_trailer_limits) {
  static char in[WASIO_HTTP_MAX_HEAD + 64];
  size_t n = (size_t)snprintf(in, sizeof in, "0\r\n");
  for (int i = 0; i < WASIO_HTTP_MAX_TRAILERS; i++) n += (size_t)snprintf(in + n, sizeof in - n, "T%d: v\r\n", i);
  n += (size_t)snprintf(in + n, sizeof in - n, "\r\n");
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_HTTP_BODY_DONE, g_out.rc);
  n -= 2;
  n += (size_t)snprintf(in + n, sizeof in - n, "Tx: v\r\n\r\n");
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, in, n, &g_out, __FILE__, __LINE__);
  ASSERT_WASIO(WASIO_EHTTP_TOO_MANY_HEADERS, g_out.rc);
  /* A trailer section larger than WASIO_HTTP_MAX_HEAD. */
  n = (size_t)snprintf(in, sizeof in, "0\r\nBig: ");
  while (n < WASIO_HTTP_MAX_HEAD + 3 + 10) in[n++] = 'b';
  memcpy(in + n, "\r\n\r\n", 4);
  n += 4;
  wasio_http_body_t d;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_CHUNKED, 0, NULL);
  size_t used;
  wasio_http_str_t data;
  ASSERT_WASIO(WASIO_EHTTP_HEADERS_TOO_LARGE, wasio_http_body_decode(&d, in, n, &used, &data));
  ASSERT_EQ_INT(used, 3);
}

TEST(http_body_error_is_sticky) {
  wasio_http_body_t d;
  wasio_http_body_init_kind(&d, WASIO_HTTP_BODY_CHUNKED, 0, NULL);
  size_t used;
  wasio_http_str_t data;
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_SIZE, wasio_http_body_decode(&d, "g", 1, &used, &data));
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_SIZE, wasio_http_body_decode(&d, "5\r\n", 3, &used, &data));
  ASSERT_EQ_INT(used, 0);
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_SIZE, wasio_http_body_finish(&d));
}

/* ---- whole connections: pipelined heads and bodies ------------------------------------ */

#define TRANSCRIPT_MAX 4096
#define CONN_BUF 8192

/* Plays one side of a connection over `in`, delivered in pieces (`step`
 * bytes, or two parts at `split` when step is SIZE_MAX), keeping
 * unconsumed bytes in a buffer as a real server or client would. Writes a
 * transcript of what it saw: "H <method> <target>|" or "H <status>|" per head,
 * "B <payload>|" per complete body, "E <error>|" on error and then stops,
 * "EOF <finish result>|" when the input ends in the middle of a body. */
static void play(const char *in, size_t len, bool responses, size_t step, size_t split, char *out) {
  static char buf[CONN_BUF];
  static wasio_http_request_t req;
  static wasio_http_response_t res;
  char body[CONN_BUF];
  size_t have = 0, given = 0, body_len = 0;
  size_t o = 0;
  bool in_body = false;
  wasio_http_parser_t p;
  wasio_http_body_t d;
  wasio_http_parser_init(&p);
  out[0] = 0;
  while (given < len || have > 0) {
    size_t next = step == SIZE_MAX ? (given < split ? split : len) : (step == 0 ? len : given + step);
    if (next > len) next = len;
    bool progressed = false;
    memcpy(buf + have, in + given, next - given);
    have += next - given;
    given = next;
    for (;;) {
      char *copy = exact_copy(buf, have);
      if (!in_body) {
        int rc = responses ? wasio_http_parse_response(&p, copy, have, 0, &res)
                           : wasio_http_parse_request(&p, copy, have, &req);
        if (rc == WASIO_EAGAIN) {
          free(copy);
          break;
        }
        if (rc < 0) {
          o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "E %s|", wasio_err_name(rc));
          free(copy);
          return;
        }
        if (responses)
          o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "H %d|", res.status);
        else
          o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "H %.*s %.*s|", (int)req.method.len, req.method.ptr,
                                (int)req.target.len, req.target.ptr);
        wasio_http_body_init(&d, responses ? &res.framing : &req.framing, NULL);
        in_body = true;
        body_len = 0;
        memmove(buf, buf + rc, have - (size_t)rc);
        have -= (size_t)rc;
      } else {
        size_t used;
        wasio_http_str_t data;
        int rc = wasio_http_body_decode(&d, copy, have, &used, &data);
        if (rc < 0 && rc != WASIO_EAGAIN) {
          o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "E %s|", wasio_err_name(rc));
          free(copy);
          return;
        }
        memcpy(body + body_len, data.ptr, data.len);
        body_len += data.len;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (rc == WASIO_HTTP_BODY_DONE) {
          o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "B %.*s|", (int)body_len, body);
          in_body = false;
          wasio_http_parser_init(&p);
        } else if (rc == WASIO_EAGAIN || have == 0) {
          free(copy);
          break;
        }
      }
      free(copy);
      progressed = true;
    }
    (void)progressed;
    if (given == len) break;
  }
  if (in_body) {
    int rc = wasio_http_body_finish(&d);
    o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "EOF %s B %.*s|", wasio_err_name(rc), (int)body_len, body);
  } else if (have > 0) {
    o += (size_t)snprintf(out + o, TRANSCRIPT_MAX - o, "REST %zu|", have);
  }
}

/* Plays `in` whole, at every split and byte by byte; all must agree with
 * `want`. */
static void check_play(const char *in, size_t len, bool responses, const char *want, const char *file, int line) {
  char *got = malloc(TRANSCRIPT_MAX);
  for (size_t k = 0; k <= len + 1; k++) {
    if (k == len + 1) play(in, len, responses, 1, 0, got);
    else play(in, len, responses, SIZE_MAX, k, got);
    if (strcmp(got, want) != 0)
      harness_fail(file, line, "%s %zu: transcript\n  got  %s\n  want %s", k == len + 1 ? "byte by byte" : "split at",
                   k, got, want);
  }
  free(got);
}
#define PLAY(lit, responses, want) check_play((lit), sizeof(lit) - 1, (responses), (want), __FILE__, __LINE__)

TEST(http_pipeline_requests) {
  PLAY("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
       "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
       "\r\n" /* a stray CRLF after a body is skipped (RFC 9112 section 2.2) */
       "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
       "DELETE /d HTTP/1.0\r\n\r\n",
       false, "H GET /a|B |H POST /b|B hello|H PUT /c|B abcde|H DELETE /d|B |");
}

TEST(http_pipeline_stops_at_smuggled_request) {
  /* The classic CL.TE attack: refused at the head, nothing after is read. */
  PLAY("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"
       "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n",
       false, "E WASIO_EHTTP_CL_AND_TE|");
  PLAY("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
       "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n",
       false, "H GET /a|B |H POST /b|E WASIO_EHTTP_CHUNK_NO_CRLF|");
}

TEST(http_pipeline_responses_with_interim_and_close) {
  PLAY("HTTP/1.1 100 Continue\r\n\r\n"
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
       "HTTP/1.1 204 No Content\r\n\r\n"
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
       "HTTP/1.1 200 OK\r\n\r\nuntil the end",
       true, "H 100|B |H 200|B ok|H 204|B |H 200|B x|H 200|EOF 0 B until the end|");
}

TEST(http_pipeline_truncated_body) {
  PLAY("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true, "H 200|EOF WASIO_EHTTP_TRUNCATED B short|");
}
