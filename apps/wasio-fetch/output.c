/* apps/wasio-fetch/output.c: what wasio-fetch prints besides the body.
 *
 * The progress meter has curl's layout (the two header lines, then one line
 * redrawn with "\r" at most once a second and once at the end), goes to
 * stderr, and is on unless -s/--no-progress-meter or the body goes to a
 * terminal: curl's rule, so `wasio-fetch -o FILE URL 2>log` logs it as curl
 * does. Sizes take five columns (12345, 1234k, 12.3M, ...), times eight
 * (--:--:-- when unknown). -# draws a bar instead.
 *
 * -w prints its format after the transfer (also after a failure, with
 * %{exitcode} and %{errormsg} telling why), to stdout or, after
 * %{stderr}, to stderr. An unknown variable is warned about and prints
 * nothing, as in curl.
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fetch.h"

/* ---- the progress meter ------------------------------------------------------ */

/* A size in five columns. */
static const char *size5(uint64_t n, char out[6]) {
  const uint64_t K = 1024, M = K * K, G = M * K, T = G * K;
  if (n < 100000) snprintf(out, 6, "%5u", (unsigned)n);
  else if (n < 10000 * K) snprintf(out, 6, "%4uk", (unsigned)(n / K));
  else if (n < 100 * M) snprintf(out, 6, "%2u.%uM", (unsigned)(n / M), (unsigned)((n % M) / (M / 10)));
  else if (n < 10000 * M) snprintf(out, 6, "%4uM", (unsigned)(n / M));
  else if (n < 100 * G) snprintf(out, 6, "%2u.%uG", (unsigned)(n / G), (unsigned)((n % G) / (G / 10)));
  else if (n < 10000 * G) snprintf(out, 6, "%4uG", (unsigned)(n / G));
  else if (n < 10000 * T) snprintf(out, 6, "%4uT", (unsigned)(n / T));
  else snprintf(out, 6, "%4uP", (unsigned)(n / (T * K)));
  return out;
}

/* A duration in eight columns. */
static const char *time8(uint64_t secs, char out[9]) {
  if (secs == 0) {
    memcpy(out, "--:--:--", 9);
  } else if (secs / 3600 <= 99) {
    snprintf(out, 9, "%2u:%02u:%02u", (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
  } else if (secs / 86400 <= 999) {
    snprintf(out, 9, "%3ud %02uh", (unsigned)(secs / 86400), (unsigned)(secs / 3600 % 24));
  } else {
    snprintf(out, 9, "%7ud", (unsigned)(secs / 86400 > 9999999 ? 9999999 : secs / 86400));
  }
  return out;
}

void progress_begin(fetch_t *f) {
  progress_t *p = &f->prog;
  memset(p, 0, sizeof *p);
  /* The body to a terminal: no meter (it would be drawn into the body). */
  bool body_to_tty = f->out_is_stdout && isatty(1);
  p->on = !f->silent && !f->no_progress && !body_to_tty;
  p->started = wasio_monotonic_ns();
}

static void bar_draw(fetch_t *f, uint64_t got, uint64_t expected, bool final) {
  const int width = 72;
  /* An unknown size is whole only at a successful end (no error message yet). */
  double frac = expected ? (double)got / (double)expected : (final && f->errmsg[0] == 0 ? 1.0 : 0.0);
  if (frac > 1) frac = 1;
  int fill = (int)(frac * width);
  char bar[80];
  memset(bar, '#', (size_t)fill);
  memset(bar + fill, ' ', (size_t)(width - fill));
  bar[width] = 0;
  fprintf(stderr, "\r%s %5.1f%%", bar, frac * 100);
  if (final) fputc('\n', stderr);
}

void progress_update(fetch_t *f, bool final) {
  progress_t *p = &f->prog;
  if (!p->on || p->ended) return;
  uint64_t now = wasio_monotonic_ns();
  if (!final && p->header_done && now - p->last_draw < FETCH_PROGRESS_INTERVAL_NS) return;
  p->last_draw = now;
  uint64_t dl = f->hop.body_bytes, ul = f->size_upload;
  uint64_t dl_total = f->hop.has_length && !f->hop.discard ? f->hop.content_length + f->resume_offset : 0;
  if (f->resume_offset && f->hop.has_length) dl += f->resume_offset;
  uint64_t ul_total = f->hop.with_body ? (f->body.fp ? f->body.file_len : f->body.mem_len) : 0;
  p->ended = final;
  if (f->progress_bar) {
    bar_draw(f, dl + ul, dl_total + ul_total, final);
    return;
  }
  if (!p->header_done) {
    fputs("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
          "                                 Dload  Upload   Total   Spent    Left  Speed\n",
          stderr);
    p->header_done = true;
  }
  /* One sample a second, six kept: the current speed is over the last five. */
  if (p->samples == 0 || now - p->sample_t[(p->samples - 1) % 6] >= WASIO_NS_PER_S || final) {
    p->sample_t[p->samples % 6] = now;
    p->sample_b[p->samples % 6] = dl + ul;
    p->samples++;
  }
  int oldest = p->samples > 6 ? p->samples - 6 : 0;
  uint64_t dt = now - p->sample_t[oldest % 6];
  uint64_t cur = dt ? (uint64_t)((double)(dl + ul - p->sample_b[oldest % 6]) * 1e9 / (double)dt) : 0;
  double spent = (double)(now - p->started) / 1e9;
  uint64_t dl_speed = spent > 0 ? (uint64_t)((double)f->hop.body_bytes / spent) : 0;
  uint64_t ul_speed = spent > 0 ? (uint64_t)((double)ul / spent) : 0;
  if (cur == 0 && p->samples <= 1) cur = dl_speed + ul_speed;
  uint64_t total = dl_total + ul_total, done = dl + ul;
  uint64_t speed = dl_speed + ul_speed;
  uint64_t t_total = total && speed ? total / speed : 0;
  uint64_t t_spent = (uint64_t)spent;
  uint64_t t_left = t_total > t_spent ? t_total - t_spent : 0;
  char a[6], b[6], c[6], d[6], e[6], g[6], t1[9], t2[9], t3[9];
  fprintf(stderr, "\r%3u %s  %3u %s  %3u %s  %s  %s %s %s %s %s",
          (unsigned)(total ? done * 100 / total : 0), size5(total, a),
          (unsigned)(dl_total ? dl * 100 / dl_total : 0), size5(dl, b),
          (unsigned)(ul_total ? ul * 100 / ul_total : 0), size5(ul, c), size5(dl_speed, d), size5(ul_speed, e),
          total && speed ? time8(t_total, t1) : "--:--:--", time8(t_spent, t2),
          total && speed && t_total > t_spent ? time8(t_left, t3) : "--:--:--", size5(cur, g));
  if (final) fputc('\n', stderr);
}

/* ---- -v ------------------------------------------------------------------------- */

/* Each CRLF-terminated line of text, prefixed (as curl, the CRs are kept). */
void verbose_lines(const char *prefix, const char *text, size_t len) {
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) + 1 : len;
    fprintf(stderr, "%s%.*s", prefix, (int)(end - i), text + i);
    if (nl == NULL) fputc('\n', stderr);
    i = end;
  }
}

/* ---- -w ------------------------------------------------------------------------- */

/* Prints the value of field `name` of the last head (f->last_head, kept as
 * -i prints it); false when there is none. */
static bool header_value(const fetch_t *f, const char *name, size_t nl, FILE *out) {
  const char *h = f->last_head;
  if (h == NULL) return false;
  /* skip the status line */
  const char *line = strstr(h, "\r\n");
  while (line != NULL && line[2] != 0 && !(line[2] == '\r')) {
    line += 2;
    const char *colon = strchr(line, ':');
    const char *end = strstr(line, "\r\n");
    if (colon != NULL && end != NULL && colon < end && (size_t)(colon - line) == nl &&
        strncasecmp(line, name, nl) == 0) {
      const char *v = colon + 1;
      while (v < end && *v == ' ') v++;
      fwrite(v, 1, (size_t)(end - v), out);
      return true;
    }
    line = end;
  }
  return false;
}

static bool var_is(const char *p, size_t len, const char *name) { return len == strlen(name) && !memcmp(p, name, len); }

void write_out(fetch_t *f, int code) {
  const char *s = f->write_out;
  if (s == NULL) return;
  FILE *out = stdout;
  double total = (double)(wasio_monotonic_ns() - f->t_start) / 1e9;
  for (; *s; s++) {
    if (*s == '\\' && (s[1] == 'n' || s[1] == 'r' || s[1] == 't')) {
      fputc(s[1] == 'n' ? '\n' : s[1] == 'r' ? '\r' : '\t', out);
      s++;
      continue;
    }
    if (*s != '%') {
      fputc(*s, out);
      continue;
    }
    if (s[1] == '%') {
      fputc('%', out);
      s++;
      continue;
    }
    if (!strncmp(s + 1, "header{", 7)) {
      const char *end = strchr(s + 8, '}');
      if (end == NULL) {
        fputc('%', out);
        continue;
      }
      header_value(f, s + 8, (size_t)(end - s - 8), out);
      s = end;
      continue;
    }
    if (s[1] != '{' || strchr(s + 2, '}') == NULL) {
      fputc('%', out);
      continue;
    }
    const char *v = s + 2, *end = strchr(v, '}');
    size_t n = (size_t)(end - v);
    s = end;
    const hop_t *h = &f->hop;
    if (var_is(v, n, "http_code") || var_is(v, n, "response_code")) fprintf(out, "%03d", f->http_code);
    else if (var_is(v, n, "size_download")) fprintf(out, "%llu", (unsigned long long)f->size_download);
    else if (var_is(v, n, "size_header")) fprintf(out, "%llu", (unsigned long long)f->size_header);
    else if (var_is(v, n, "size_upload")) fprintf(out, "%llu", (unsigned long long)f->size_upload);
    else if (var_is(v, n, "time_total")) fprintf(out, "%.6f", total);
    else if (var_is(v, n, "speed_download"))
      fprintf(out, "%llu", (unsigned long long)(total > 0 ? (double)f->size_download / total : 0));
    else if (var_is(v, n, "url_effective") || var_is(v, n, "url")) fputs(h->url ? h->url : f->url ? f->url : f->url_arg, out);
    else if (var_is(v, n, "redirect_url")) fputs(f->redirect_url ? f->redirect_url : "", out);
    else if (var_is(v, n, "content_type")) fputs(f->content_type, out);
    else if (var_is(v, n, "num_redirects")) fprintf(out, "%d", f->num_redirects);
    else if (var_is(v, n, "method")) fputs(h->method ? h->method : "", out);
    else if (var_is(v, n, "scheme")) fputs(h->url ? (h->u.https ? "HTTPS" : "HTTP") : "", out);
    else if (var_is(v, n, "http_version")) fputs(f->last_head ? (f->last_head[7] == '0' ? "1.0" : "1.1") : "0", out);
    else if (var_is(v, n, "exitcode")) fprintf(out, "%d", code);
    else if (var_is(v, n, "errormsg")) fputs(code ? f->errmsg : "", out);
    else if (var_is(v, n, "filename_effective")) fputs(f->out_name && !f->out_is_stdout ? f->out_name : "", out);
    else if (var_is(v, n, "stderr")) out = stderr;
    else if (var_is(v, n, "stdout")) out = stdout;
    else fprintf(stderr, "wasio-fetch: unknown --write-out variable: '%.*s'\n", (int)n, v);
  }
  fflush(stdout);
}
