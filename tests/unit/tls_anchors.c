/* tests/unit/tls_anchors.c: the build-time trust anchors, PEM decoding
 * and the sans-I/O engine's first flight (no network).
 *
 * The anchors that tools/mkanchors (Python, its own DER parser) generated
 * are checked one by one against what mbedTLS's X.509 parser makes of the
 * same bundle at run time: same count, same Name bytes, same
 * SubjectPublicKeyInfo bytes; and every anchor must become a CA
 * certificate that mbedTLS takes as a parent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mbedtls/platform.h"
#include "tls/mbedtls_internal.h"

extern const size_t wasio__tls_mozilla_anchors_pem_count;
extern const size_t wasio__tls_mozilla_anchors_skipped;

/* The bundle the Makefile's CA_BUNDLE names by default. */
#define TLS_TEST_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define TLS_TEST_BUNDLE_MAX (4u << 20)
#define TLS_TEST_DN_MAX 2048
#define TLS_TEST_HELLO_MAX 4096

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) harness_skip("%s not readable", path);
  char *buf = malloc(TLS_TEST_BUNDLE_MAX + 1);
  ASSERT_TRUE(buf != NULL);
  *len = fread(buf, 1, TLS_TEST_BUNDLE_MAX, f);
  fclose(f);
  ASSERT_TRUE(*len < TLS_TEST_BUNDLE_MAX);
  buf[*len] = 0;
  return buf;
}

typedef struct {
  size_t index;     /* next generated anchor to compare with */
  size_t seen, unsupported;
} cmp_state_t;

static int compare_one(void *arg, const char *name, const uint8_t *der, size_t len) {
  cmp_state_t *st = arg;
  ASSERT_EQ_STR(name, "CERTIFICATE");
  st->seen++;
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  /* mbedTLS parses only keys it can use: RSA, and EC on the curves wasio's
   * configuration has (P-256, P-384). */
  if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0) {
    mbedtls_x509_crt_free(&crt);
    st->unsupported++;
    return 0;
  }
  ASSERT_LT_INT(st->index, wasio__tls_mozilla_anchors_count);
  const wasio__tls_anchor_t *ta = &wasio__tls_mozilla_anchors[st->index++];
  ASSERT_GT_INT(ta->dn_len, 2); /* a non-empty Name SEQUENCE */
  ASSERT_EQ_INT(ta->dn_len, crt.subject_raw.len);
  ASSERT_EQ_MEM(ta->dn, crt.subject_raw.p, ta->dn_len);
  ASSERT_EQ_INT(ta->spki_len, crt.pk_raw.len);
  ASSERT_EQ_MEM(ta->spki, crt.pk_raw.p, ta->spki_len);
  mbedtls_x509_crt_free(&crt);
  return 0;
}

/* Every built-in anchor, looked up through mbedTLS's CA callback for a
 * child it issued, comes back as a CA certificate with the anchor's name
 * and key. */
TEST(tls_anchors_become_ca_certificates) {
  wasio_tls_config_t *cfg;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  for (size_t i = 0; i < wasio__tls_mozilla_anchors_count; i++) {
    const wasio__tls_anchor_t *ta = &wasio__tls_mozilla_anchors[i];
    mbedtls_x509_crt child;
    mbedtls_x509_crt_init(&child);
    child.issuer_raw.p = (unsigned char *)ta->dn;
    child.issuer_raw.len = ta->dn_len;
    mbedtls_x509_crt *cands = NULL;
    ASSERT_EQ_INT(wasio__tls_ca_cb(cfg, &child, &cands), 0);
    ASSERT_TRUE(cands != NULL);
    bool found = false;
    for (const mbedtls_x509_crt *c = cands; c != NULL; c = c->next) {
      ASSERT_EQ_INT(c->subject_raw.len, ta->dn_len);
      ASSERT_EQ_MEM(c->subject_raw.p, ta->dn, ta->dn_len);
      ASSERT_TRUE(c->MBEDTLS_PRIVATE(ca_istrue));
      if (c->pk_raw.len == ta->spki_len && memcmp(c->pk_raw.p, ta->spki, ta->spki_len) == 0) found = true;
    }
    ASSERT_TRUE(found);
    mbedtls_x509_crt_free(cands);
    mbedtls_free(cands);
  }
  /* Without the system roots, nothing is offered. */
  ASSERT_OK(wasio_tls_config_system_roots(cfg, false));
  mbedtls_x509_crt child;
  mbedtls_x509_crt_init(&child);
  child.issuer_raw.p = (unsigned char *)wasio__tls_mozilla_anchors[0].dn;
  child.issuer_raw.len = wasio__tls_mozilla_anchors[0].dn_len;
  mbedtls_x509_crt *cands = NULL;
  ASSERT_EQ_INT(wasio__tls_ca_cb(cfg, &child, &cands), 0);
  ASSERT_TRUE(cands == NULL);
  ASSERT_OK(wasio_tls_config_free(cfg));
}


/* The generated anchors are what mbedTLS's parser reads. */
TEST(tls_anchors_match_library_decoder) {
  size_t len;
  char *pem = read_file(TLS_TEST_CA_BUNDLE, &len);
  /* Count the blocks as text, independently of any decoder. */
  size_t blocks = 0;
  for (const char *p = pem; (p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL; p++) blocks++;
  ASSERT_GT_INT(blocks, 100); /* the Mozilla roots: about 140 */
  ASSERT_EQ_INT(wasio__tls_mozilla_anchors_pem_count, blocks);
  ASSERT_EQ_INT(wasio__tls_mozilla_anchors_count + wasio__tls_mozilla_anchors_skipped, blocks);
  cmp_state_t st = {0, 0, 0};
  ASSERT_EQ_INT(wasio__tls_pem_each(pem, len, compare_one, &st), (int)blocks);
  ASSERT_EQ_INT(st.seen, blocks);
  ASSERT_EQ_INT(st.index, wasio__tls_mozilla_anchors_count);
  ASSERT_EQ_INT(st.unsupported, wasio__tls_mozilla_anchors_skipped);
  /* The run-time path (a user CA bundle) takes the same bundle whole. */
  wasio_tls_config_t *cfg;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  ASSERT_EQ_INT(wasio_tls_config_add_ca_pem(cfg, pem, len), (int)wasio__tls_mozilla_anchors_count);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(pem);
}

TEST(tls_pem_rejects_garbage) {
  wasio_tls_config_t *cfg;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  ASSERT_WASIO(WASIO_ETLS_PEM, wasio_tls_config_add_ca_pem(cfg, "", 0));
  ASSERT_WASIO(WASIO_ETLS_PEM, wasio_tls_config_add_ca_pem(cfg, "hello\n", 6));
  const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  ASSERT_WASIO(WASIO_ETLS_PEM, wasio_tls_config_add_ca_pem(cfg, bad, strlen(bad)));
  const char *open_only = "-----BEGIN CERTIFICATE-----\nAAAA\n";
  ASSERT_WASIO(WASIO_ETLS_PEM, wasio_tls_config_add_ca_pem(cfg, open_only, strlen(open_only)));
  ASSERT_EQ_INT(cfg->user_ta_n, 0); /* all or nothing */
  ASSERT_OK(wasio_tls_config_free(cfg));
}

/* The ClientHello bytes of a fresh client engine for `host`. */
static size_t hello_for(wasio_tls_config_t *cfg, const char *host, uint8_t *out, size_t cap) {
  wasio_tls_engine_t *e;
  ASSERT_OK(wasio_tls_engine_new(cfg, host, 443, &e));
  ASSERT_EQ_INT(wasio_tls_engine_state(e) & (WASIO_TLS_SEND_CIPHER | WASIO_TLS_SEND_PLAIN),
                WASIO_TLS_SEND_CIPHER); /* a hello to send, no application data yet */
  size_t n = wasio_tls_engine_pull_cipher(e, out, cap);
  ASSERT_GT_INT(n, 5);
  ASSERT_EQ_INT(out[0], 22); /* handshake record */
  ASSERT_EQ_INT(out[5], 1);  /* ClientHello */
  /* TCP ended before any answer: the peer hung up, not a truncation. */
  ASSERT_WASIO(WASIO_ECONNRESET, wasio_tls_engine_transport_eof(e));
  ASSERT_EQ_INT(wasio_tls_engine_state(e), WASIO_TLS_CLOSED);
  wasio_tls_engine_free(e);
  return n;
}

static bool contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(hay + i, needle, k) == 0) return true;
  return false;
}

TEST(tls_client_hello_sni_and_alpn) {
  wasio_tls_config_t *cfg;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  const char *alpn[] = {"http/1.1"};
  ASSERT_OK(wasio_tls_config_alpn(cfg, alpn, 1));
  uint8_t hello[TLS_TEST_HELLO_MAX];
  size_t n = hello_for(cfg, "www.example.org", hello, sizeof hello);
  ASSERT_TRUE(contains(hello, n, "www.example.org")); /* SNI */
  ASSERT_TRUE(contains(hello, n, "http/1.1"));        /* ALPN */
  /* RFC 6066: no SNI for an address. */
  n = hello_for(cfg, "192.0.2.7", hello, sizeof hello);
  ASSERT_TRUE(!contains(hello, n, "192.0.2.7"));
  n = hello_for(cfg, "2001:db8::1", hello, sizeof hello);
  ASSERT_TRUE(!contains(hello, n, "2001:db8::1"));
  ASSERT_OK(wasio_tls_config_free(cfg));
}

TEST(tls_config_errors) {
  wasio_tls_config_t *cli, *srv;
  wasio_tls_engine_t *e = NULL;
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_config_new((wasio_tls_role_t)3, &cli));
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cli));
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_SERVER, &srv));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_engine_new(cli, NULL, 443, &e));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_engine_new(cli, "", 443, &e));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_engine_new(srv, NULL, 0, &e)); /* no certificate */
  char host[WASIO_TLS_MAX_HOST + 2];
  memset(host, 'a', sizeof host - 1);
  host[sizeof host - 1] = 0;
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_tls_engine_new(cli, host, 443, &e));
  const char *too_many[WASIO_TLS_MAX_ALPN + 1] = {"a", "b", "c", "d", "e"};
  ASSERT_WASIO(WASIO_ELIMIT, wasio_tls_config_alpn(cli, too_many, WASIO_TLS_MAX_ALPN + 1));
  const char *empty[] = {""};
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_config_alpn(cli, empty, 1));
  uint8_t pin[32] = {0};
  for (int i = 0; i < WASIO_TLS_MAX_PINS; i++) ASSERT_OK(wasio_tls_config_pin_sha256(cli, WASIO_TLS_PIN_CERT, pin));
  ASSERT_WASIO(WASIO_ELIMIT, wasio_tls_config_pin_sha256(cli, WASIO_TLS_PIN_CERT, pin));
  /* A config in use cannot change or go away. */
  ASSERT_OK(wasio_tls_engine_new(cli, "example.org", 443, &e));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tls_config_insecure(cli, true));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tls_config_free(cli));
  wasio_tls_engine_free(e);
  ASSERT_WASIO(WASIO_ETLS_PEM, wasio_tls_config_cert_pem(srv, "x", 1, "y", 1));
  ASSERT_OK(wasio_tls_config_free(cli));
  ASSERT_OK(wasio_tls_config_free(srv));
}
