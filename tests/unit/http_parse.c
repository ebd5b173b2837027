/* tests/unit/http_parse.c: request and response heads: valid forms,
 * framing and keep-alive decisions, every smuggling defence with its exact
 * error, and the limits. Every input is parsed whole, split in two at every
 * position and byte by byte (tests/testlib.h). */
#include "testlib.h"
#include "codec/http_internal.h" /* wasio__http_request_framing */

static wasio_http_request_t g_req;
static wasio_http_response_t g_res;

#define EXPECT_REQ_ERR(err, lit) ASSERT_WASIO((err), REQ(lit, &g_req))
#define EXPECT_RESP_ERR(err, lit) ASSERT_WASIO((err), RESP(lit, 0, &g_res))

/* ---- valid requests ---------------------------------------------------------- */

TEST(http_req_simple_get) {
  static const char m[] = "GET /index.html?a=b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1);
  ASSERT_STR_IS(g_req.method, "GET");
  ASSERT_STR_IS(g_req.target, "/index.html?a=b");
  ASSERT_EQ_INT(g_req.version_minor, 1);
  ASSERT_EQ_INT(g_req.num_headers, 2);
  ASSERT_STR_IS(g_req.headers[0].name, "Host");
  ASSERT_STR_IS(g_req.headers[0].value, "example.com");
  ASSERT_STR_IS(g_req.headers[1].name, "User-Agent");
  ASSERT_STR_IS(g_req.headers[1].value, "t/1");
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_req.framing.keep_alive);
  ASSERT_TRUE(!g_req.framing.expect_continue);
  ASSERT_TRUE(!g_req.framing.upgrade);
  ASSERT_TRUE(!g_req.framing.has_content_length);
}

TEST(http_req_head_followed_by_more_bytes) {
  /* The return value is the head length; what follows is not looked at. */
  static const char m[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGARBAGE\n\r";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1 - 12);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_LENGTH);
  ASSERT_EQ_U64(g_req.framing.content_length, 3);
}

TEST(http_req_value_trimming_and_empty_value) {
  static const char m[] = "GET / HTTP/1.1\r\nHost:a\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1);
  ASSERT_EQ_INT(g_req.num_headers, 4);
  ASSERT_STR_IS(g_req.headers[0].value, "a");
  ASSERT_STR_IS(g_req.headers[1].value, "a  b");
  ASSERT_STR_IS(g_req.headers[2].value, "");
  ASSERT_STR_IS(g_req.headers[3].value, "");
}

TEST(http_req_obs_text_in_value_is_accepted) {
  static const char m[] = "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1);
  ASSERT_STR_IS(g_req.headers[1].value, "caf\xc3\xa9");
}

TEST(http_req_leading_empty_lines_skipped) {
  static const char m[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1);
  ASSERT_STR_IS(g_req.method, "GET");
  ASSERT_EQ_INT(g_req.num_headers, 1);
}

TEST(http_req_no_headers_http10) {
  static const char m[] = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ_INT(REQ(m, &g_req), sizeof m - 1);
  ASSERT_EQ_INT(g_req.version_minor, 0);
  ASSERT_EQ_INT(g_req.num_headers, 0);
  ASSERT_TRUE(!g_req.framing.keep_alive);
}

TEST(http_req_target_forms) {
  ASSERT_EQ_INT(REQ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &g_req), 31);
  ASSERT_STR_IS(g_req.target, "*");
  ASSERT_TRUE(REQ("GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", &g_req) > 0);
  ASSERT_STR_IS(g_req.target, "http://a/b?c");
  ASSERT_TRUE(REQ("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", &g_req) > 0);
  ASSERT_STR_IS(g_req.method, "CONNECT");
  ASSERT_STR_IS(g_req.target, "a.example:443");
}

TEST(http_req_token_method_chars) {
  ASSERT_TRUE(REQ("M-SEARCH! * HTTP/1.1\r\nHost: a\r\n\r\n", &g_req) > 0);
  ASSERT_STR_IS(g_req.method, "M-SEARCH!");
}

TEST(http_req_later_minor_version) {
  ASSERT_TRUE(REQ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.version_minor, 2);
  ASSERT_TRUE(g_req.framing.keep_alive);
}

TEST(http_req_keep_alive_rules) {
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.keep_alive);
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.keep_alive);
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(g_req.framing.keep_alive);
  ASSERT_TRUE(REQ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(g_req.framing.keep_alive);
  ASSERT_TRUE(REQ("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.keep_alive);
  ASSERT_TRUE(REQ("GET / HTTP/1.0\r\nConnection: ,, keep-alive ,\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(g_req.framing.keep_alive);
}

TEST(http_req_content_length) {
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_req.framing.has_content_length);
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  007 \r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_LENGTH);
  ASSERT_EQ_U64(g_req.framing.content_length, 7);
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_U64(g_req.framing.content_length, UINT64_MAX);
}

TEST(http_req_identical_duplicate_content_length_is_one) {
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_LENGTH);
  ASSERT_EQ_U64(g_req.framing.content_length, 5);
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_U64(g_req.framing.content_length, 5);
}

TEST(http_req_chunked) {
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_CHUNKED);
  ASSERT_TRUE(REQ("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  ChUnKeD \r\n\r\n", &g_req) > 0);
  ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_CHUNKED);
}

TEST(http_req_expect_continue) {
  ASSERT_TRUE(REQ("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(g_req.framing.expect_continue);
  /* RFC 9110 section 10.1.1: ignored in HTTP/1.0. */
  ASSERT_TRUE(REQ("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.expect_continue);
  ASSERT_TRUE(REQ("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.expect_continue);
}

TEST(http_req_upgrade) {
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(g_req.framing.upgrade);
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", &g_req) > 0);
  ASSERT_TRUE(!g_req.framing.upgrade);
}

/* ---- start-line errors -------------------------------------------------------------- */

TEST(http_req_bad_method) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, " GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, "GET\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, "GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_METHOD, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n");
}

TEST(http_req_bad_target) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TARGET, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TARGET, "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TARGET, "GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TARGET, "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TARGET, "GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(http_req_bad_version) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/2.0\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / http/1.1\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET /\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/1.10\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/1.\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/1.x\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_VERSION, "GET / \r\nHost: a\r\n\r\n");
}

/* ---- header-line errors --------------------------------------------------------------- */

TEST(http_req_bad_header_name) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nHost a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nHost\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nHo st: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nX\x7f: a\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nH\xc3\xa9: a\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nX(y): a\r\nHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_NAME, "GET / HTTP/1.1\r\nX\x01: a\r\nHost: a\r\n\r\n");
}

TEST(http_req_space_before_colon) {
  EXPECT_REQ_ERR(WASIO_EHTTP_SPACE_BEFORE_COLON, "GET / HTTP/1.1\r\nHost : a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_SPACE_BEFORE_COLON, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 5\r\n\r\n");
}

TEST(http_req_control_char_in_value) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "GET / HTTP/1.1\r\nHost: a\x00" "b\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1b" "b\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "GET / HTTP/1.1\r\nHost: a\r\nX: a\x0b\r\n\r\n");
}

TEST(http_req_obs_fold) {
  EXPECT_REQ_ERR(WASIO_EHTTP_OBS_FOLD, "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_OBS_FOLD, "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n");
  /* Whitespace-led line right after the start line (RFC 9112 section 2.2). */
  EXPECT_REQ_ERR(WASIO_EHTTP_OBS_FOLD, "GET / HTTP/1.1\r\n Host: a\r\n\r\n");
}

TEST(http_req_bare_cr) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_CR, "GET / HTTP/1.1\rHost: a\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_CR, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_CR, "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_CR, "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_CR, "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(http_req_bare_lf) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_LF, "GET / HTTP/1.1\nHost: a\n\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_LF, "GET / HTTP/1.1\r\nHost: a\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_LF, "GET / HTTP/1.1\r\nHost: a\r\n\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BARE_LF, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

/* ---- framing errors (request smuggling) ------------------------------------------------- */

TEST(http_req_invalid_content_length) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,5\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH,
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH,
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n");
}

TEST(http_req_conflicting_content_length) {
  EXPECT_REQ_ERR(WASIO_EHTTP_CONTENT_LENGTH_MISMATCH,
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_CONTENT_LENGTH_MISMATCH, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_CONTENT_LENGTH_MISMATCH,
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\ncontent-length: 00\r\ncontent-length: 1\r\n\r\n");
}

TEST(http_req_content_length_with_transfer_encoding) {
  EXPECT_REQ_ERR(WASIO_EHTTP_CL_AND_TE,
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_CL_AND_TE,
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_CL_AND_TE,
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n");
}

TEST(http_req_bad_transfer_encoding) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING,
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n");
  /* HTTP/1.0 has no transfer codings (RFC 9112 section 6.1). */
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(http_req_host_rules) {
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost:\r\n\r\n", &g_req) > 0); /* empty Host is allowed */
  /* RFC 9112 section 3.2: more than one Host is refused in any version,
   * none only in HTTP/1.1; an invalid value is refused. */
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(REQ("GET / HTTP/1.0\r\n\r\n", &g_req) > 0);
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.0\r\nHost: a b\r\n\r\n");
  EXPECT_REQ_ERR(WASIO_EHTTP_BAD_HOST, "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n");
  ASSERT_TRUE(REQ("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &g_req) > 0);
}

TEST(http_host_valid) {
  static const char *const good[] = {
      "", "example.com", "example.com:8080", "a:", ":80", "127.0.0.1", "127.0.0.1:65535", "300.1.1.1",
      "[::1]", "[::1]:443", "[2001:db8::1:2]", "[::ffff:192.0.2.1]:80", "xn--bcher-kva.example",
      "a%41b", "a!$&'()*+,;=b", "A-Z_a~z.0",
  };
  static const char *const bad[] = {
      "a b", "a/b", "a\\b", "a?b", "a#b", "user@a", "a:b", "a:80:80", "a:65536", "a:1x", "%zz", "a%4",
      "[::1", "::1", "[::1]x", "[::1]:x", "[fe80::1%25eth0]", "[v1.x]", "[]", "[1:2:3:4:5:6:7:8:9]",
      "ex\377ample", "a\"b", "a<b", "[a]",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (!wasio_http_host_valid((wasio_http_str_t){good[i], strlen(good[i])}))
      harness_fail(__FILE__, __LINE__, "'%s' refused", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (wasio_http_host_valid((wasio_http_str_t){bad[i], strlen(bad[i])}))
      harness_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
}

/* Parses `m` (a whole request) and gives wasio_http_request_authority(). */
static int authority_of(const char *m, char *out, size_t cap) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = wasio_http_parse_request(&p, m, strlen(m), &g_req);
  if (rc <= 0) return rc == 0 ? WASIO_EINVAL : rc;
  wasio_http_str_t a = {NULL, 99};
  rc = wasio_http_request_authority(&g_req, &a);
  if (rc == 0) snprintf(out, cap, "%.*s", (int)a.len, a.ptr ? a.ptr : "");
  return rc;
}

TEST(http_request_authority) {
  static const struct {
    const char *req, *authority;
  } good[] = {
      {"GET /a?b HTTP/1.1\r\nHost: h.test:81\r\n\r\n", "h.test:81"},
      {"GET / HTTP/1.0\r\n\r\n", ""},
      /* absolute-form: the target's authority wins over Host (RFC 9112 3.2.2) */
      {"GET http://t.test:8080/a?b HTTP/1.1\r\nHost: other\r\n\r\n", "t.test:8080"},
      {"GET HTTPS://t.test HTTP/1.1\r\nHost: t.test\r\n\r\n", "t.test"},
      {"POST http://[::1]:9?q HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "[::1]:9"},
      {"GET http://t.test#f HTTP/1.1\r\nHost: x\r\n\r\n", "t.test"},
      {"OPTIONS * HTTP/1.1\r\nHost: star\r\n\r\n", "star"},
      {"CONNECT t.test:443 HTTP/1.1\r\nHost: t.test:443\r\n\r\n", "t.test:443"},
      {"CONNECT [::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n", "[::1]:443"},
  };
  static const char *const bad[] = {
      "GET * HTTP/1.1\r\nHost: a\r\n\r\n",             /* asterisk-form is for OPTIONS */
      "GET a.test:80 HTTP/1.1\r\nHost: a\r\n\r\n",      /* authority-form is for CONNECT */
      "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT a.test HTTP/1.1\r\nHost: a\r\n\r\n",     /* the port is required */
      "CONNECT a.test: HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT http://a.test/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET ftp://a.test/ HTTP/1.1\r\nHost: a\r\n\r\n",  /* not http(s) */
      "GET http:/a.test/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http:// HTTP/1.1\r\nHost: a\r\n\r\n",        /* no host */
      "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://u:p@a.test/ HTTP/1.1\r\nHost: a\r\n\r\n", /* userinfo */
      "GET http://a.test:99999/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET a HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  char got[128];
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int rc = authority_of(good[i].req, got, sizeof got);
    if (rc != 0 || strcmp(got, good[i].authority) != 0)
      harness_fail(__FILE__, __LINE__, "case %zu: %s '%s', want '%s'", i, harness_err_name(rc), rc == 0 ? got : "",
                   good[i].authority);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = authority_of(bad[i], got, sizeof got);
    if (rc != WASIO_EHTTP_BAD_TARGET)
      harness_fail(__FILE__, __LINE__, "bad case %zu: %s, want WASIO_EHTTP_BAD_TARGET", i, harness_err_name(rc));
  }
}

/* ---- limits ---------------------------------------------------------------------------- */

/* Builds "GET /AAAA... HTTP/1.1\r\nHost: a\r\n\r\n" with a start line of
 * exactly `line` bytes. */
static size_t build_long_target(char *buf, size_t line) {
  size_t n = 0;
  memcpy(buf, "GET /", 5);
  n = 5;
  while (n < line - 9) buf[n++] = 'A';
  memcpy(buf + n, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
  return n + 22;
}

TEST(http_limit_start_line) {
  static char m[WASIO_HTTP_MAX_START_LINE + 64];
  g_split_stride = 61;
  size_t n = build_long_target(m, WASIO_HTTP_MAX_START_LINE);
  ASSERT_EQ_INT(parse_request_all(m, n, &g_req, __FILE__, __LINE__), n);
  ASSERT_EQ_INT(g_req.target.len, WASIO_HTTP_MAX_START_LINE - 13);
  n = build_long_target(m, WASIO_HTTP_MAX_START_LINE + 1);
  ASSERT_WASIO(WASIO_EHTTP_START_LINE_TOO_LONG, parse_request_all(m, n, &g_req, __FILE__, __LINE__));
  g_split_stride = 1; /* every split again for the tests after this one */
}

TEST(http_limit_start_line_without_end) {
  /* Rejected as soon as the line is too long, not at the end of the head. */
  static char m[WASIO_HTTP_MAX_START_LINE + 1];
  memset(m, 'A', sizeof m);
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_parse_request(&p, m, WASIO_HTTP_MAX_START_LINE, &g_req));
  ASSERT_WASIO(WASIO_EHTTP_START_LINE_TOO_LONG, wasio_http_parse_request(&p, m, sizeof m, &g_req));
}

/* A request with `fields` header fields. */
static size_t build_fields(char *buf, size_t cap, size_t fields) {
  size_t n = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
  for (size_t i = 1; i < fields; i++) n += (size_t)snprintf(buf + n, cap - n, "X-%zu: %zu\r\n", i, i);
  n += (size_t)snprintf(buf + n, cap - n, "\r\n");
  return n;
}

TEST(http_limit_header_count) {
  static char m[8192];
  g_split_stride = 7;
  size_t n = build_fields(m, sizeof m, WASIO_HTTP_MAX_HEADERS);
  ASSERT_EQ_INT(parse_request_all(m, n, &g_req, __FILE__, __LINE__), n);
  ASSERT_EQ_INT(g_req.num_headers, WASIO_HTTP_MAX_HEADERS);
  ASSERT_STR_IS(g_req.headers[WASIO_HTTP_MAX_HEADERS - 1].value, "99");
  n = build_fields(m, sizeof m, WASIO_HTTP_MAX_HEADERS + 1);
  ASSERT_WASIO(WASIO_EHTTP_TOO_MANY_HEADERS, parse_request_all(m, n, &g_req, __FILE__, __LINE__));
  g_split_stride = 1; /* every split again for the tests after this one */
}

/* A request head of exactly `size` bytes: one big X field fills it. */
static size_t build_head_of_size(char *buf, size_t size) {
  static const char pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  size_t n = sizeof pre - 1;
  memcpy(buf, pre, n);
  while (n < size - 4) buf[n++] = 'v';
  memcpy(buf + n, "\r\n\r\n", 4);
  return n + 4;
}

TEST(http_limit_head_size) {
  static char m[WASIO_HTTP_MAX_HEAD + 16];
  g_split_stride = 127;
  size_t n = build_head_of_size(m, WASIO_HTTP_MAX_HEAD);
  ASSERT_EQ_INT(n, WASIO_HTTP_MAX_HEAD);
  ASSERT_EQ_INT(parse_request_all(m, n, &g_req, __FILE__, __LINE__), WASIO_HTTP_MAX_HEAD);
  n = build_head_of_size(m, WASIO_HTTP_MAX_HEAD + 1);
  ASSERT_WASIO(WASIO_EHTTP_HEADERS_TOO_LARGE, parse_request_all(m, n, &g_req, __FILE__, __LINE__));
  g_split_stride = 1; /* every split again for the tests after this one */
}

TEST(http_limit_leading_empty_lines_count) {
  static char m[WASIO_HTTP_MAX_HEAD + 64];
  size_t n = 0;
  while (n < WASIO_HTTP_MAX_HEAD) {
    m[n++] = '\r';
    m[n++] = '\n';
  }
  memcpy(m + n, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
  n += 27;
  g_split_stride = 331;
  ASSERT_WASIO(WASIO_EHTTP_HEADERS_TOO_LARGE, parse_request_all(m, n, &g_req, __FILE__, __LINE__));
  g_split_stride = 1; /* every split again for the tests after this one */
}

/* ---- parser contract ------------------------------------------------------------------ */

TEST(http_parser_error_is_sticky) {
  static const char m[] = "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  ASSERT_WASIO(WASIO_EHTTP_SPACE_BEFORE_COLON, wasio_http_parse_request(&p, m, sizeof m - 1, &g_req));
  ASSERT_WASIO(WASIO_EHTTP_SPACE_BEFORE_COLON, wasio_http_parse_request(&p, m, sizeof m - 1, &g_req));
  /* A semantic error found at completion is sticky as well. */
  static const char m2[] = "GET / HTTP/1.1\r\n\r\n";
  wasio_http_parser_init(&p);
  ASSERT_WASIO(WASIO_EHTTP_BAD_HOST, wasio_http_parse_request(&p, m2, sizeof m2 - 1, &g_req));
  ASSERT_WASIO(WASIO_EHTTP_BAD_HOST, wasio_http_parse_request(&p, m2, sizeof m2 - 1, &g_req));
}

TEST(http_parser_shrinking_input_is_einval) {
  static const char m[] = "GET / HTTP/1.1\r\nHo";
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_parse_request(&p, m, sizeof m - 1, &g_req));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_parse_request(&p, m, 3, &g_req));
  /* After completion too: the views would point past the buffer. */
  static const char full[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  wasio_http_parser_init(&p);
  ASSERT_EQ_INT(wasio_http_parse_request(&p, full, sizeof full - 1, &g_req), sizeof full - 1);
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_parse_request(&p, full, sizeof full - 2, &g_req));
  ASSERT_EQ_INT(wasio_http_parse_request(&p, full, sizeof full - 1, &g_req), sizeof full - 1);
  /* A request parser is not a response parser. */
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_parse_response(&p, m, sizeof m - 1, 0, &g_res));
}

TEST(http_parser_empty_input_needs_more) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_parse_request(&p, NULL, 0, &g_req));
  ASSERT_WASIO(WASIO_EAGAIN, wasio_http_parse_request(&p, "\r\n\r\n", 4, &g_req));
}

TEST(http_parser_pipelined_heads) {
  static const char m[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\nHEAD /c HTTP/1.0\r\n\r\n";
  size_t off = 0;
  const char *want[] = {"/a", "/b", "/c"};
  for (int i = 0; i < 3; i++) {
    wasio_http_parser_t p;
    wasio_http_parser_init(&p);
    int rc = wasio_http_parse_request(&p, m + off, sizeof m - 1 - off, &g_req);
    ASSERT_GT_INT(rc, 0);
    ASSERT_STR_IS(g_req.target, want[i]);
    ASSERT_EQ_INT(g_req.framing.body, WASIO_HTTP_BODY_NONE);
    off += (size_t)rc;
  }
  ASSERT_EQ_INT(off, sizeof m - 1);
}

TEST(http_find_header_and_tokens) {
  static const char m[] = "GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nACCEPT: y\r\nConnection: Keep-Alive , Upgrade\r\n\r\n";
  ASSERT_TRUE(REQ(m, &g_req) > 0);
  size_t pos = 0;
  ASSERT_EQ_INT(wasio_http_find_header(g_req.headers, g_req.num_headers, "accept", &pos), 1);
  ASSERT_EQ_INT(wasio_http_find_header(g_req.headers, g_req.num_headers, "accept", &pos), 2);
  ASSERT_EQ_INT(wasio_http_find_header(g_req.headers, g_req.num_headers, "accept", &pos), -1);
  pos = 0;
  ASSERT_EQ_INT(wasio_http_find_header(g_req.headers, g_req.num_headers, "Missing", &pos), -1);
  ASSERT_TRUE(wasio_http_has_token(g_req.headers[3].value, "upgrade"));
  ASSERT_TRUE(wasio_http_has_token(g_req.headers[3].value, "keep-alive"));
  ASSERT_TRUE(!wasio_http_has_token(g_req.headers[3].value, "keep"));
  ASSERT_TRUE(!wasio_http_has_token(WASIO_HTTP_STR(""), "x"));
}

/* ---- responses ------------------------------------------------------------------------ */

TEST(http_resp_content_length) {
  static const char m[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello";
  ASSERT_EQ_INT(RESP(m, 0, &g_res), sizeof m - 1 - 5);
  ASSERT_EQ_INT(g_res.status, 200);
  ASSERT_STR_IS(g_res.reason, "OK");
  ASSERT_EQ_INT(g_res.version_minor, 1);
  ASSERT_EQ_INT(g_res.num_headers, 2);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_LENGTH);
  ASSERT_EQ_U64(g_res.framing.content_length, 5);
  ASSERT_TRUE(g_res.framing.keep_alive);
}

TEST(http_resp_close_delimited) {
  ASSERT_TRUE(RESP("HTTP/1.1 200 OK\r\nServer: t\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_CLOSE);
  ASSERT_TRUE(!g_res.framing.keep_alive);
  ASSERT_TRUE(RESP("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_CLOSE);
  ASSERT_TRUE(!g_res.framing.keep_alive);
}

TEST(http_resp_http10_keep_alive) {
  ASSERT_TRUE(RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, &g_res) > 0);
  ASSERT_TRUE(!g_res.framing.keep_alive);
  ASSERT_TRUE(RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", 0, &g_res) > 0);
  ASSERT_TRUE(g_res.framing.keep_alive);
  ASSERT_TRUE(RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", 0, &g_res) > 0);
  ASSERT_TRUE(!g_res.framing.keep_alive);
}

TEST(http_resp_chunked) {
  ASSERT_TRUE(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_CHUNKED);
  ASSERT_TRUE(g_res.framing.keep_alive);
}

TEST(http_resp_bodyless_statuses) {
  ASSERT_TRUE(RESP("HTTP/1.1 204 No Content\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_res.framing.keep_alive);
  ASSERT_TRUE(RESP("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_res.framing.has_content_length);
  ASSERT_EQ_U64(g_res.framing.content_length, 100);
  ASSERT_TRUE(RESP("HTTP/1.1 100 Continue\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.status, 100);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(!g_res.framing.upgrade);
  ASSERT_TRUE(RESP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_res.framing.upgrade);
}

TEST(http_resp_to_head_and_connect) {
  ASSERT_TRUE(RESP("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", WASIO_HTTP_RESPONSE_TO_HEAD, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_EQ_U64(g_res.framing.content_length, 1000);
  ASSERT_TRUE(g_res.framing.keep_alive);
  ASSERT_TRUE(RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", WASIO_HTTP_RESPONSE_TO_HEAD, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(RESP("HTTP/1.1 200 Connection established\r\n\r\n", WASIO_HTTP_RESPONSE_TO_CONNECT, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(g_res.framing.upgrade);
  ASSERT_TRUE(RESP("HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", WASIO_HTTP_RESPONSE_TO_CONNECT, &g_res) > 0);
  ASSERT_EQ_INT(g_res.framing.body, WASIO_HTTP_BODY_LENGTH);
  ASSERT_TRUE(!g_res.framing.upgrade);
}

TEST(http_resp_reason_forms) {
  ASSERT_TRUE(RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 0, &g_res) > 0);
  ASSERT_STR_IS(g_res.reason, "");
  ASSERT_TRUE(RESP("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 0, &g_res) > 0);
  ASSERT_STR_IS(g_res.reason, "");
  ASSERT_TRUE(RESP("HTTP/1.1 404 Not\tFound \xc3\xa9\r\nContent-Length: 0\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.status, 404);
  ASSERT_STR_IS(g_res.reason, "Not\tFound \xc3\xa9");
  ASSERT_TRUE(RESP("HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", 0, &g_res) > 0);
  ASSERT_EQ_INT(g_res.status, 999);
}

TEST(http_resp_bad_status_line) {
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 20 OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 2000 OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 099 Low\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 200OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 abc OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1 200 O\x01K\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_STATUS, "HTTP/1.1  200 OK\r\n\r\n");
}

TEST(http_resp_bad_version) {
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_VERSION, "HTTP/2 200 OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_VERSION, "HTTP/2.0 200 OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_VERSION, "ICY 200 OK\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_VERSION, "http/1.1 200 OK\r\n\r\n");
}

TEST(http_resp_smuggling_defences) {
  EXPECT_RESP_ERR(WASIO_EHTTP_CL_AND_TE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_TRANSFER_ENCODING, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_CONTENT_LENGTH_MISMATCH, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_CONTENT_LENGTH, "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_OBS_FOLD, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BARE_LF, "HTTP/1.1 200 OK\nContent-Length: 0\n\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BARE_CR, "HTTP/1.1 200 OK\r\nX: a\rContent-Length: 0\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_SPACE_BEFORE_COLON, "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n");
  EXPECT_RESP_ERR(WASIO_EHTTP_BAD_HEADER_VALUE, "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n");
  /* Even where no body is framed, conflicting framing is an attack sign. */
  EXPECT_RESP_ERR(WASIO_EHTTP_CL_AND_TE, "HTTP/1.1 204 No\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(http_resp_status_line_limit) {
  static char m[WASIO_HTTP_MAX_START_LINE + 64];
  memcpy(m, "HTTP/1.1 200 ", 13);
  memset(m + 13, 'r', WASIO_HTTP_MAX_START_LINE - 13);
  memcpy(m + WASIO_HTTP_MAX_START_LINE, "\r\nContent-Length: 0\r\n\r\n", 23);
  g_split_stride = 67;
  ASSERT_EQ_INT(parse_response_all(m, WASIO_HTTP_MAX_START_LINE + 23, 0, &g_res, __FILE__, __LINE__),
                WASIO_HTTP_MAX_START_LINE + 23);
  memcpy(m + WASIO_HTTP_MAX_START_LINE, "r\r\nContent-Length: 0\r\n\r\n", 24);
  ASSERT_WASIO(WASIO_EHTTP_START_LINE_TOO_LONG,
               parse_response_all(m, WASIO_HTTP_MAX_START_LINE + 24, 0, &g_res, __FILE__, __LINE__));
  g_split_stride = 1; /* every split again for the tests after this one */
}

/* Last in the file, so after every test above in a run of the program: no
 * test left a coarser split stride behind (the tests above used to, and
 * every parse after the first size-limit test tried only every 61st, then
 * every 331st split position). */
TEST(http_split_stride_left_at_one) { ASSERT_EQ_INT(g_split_stride, 1); }

/* The framing of fields that came from no parsed head (a host's wasi:http
 * request): the same rules and errors as a parsed request's. */
TEST(http_request_framing_of_fields) {
  wasio_http_framing_t f;
  const wasio_http_header_t cl[] = {{{"content-length", 14}, {"12", 2}}, {{"Expect", 6}, {"100-continue", 12}}};
  ASSERT_OK(wasio__http_request_framing(cl, 2, 1, &f));
  ASSERT_TRUE(f.has_content_length && f.content_length == 12 && f.body == WASIO_HTTP_BODY_LENGTH);
  ASSERT_TRUE(f.expect_continue && f.keep_alive);
  const wasio_http_header_t none[] = {{{"Accept", 6}, {"*/*", 3}}};
  ASSERT_OK(wasio__http_request_framing(none, 1, 1, &f));
  ASSERT_TRUE(!f.has_content_length && f.body == WASIO_HTTP_BODY_NONE && !f.expect_continue);
  const wasio_http_header_t te[] = {{{"Transfer-Encoding", 17}, {"chunked", 7}}};
  ASSERT_OK(wasio__http_request_framing(te, 1, 1, &f));
  ASSERT_TRUE(f.body == WASIO_HTTP_BODY_CHUNKED);
  const wasio_http_header_t two[] = {{{"Content-Length", 14}, {"1", 1}}, {{"Content-Length", 14}, {"2", 1}}};
  ASSERT_WASIO(WASIO_EHTTP_CONTENT_LENGTH_MISMATCH, wasio__http_request_framing(two, 2, 1, &f));
  const wasio_http_header_t bad[] = {{{"Content-Length", 14}, {"1x", 2}}};
  ASSERT_WASIO(WASIO_EHTTP_BAD_CONTENT_LENGTH, wasio__http_request_framing(bad, 1, 1, &f));
  const wasio_http_header_t both[] = {{{"Content-Length", 14}, {"1", 1}}, {{"Transfer-Encoding", 17}, {"chunked", 7}}};
  ASSERT_WASIO(WASIO_EHTTP_CL_AND_TE, wasio__http_request_framing(both, 2, 1, &f));
  const wasio_http_header_t gz[] = {{{"Transfer-Encoding", 17}, {"gzip", 4}}};
  ASSERT_WASIO(WASIO_EHTTP_BAD_TRANSFER_ENCODING, wasio__http_request_framing(gz, 1, 1, &f));
}
