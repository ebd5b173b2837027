/* apps/wasio-fetch/cookies.c: -b, curl's way.
 *
 * -b NAME=VALUE (any argument with '=') is sent as it is in a Cookie field.
 * -b FILE reads a Netscape cookie file (the format curl -c writes: domain,
 * include-subdomains, path, secure, expiry, name, value, TAB-separated;
 * "#HttpOnly_" prefixes kept) and turns the cookie engine on: cookies the
 * server sets (Set-Cookie) are then kept for the following requests of
 * the same run, i.e. the redirects -L follows. A FILE that cannot be read
 * gives an empty engine, as in curl (hence the idiom -b ''). What is sent:
 * the unexpired cookies whose domain and path match the request, secure ones
 * only over https or to a loopback host (curl treats those as secure too),
 * longest path first, then longest domain, longest name, newest (curl's
 * order); then the NAME=VALUE text. Not done: writing a jar (-c), public-suffix checks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch.h"

struct cookie {
  char *name, *value, *domain, *path; /* one allocation, at name */
  bool tailmatch;                     /* the domain's subdomains match too */
  bool secure;
  int64_t expires;                    /* Unix seconds; 0: this session */
  unsigned order;
};

static int64_t now_s(void) {
  uint64_t s;
  uint32_t ns;
  wasio_wall_clock(&s, &ns);
  return (int64_t)s;
}

static void cookie_free(cookie_t *c) { free(c->name); }

/* Adds or replaces (same name, domain and path); an expired one only
 * removes. The strings are copied. */
static int jar_put(cookie_jar_t *jar, const char *name, size_t nl, const char *value, size_t vl, const char *domain,
                   size_t dl, const char *path, size_t pl, bool tailmatch, bool secure, int64_t expires) {
  while (dl && domain[0] == '.') domain++, dl--;
  for (size_t i = 0; i < jar->n; i++) {
    cookie_t *c = &jar->list[i];
    if (strlen(c->name) == nl && !memcmp(c->name, name, nl) && strlen(c->domain) == dl &&
        !strncasecmp(c->domain, domain, dl) && strlen(c->path) == pl && !memcmp(c->path, path, pl)) {
      cookie_free(c);
      jar->list[i] = jar->list[--jar->n];
      break;
    }
  }
  if (expires != 0 && expires <= now_s()) return 0;
  if (jar->n == FETCH_MAX_COOKIES) return -1;
  if (jar->list == NULL) {
    jar->list = calloc(FETCH_MAX_COOKIES, sizeof *jar->list);
    if (jar->list == NULL) return -1;
  }
  char *mem = malloc(nl + vl + dl + pl + 4);
  if (mem == NULL) return -1;
  cookie_t *c = &jar->list[jar->n];
  c->name = mem;
  memcpy(mem, name, nl);
  mem[nl] = 0;
  c->value = mem + nl + 1;
  memcpy(c->value, value, vl);
  c->value[vl] = 0;
  c->domain = c->value + vl + 1;
  memcpy(c->domain, domain, dl);
  c->domain[dl] = 0;
  c->path = c->domain + dl + 1;
  memcpy(c->path, path, pl);
  c->path[pl] = 0;
  c->tailmatch = tailmatch;
  c->secure = secure;
  c->expires = expires;
  c->order = jar->next_order++;
  jar->n++;
  return 0;
}

/* One line of a Netscape cookie file. */
static int load_line(cookie_jar_t *jar, char *line) {
  if (!strncmp(line, "#HttpOnly_", 10)) line += 10;
  else if (line[0] == '#' || line[0] == 0) return 0;
  char *field[7] = {0};
  int n = 0;
  for (char *p = line; n < 7; n++) {
    field[n] = p;
    char *tab = strchr(p, '\t');
    if (tab == NULL) {
      n++;
      break;
    }
    *tab = 0;
    p = tab + 1;
  }
  if (n < 6) return 0; /* not a cookie line */
  const char *value = n == 7 ? field[6] : "";
  return jar_put(jar, field[5], strlen(field[5]), value, strlen(value), field[0], strlen(field[0]), field[2],
                 strlen(field[2]), !strcasecmp(field[1], "TRUE"), !strcasecmp(field[3], "TRUE"),
                 strtoll(field[4], NULL, 10));
}

int cookies_add_arg(cookie_jar_t *jar, const char *arg) {
  if (strchr(arg, '=') != NULL) {
    size_t old = jar->literal ? strlen(jar->literal) : 0, add = strlen(arg);
    char *p = realloc(jar->literal, old + (old ? 2 : 0) + add + 1);
    if (p == NULL) return -1;
    if (old) memcpy(p + old, "; ", 2), old += 2;
    memcpy(p + old, arg, add + 1);
    jar->literal = p;
    return 0;
  }
  jar->engine = true;
  char *text;
  size_t len;
  if (arg[0] == 0 || fetch_read_file(arg, FETCH_MAX_SMALL_FILE, &text, &len) != 0) return 0;
  int rc = 0;
  for (char *line = text; line != NULL && rc == 0;) {
    char *nl = strchr(line, '\n');
    if (nl != NULL) *nl = 0;
    size_t l = strlen(line);
    if (l && line[l - 1] == '\r') line[l - 1] = 0;
    rc = load_line(jar, line);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return rc;
}

/* Reads an unsigned decimal at *p, skipping spaces and dashes before it;
 * -1 when there is none. */
static long date_num(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '-')) (*p)++;
  long v = -1;
  while (*p < end && **p >= '0' && **p <= '9' && v < 100000) v = (v < 0 ? 0 : v * 10) + (*(*p)++ - '0');
  return v;
}

/* "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 1123, what servers send; dashes
 * between the date's parts accepted too): Unix seconds, or 0 when the date
 * is not in that form. (Hand-parsed: sscanf would add 15 KB to the
 * component.) */
static int64_t parse_http_date(const char *s, size_t len) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const char *p = memchr(s, ',', len), *end = s + len;
  if (p == NULL) return 0;
  p++;
  long day = date_num(&p, end);
  while (p < end && (*p == ' ' || *p == '-')) p++;
  if (end - p < 3) return 0;
  int mo = 0;
  for (int i = 0; i < 12; i++)
    if (!strncasecmp(p, months + 3 * i, 3)) mo = i + 1;
  p += 3;
  long year = date_num(&p, end), hh = date_num(&p, end);
  if (p < end && *p == ':') p++;
  long mm = date_num(&p, end);
  if (p < end && *p == ':') p++;
  long ss = date_num(&p, end);
  if (mo == 0 || day < 1 || day > 31 || year < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return 0;
  if (year < 100) year += year < 70 ? 2000 : 1900;
  /* days from civil (proleptic Gregorian), no timegm in wasi-libc */
  int64_t y = year - (mo <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  int64_t t = days * 86400 + hh * 3600 + mm * 60 + ss;
  return t > 0 ? t : 1; /* a date before 1970 is in the past, not "session" */
}

static bool attr_is(const char *p, size_t len, const char *name) {
  return len == strlen(name) && strncasecmp(p, name, len) == 0;
}

static bool host_is_loopback(wasio_http_str_t h) {
  return (h.len == 9 && !strncasecmp(h.ptr, "localhost", 9)) || (h.len == 9 && !memcmp(h.ptr, "127.0.0.1", 9)) ||
         (h.len == 3 && !memcmp(h.ptr, "::1", 3));
}

/* host == domain, or (tailmatch) host ends with "." domain. */
static bool domain_match(wasio_http_str_t host, const char *domain, bool tailmatch) {
  size_t dl = strlen(domain);
  if (host.len == dl && !strncasecmp(host.ptr, domain, dl)) return true;
  return tailmatch && host.len > dl && host.ptr[host.len - dl - 1] == '.' &&
         !strncasecmp(host.ptr + host.len - dl, domain, dl);
}

void cookies_set(cookie_jar_t *jar, const wasio_url_t *u, wasio_http_str_t v) {
  if (!jar->engine) return;
  const char *p = v.ptr, *end = v.ptr + v.len;
  const char *semi = memchr(p, ';', v.len);
  const char *pair_end = semi ? semi : end;
  const char *eq = memchr(p, '=', (size_t)(pair_end - p));
  if (eq == NULL || eq == p) return;
  const char *name = p, *value = eq + 1;
  size_t nl = (size_t)(eq - p), vl = (size_t)(pair_end - value);
  while (nl && name[nl - 1] == ' ') nl--;
  while (vl && value[0] == ' ') value++, vl--;
  while (vl && value[vl - 1] == ' ') vl--;
  /* the default path: the request path's directory */
  const char *path = u->path.ptr;
  size_t pl = u->path.len;
  while (pl > 1 && path[pl - 1] != '/') pl--;
  if (pl > 1) pl--;
  const char *domain = u->host.ptr;
  size_t dl = u->host.len;
  bool tailmatch = false, secure = false;
  int64_t expires = 0;
  bool have_max_age = false;
  for (const char *a = semi; a != NULL && a < end;) {
    a++;
    const char *next = memchr(a, ';', (size_t)(end - a));
    const char *ae = next ? next : end;
    while (a < ae && *a == ' ') a++;
    const char *aeq = memchr(a, '=', (size_t)(ae - a));
    const char *an_end = aeq ? aeq : ae;
    const char *av = aeq ? aeq + 1 : ae;
    size_t avl = (size_t)(ae - av);
    while (an_end > a && an_end[-1] == ' ') an_end--;
    while (avl && av[0] == ' ') av++, avl--;
    while (avl && av[avl - 1] == ' ') avl--;
    size_t anl = (size_t)(an_end - a);
    if (attr_is(a, anl, "path") && avl && av[0] == '/') {
      path = av;
      pl = avl;
    } else if (attr_is(a, anl, "domain") && avl) {
      while (avl && av[0] == '.') av++, avl--;
      char d[WASIO_URL_MAX_HOST + 1];
      if (avl == 0 || avl > WASIO_URL_MAX_HOST) return;
      memcpy(d, av, avl);
      d[avl] = 0;
      if (!domain_match(u->host, d, true)) return; /* a cookie for another site: refused */
      domain = av;
      dl = avl;
      tailmatch = true;
    } else if (attr_is(a, anl, "secure")) {
      secure = true;
    } else if (attr_is(a, anl, "max-age") && avl) {
      char num[24];
      size_t k = avl < sizeof num - 1 ? avl : sizeof num - 1;
      memcpy(num, av, k);
      num[k] = 0;
      long long secs = strtoll(num, NULL, 10);
      expires = secs <= 0 ? 1 : now_s() + secs;
      have_max_age = true;
    } else if (attr_is(a, anl, "expires") && !have_max_age) {
      expires = parse_http_date(av, avl);
    }
    a = next;
  }
  (void)jar_put(jar, name, nl, value, vl, domain, dl, path, pl, tailmatch, secure, expires);
}

static int cookie_cmp(const void *a, const void *b) {
  const cookie_t *x = *(const cookie_t *const *)a, *y = *(const cookie_t *const *)b;
  size_t lx, ly;
  if ((lx = strlen(x->path)) != (ly = strlen(y->path))) return lx > ly ? -1 : 1;
  if ((lx = strlen(x->domain)) != (ly = strlen(y->domain))) return lx > ly ? -1 : 1;
  if ((lx = strlen(x->name)) != (ly = strlen(y->name))) return lx > ly ? -1 : 1;
  return x->order > y->order ? -1 : x->order < y->order; /* then newest first, as curl 7.88 */
}

static bool path_match(wasio_http_str_t req, const char *cpath) {
  size_t cl = strlen(cpath);
  if (req.len < cl || memcmp(req.ptr, cpath, cl) != 0) return false;
  return req.len == cl || cpath[cl - 1] == '/' || req.ptr[cl] == '/';
}

size_t cookies_header(const cookie_jar_t *jar, const wasio_url_t *u, char *buf, size_t cap) {
  const cookie_t *pick[FETCH_MAX_COOKIES];
  size_t n = 0, len = 0;
  int64_t now = now_s();
  for (size_t i = 0; i < jar->n; i++) {
    const cookie_t *c = &jar->list[i];
    if (c->expires != 0 && c->expires <= now) continue;
    if (!domain_match(u->host, c->domain, c->tailmatch) || !path_match(u->path, c->path)) continue;
    if (c->secure && !u->https && !host_is_loopback(u->host)) continue;
    pick[n++] = c;
  }
  qsort(pick, n, sizeof pick[0], cookie_cmp);
  buf[0] = 0;
  for (size_t i = 0; i <= n; i++) {
    const char *a = i < n ? pick[i]->name : jar->literal;
    const char *b = i < n ? pick[i]->value : NULL;
    if (a == NULL) continue;
    size_t need = (len ? 2 : 0) + strlen(a) + (b ? 1 + strlen(b) : 0);
    if (len + need + 1 > cap) break; /* FETCH_MAX_COOKIE_FIELD: the rest is left out */
    len += (size_t)snprintf(buf + len, cap - len, "%s%s%s%s", len ? "; " : "", a, b ? "=" : "", b ? b : "");
  }
  return len;
}

void cookies_free(cookie_jar_t *jar) {
  for (size_t i = 0; i < jar->n; i++) cookie_free(&jar->list[i]);
  free(jar->list);
  free(jar->literal);
  memset(jar, 0, sizeof *jar);
}
