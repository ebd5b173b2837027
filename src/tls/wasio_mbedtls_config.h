/* src/tls/wasio_mbedtls_config.h: the mbedTLS 3.6 configuration wasio
 * builds (MBEDTLS_CONFIG_FILE), the same for the component (wasm32) and
 * natively (the tests, under ASan+UBSan; the release library).
 *
 * Only what wasio's TLS needs: TLS 1.3 and 1.2, client and server; key
 * exchange with X25519 or P-256 (ECDHE; P-384 for certificate signatures,
 * which real chains use); ECDSA and RSA signatures (PKCS#1 v1.5 and PSS);
 * AES-GCM and ChaCha20-Poly1305 records; X.509 parsing and verification;
 * SNI, ALPN, session tickets (1.3 and 1.2) and the 1.2 session cache.
 *
 * What mbedTLS must not do on its own, because a component has none of it
 * or wasio does it itself: no sockets (the engine is sans-I/O: its
 * transport callbacks move bytes in memory), no threads, no file system
 * (certificates and keys come as PEM bytes), no entropy source of its own
 * (MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG: every random byte comes from
 * getentropy(), i.e. wasi:random in a component, getrandom(2)
 * natively), and the time from the wall clock (wasi:clocks/wall-clock in a
 * component) through the two time hooks below. src/tls/mbedtls/platform_hooks.c,
 * compiled into libmbedtls.a, defines the functions the options below ask
 * for (mbedtls_psa_external_get_random, mbedtls_ms_time,
 * mbedtls_hardware_poll); wasio's engine glue sets the time() replacement
 * to wasio_wall_clock at run time.
 *
 * libcurl (-lcurl, the curl tool: issue 13) links this same library, so
 * the few modules its mbedTLS backend needs are here too, at the end. They
 * cost wasio's own components nothing: wasm-ld keeps only what a program
 * calls (wasio-fetch.wasm is the same size with and without them).
 *
 * Not here, on purpose: 0-RTT (MBEDTLS_SSL_EARLY_DATA: replayable data, see
 * wasio/tls.h), renegotiation, CBC and other legacy suites, static RSA key
 * exchange, finite-field DHE, DTLS, PSK-only modes, SHA-1 and MD5 other
 * than what X.509 needs to recognise (and refuse) a SHA-1 signature, and
 * the debug and error-string modules (wasio maps errors itself).
 */
#ifndef WASIO_MBEDTLS_CONFIG_H
#define WASIO_MBEDTLS_CONFIG_H

/* ---- platform: what a component has ------------------------------------------------- */
/* The time hooks below need the platform module. mbedTLS allocates with
 * the C library's calloc and free, outside wasio's allocation count (and
 * outside the allocation-failure tests, which sweep wasio's own
 * allocations, not the thousands a handshake's big-number code makes). */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
/* time() and the millisecond clock come from the glue (wasio_wall_clock). */
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_MS_TIME_ALT
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* Secrets are wiped by src/tls/mbedtls/platform_hooks.c (plain stores, no
 * call to memset: in a component that is a call into the runtime). */
#define MBEDTLS_PLATFORM_ZEROIZE_ALT
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#define MBEDTLS_DEPRECATED_REMOVED
/* x86-64 assembly and AES-NI natively (probed at run time); nothing of
 * either exists for wasm32, where the portable C code runs. */
#if !defined(__wasm__)
#define MBEDTLS_HAVE_ASM
#else
/* 64-bit limbs for the big numbers in wasm32 (mbedTLS picks 32-bit ones for
 * an architecture it does not know; forcing 64 is its documented switch).
 * WebAssembly has 64-bit integer instructions but no 64x64->128 multiply,
 * so each limb product still takes four i64.mul of 32-bit halves, as with
 * 32-bit limbs; what halves is everything around them (loop iterations,
 * loads, stores, carries). Measured with mbedTLS's PSA calls under wasmtime
 * (docs/TLS.md): X25519, P-256 ECDH, ECDSA sign and verify 1.5x faster. */
#define MBEDTLS_HAVE_INT64
/* WebAssembly loads and stores at any alignment, and engines on the
 * 64-bit hosts it runs on compile them to plain unaligned accesses; mbedTLS
 * knows that only of x86 and Arm (library/alignment.h) and otherwise XORs
 * keystreams and reads words one byte at a time. */
#define MBEDTLS_EFFICIENT_UNALIGNED_ACCESS
#endif
#define MBEDTLS_AESNI_C

/* ---- PSA crypto: TLS 1.3 (and 1.2 here) runs its cryptography through it ------------ */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_USE_PSA_CRYPTO
/* One key slot set per process that grows with the connections (each holds
 * a few keys), instead of a fixed count that a busy server would exhaust. */
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC
/* PSA calls work on the caller's buffers: no copy of every record in and
 * out (a malloc, two copies, a wipe and a free per record). The copies
 * guard buffers in memory shared with another party; a wasio program's
 * memory is its own, and mbedTLS's TLS code decrypts records in place,
 * which the built-in AEADs (GCM, ChaCha20-Poly1305) support. */
#define MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS

/* ---- symmetric cryptography and hashes ---------------------------------------------- */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
/* AES tables as constants (no table generation at run time), and no AES
 * decryption: GCM only ever encrypts the counter. */
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_BLOCK_CIPHER_NO_DECRYPT
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
/* Only so that X.509 recognises a SHA-1 signature and the verification
 * profile refuses it with its own reason (MBEDTLS_X509_BADCERT_BAD_MD)
 * instead of an unparsable certificate; no protocol step uses SHA-1. */
#define MBEDTLS_SHA1_C
#define MBEDTLS_HKDF_C

/* ---- public-key cryptography ---------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

/* ---- X.509 ------------------------------------------------------------------------------ */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
/* Trust anchors are looked up by the child's issuer when a chain is
 * verified (mbedtls_ssl_conf_ca_cb), so the built-in Mozilla roots stay
 * DER constants and only the one a chain needs is ever parsed. */
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK

/* ---- TLS -------------------------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
/* Resumption by ticket with a fresh (EC)DHE exchange (forward secrecy);
 * the PSK-only mode is left out. */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
#define MBEDTLS_SSL_CACHE_C
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES

/* ---- for libcurl's mbedTLS backend (lib/vtls/mbedtls.c) --------------------------------- */
/* curl seeds a CTR_DRBG from the entropy module for its handshakes and
 * random numbers; the entropy module's one source is the hook above
 * (MBEDTLS_ENTROPY_HARDWARE_ALT: getentropy()). wasio's glue uses neither. */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_CTR_DRBG_C
/* curl reads its CA bundle (--cacert, CURLOPT_CAINFO: a file of a preopened
 * directory in a component) with mbedtls_x509_crt_parse_file. */
#define MBEDTLS_FS_IO
/* curl's MD5 (HTTP Digest authentication) calls mbedTLS's when built with
 * it. (NTLM, which would want DES too, is left out of curl instead.) */
#define MBEDTLS_MD5_C

#endif
