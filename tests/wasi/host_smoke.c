/* tests/wasi/host_smoke.c: the hosts grant what wasio stands on.
 *
 * Component-only (raw WASI bindings, no libwasio), so a failure here points
 * at the toolchain or the host, not at wasio: a monotonic-clock pollable
 * waits 50 ms; ip-name-lookup resolves `localhost`; a TCP socket connects to
 * the native echo helper and exchanges a message. Each wait goes through
 * wasi:io/poll with a deadline pollable beside it, so nothing hangs.
 */
// wasio-test: net
// wasio-test: helper tests/helpers/echo_server.py
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "imports.h"

#define SMOKE_DEADLINE_NS (10ull * 1000000000ull)
#define SMOKE_MSG "hello over wasi:sockets\n"

/* Polls `p` together with a deadline clock; fails the test on expiry. */
static void wait_ready(wasi_io_poll_borrow_pollable_t p, const char *what) {
  wasi_io_poll_own_pollable_t deadline = wasi_clocks_monotonic_clock_subscribe_duration(SMOKE_DEADLINE_NS);
  wasi_io_poll_borrow_pollable_t list[2] = {p, wasi_io_poll_borrow_pollable(deadline)};
  wasi_io_poll_list_borrow_pollable_t in = {list, 2};
  imports_list_u32_t ready;
  wasi_io_poll_poll(&in, &ready);
  int ok = 0;
  for (size_t i = 0; i < ready.len; i++)
    if (ready.ptr[i] == 0) ok = 1;
  free(ready.ptr);
  wasi_io_poll_pollable_drop_own(deadline);
  if (!ok) harness_fail(__FILE__, __LINE__, "%s: not ready within 10 s", what);
}

TEST(clock_pollable_waits_50ms) {
  uint64_t t0 = wasi_clocks_monotonic_clock_now();
  wasi_io_poll_own_pollable_t p = wasi_clocks_monotonic_clock_subscribe_duration(50ull * 1000000ull);
  wait_ready(wasi_io_poll_borrow_pollable(p), "50 ms clock");
  wasi_io_poll_pollable_drop_own(p);
  uint64_t elapsed = wasi_clocks_monotonic_clock_now() - t0;
  ASSERT_GE_U64(elapsed, 50ull * 1000000ull);
  ASSERT_LE_U64(elapsed, 5000ull * 1000000ull);
}

TEST(localhost_resolves_and_tcp_echoes) {
  long port = harness_param_int("port", 0);
  ASSERT_GT_INT(port, 0);
  wasi_sockets_network_own_network_t net = wasi_sockets_instance_network_instance_network();
  wasi_sockets_network_borrow_network_t bnet = wasi_sockets_network_borrow_network(net);

  /* ip-name-lookup: drive the stream until it ends. */
  imports_string_t name;
  imports_string_set(&name, "localhost");
  wasi_sockets_ip_name_lookup_own_resolve_address_stream_t rs;
  wasi_sockets_ip_name_lookup_error_code_t err;
  ASSERT_TRUE(wasi_sockets_ip_name_lookup_resolve_addresses(bnet, &name, &rs, &err));
  wasi_sockets_ip_name_lookup_borrow_resolve_address_stream_t brs =
      wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(rs);
  wasi_io_poll_own_pollable_t rp = wasi_sockets_ip_name_lookup_method_resolve_address_stream_subscribe(brs);
  int have_v4 = 0, total = 0;
  wasi_sockets_network_ipv4_address_t v4 = {0};
  for (int guard = 0; guard < 1000; guard++) {
    wasi_sockets_ip_name_lookup_option_ip_address_t next;
    if (!wasi_sockets_ip_name_lookup_method_resolve_address_stream_resolve_next_address(brs, &next, &err)) {
      ASSERT_EQ_INT(err, WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK);
      wait_ready(wasi_io_poll_borrow_pollable(rp), "ip-name-lookup");
      continue;
    }
    if (!next.is_some) break;
    total++;
    if (next.val.tag == WASI_SOCKETS_NETWORK_IP_ADDRESS_IPV4 && !have_v4) {
      have_v4 = 1;
      v4 = next.val.val.ipv4;
    }
  }
  wasi_io_poll_pollable_drop_own(rp); /* the child before its stream */
  wasi_sockets_ip_name_lookup_resolve_address_stream_drop_own(rs);
  ASSERT_GT_INT(total, 0);
  ASSERT_TRUE(have_v4);
  ASSERT_EQ_INT(v4.f0, 127);

  /* TCP connect to the helper. */
  wasi_sockets_tcp_own_tcp_socket_t sock;
  ASSERT_TRUE(wasi_sockets_tcp_create_socket_create_tcp_socket(WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &sock, &err));
  wasi_sockets_tcp_borrow_tcp_socket_t bs = wasi_sockets_tcp_borrow_tcp_socket(sock);
  wasi_sockets_network_ip_socket_address_t addr = {.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4};
  addr.val.ipv4.port = (uint16_t)port;
  addr.val.ipv4.address = v4;
  ASSERT_TRUE(wasi_sockets_tcp_method_tcp_socket_start_connect(bs, bnet, &addr, &err));
  wasi_io_poll_own_pollable_t sp = wasi_sockets_tcp_method_tcp_socket_subscribe(bs);
  wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
  for (;;) {
    if (wasi_sockets_tcp_method_tcp_socket_finish_connect(bs, &streams, &err)) break;
    ASSERT_EQ_INT(err, WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK);
    wait_ready(wasi_io_poll_borrow_pollable(sp), "tcp connect");
  }
  wasi_io_poll_pollable_drop_own(sp);

  /* Write within the check-write permit, then read the echo back. */
  wasi_io_streams_borrow_output_stream_t out = wasi_io_streams_borrow_output_stream(streams.f1);
  wasi_io_streams_borrow_input_stream_t in = wasi_io_streams_borrow_input_stream(streams.f0);
  wasi_io_poll_own_pollable_t op = wasi_io_streams_method_output_stream_subscribe(out);
  wasi_io_poll_own_pollable_t ip = wasi_io_streams_method_input_stream_subscribe(in);
  wasi_io_streams_stream_error_t serr;
  size_t len = strlen(SMOKE_MSG), sent = 0;
  while (sent < len) {
    uint64_t permit = 0;
    ASSERT_TRUE(wasi_io_streams_method_output_stream_check_write(out, &permit, &serr));
    if (permit == 0) {
      wait_ready(wasi_io_poll_borrow_pollable(op), "output stream");
      continue;
    }
    size_t n = len - sent < permit ? len - sent : (size_t)permit;
    imports_list_u8_t chunk = {(uint8_t *)SMOKE_MSG + sent, n};
    ASSERT_TRUE(wasi_io_streams_method_output_stream_write(out, &chunk, &serr));
    sent += n;
  }
  ASSERT_TRUE(wasi_io_streams_method_output_stream_flush(out, &serr));
  char got[64] = {0};
  size_t have = 0;
  while (have < len) {
    imports_list_u8_t data;
    ASSERT_TRUE(wasi_io_streams_method_input_stream_read(in, sizeof got - 1 - have, &data, &serr));
    if (data.len == 0) { /* nothing yet, not the end */
      wait_ready(wasi_io_poll_borrow_pollable(ip), "input stream");
      continue;
    }
    memcpy(got + have, data.ptr, data.len);
    have += data.len;
    free(data.ptr);
  }
  ASSERT_EQ_STR(got, SMOKE_MSG);
  /* Children before parents: pollables, then streams, then the socket. */
  wasi_io_poll_pollable_drop_own(ip);
  wasi_io_poll_pollable_drop_own(op);
  wasi_io_streams_input_stream_drop_own(streams.f0);
  wasi_io_streams_output_stream_drop_own(streams.f1);
  wasi_sockets_tcp_tcp_socket_drop_own(sock);
  wasi_sockets_network_network_drop_own(net);
}
