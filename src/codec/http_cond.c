/* src/codec/http_cond.c: the pieces of conditional and range requests
 * (wasio/http_codec.h): HTTP dates, entity-tag lists and Range fields.
 *
 * Implementation notes
 * - Dates convert through days since 1970-01-01 with the proleptic
 *   Gregorian calendar (the era-based civil-date algorithm published by
 *   Howard Hinnant, written out here in both directions), so no libc time
 *   function (time zones, locale) is involved.
 * - Everything that reads a field is all or nothing: a list with one bad
 *   element is a bad list, never a partial answer.
 */
#include <string.h>

#include "http_internal.h"

#define WASIO__SECS_PER_DAY 86400
/* Years an IMF-fixdate can show (4DIGIT). */
#define WASIO__DATE_YEAR_MAX 9999
/* RFC 850 two-digit years below this are 20YY, the rest 19YY. */
#define WASIO__DATE_RFC850_PIVOT 70

static const char wasio__months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char wasio__wdays[] = "SunMonTueWedThuFriSat";
static const char *const wasio__wdays_long[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                "Thursday", "Friday", "Saturday"};

/* Days since 1970-01-01 of a civil date (m 1..12, d 1..31). */
static int64_t wasio__days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* 0..399 */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
  return era * 146097 + doe - 719468;
}

/* The civil date of a day number (the inverse of the above). */
static void wasio__civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int wasio__days_in_month(int64_t y, int m) {
  static const unsigned char dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

static void wasio__put2(char *p, int v) {
  p[0] = (char)('0' + v / 10 % 10);
  p[1] = (char)('0' + v % 10);
}

int wasio_http_date_format(int64_t secs, char *buf, size_t cap) {
  if (buf == NULL || cap <= WASIO_HTTP_DATE_LEN) return WASIO_ENOBUFS;
  /* Floor division, so that instants before 1970 land on the right day. */
  int64_t days = secs / WASIO__SECS_PER_DAY, sod = secs % WASIO__SECS_PER_DAY;
  if (sod < 0) {
    sod += WASIO__SECS_PER_DAY;
    days--;
  }
  int64_t y;
  int m, d;
  wasio__civil_from_days(days, &y, &m, &d);
  if (y < 0 || y > WASIO__DATE_YEAR_MAX) return WASIO_EINVAL;
  int wday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
  char *p = buf;
  memcpy(p, wasio__wdays + wday * 3, 3);
  memcpy(p + 3, ", ", 2);
  wasio__put2(p + 5, d);
  p[7] = ' ';
  memcpy(p + 8, wasio__months + (m - 1) * 3, 3);
  p[11] = ' ';
  wasio__put2(p + 12, (int)(y / 100));
  wasio__put2(p + 14, (int)(y % 100));
  p[16] = ' ';
  wasio__put2(p + 17, (int)(sod / 3600));
  p[19] = ':';
  wasio__put2(p + 20, (int)(sod / 60 % 60));
  p[22] = ':';
  wasio__put2(p + 23, (int)(sod % 60));
  memcpy(p + 25, " GMT", 4);
  p[WASIO_HTTP_DATE_LEN] = 0;
  return WASIO_HTTP_DATE_LEN;
}

/* ---- date parsing: a cursor over the field value --------------------------- */

typedef struct wasio__cur {
  const char *p;
  size_t n;
  bool bad;
} wasio__cur_t;

static void wasio__lit(wasio__cur_t *c, const char *lit) {
  size_t k = strlen(lit);
  if (c->bad || c->n < k || memcmp(c->p, lit, k) != 0) {
    c->bad = true;
    return;
  }
  c->p += k;
  c->n -= k;
}

/* Exactly `k` digits. */
static int wasio__digits(wasio__cur_t *c, size_t k) {
  int v = 0;
  if (c->bad || c->n < k) {
    c->bad = true;
    return 0;
  }
  for (size_t i = 0; i < k; i++) {
    if (c->p[i] < '0' || c->p[i] > '9') {
      c->bad = true;
      return 0;
    }
    v = v * 10 + (c->p[i] - '0');
  }
  c->p += k;
  c->n -= k;
  return v;
}

/* A three-letter month name: 1..12. */
static int wasio__month(wasio__cur_t *c) {
  if (c->bad || c->n < 3) {
    c->bad = true;
    return 0;
  }
  for (int m = 0; m < 12; m++) {
    if (memcmp(c->p, wasio__months + m * 3, 3) == 0) {
      c->p += 3;
      c->n -= 3;
      return m + 1;
    }
  }
  c->bad = true;
  return 0;
}

/* time-of-day: hour ":" minute ":" second. */
static int64_t wasio__time(wasio__cur_t *c) {
  int h = wasio__digits(c, 2);
  wasio__lit(c, ":");
  int mi = wasio__digits(c, 2);
  wasio__lit(c, ":");
  int s = wasio__digits(c, 2);
  if (h > 23 || mi > 59 || s > 60) c->bad = true;
  if (s == 60) s = 59; /* a leap second: the grammar allows it, time_t cannot show it */
  return (int64_t)h * 3600 + mi * 60 + s;
}

int wasio_http_date_parse(wasio_http_str_t s, int64_t *secs) {
  if (secs == NULL || (s.ptr == NULL && s.len > 0)) return WASIO_EINVAL;
  while (s.len > 0 && wasio__http_is_ws((unsigned char)s.ptr[0])) s.ptr++, s.len--;
  while (s.len > 0 && wasio__http_is_ws((unsigned char)s.ptr[s.len - 1])) s.len--;
  wasio__cur_t c = {s.ptr, s.len, false};
  if (c.n < 4) return WASIO_EINVAL;
  /* The day name decides the format: "Sun," IMF-fixdate, "Sun " asctime,
   * "Sunday," RFC 850. It is checked but not compared with the date. */
  int wday = -1;
  for (int w = 0; w < 7; w++)
    if (memcmp(c.p, wasio__wdays + w * 3, 3) == 0) wday = w;
  if (wday < 0) return WASIO_EINVAL;
  int64_t y;
  int m, d;
  int64_t tod;
  if (c.p[3] == ',') { /* IMF-fixdate: ", " day SP month SP year SP time " GMT" */
    c.p += 4;
    c.n -= 4;
    wasio__lit(&c, " ");
    d = wasio__digits(&c, 2);
    wasio__lit(&c, " ");
    m = wasio__month(&c);
    wasio__lit(&c, " ");
    y = wasio__digits(&c, 4);
    wasio__lit(&c, " ");
    tod = wasio__time(&c);
    wasio__lit(&c, " GMT");
  } else if (c.p[3] == ' ') { /* asctime: SP month SP (2DIGIT / SP DIGIT) SP time SP year */
    c.p += 4;
    c.n -= 4;
    m = wasio__month(&c);
    wasio__lit(&c, " ");
    if (!c.bad && c.n > 0 && c.p[0] == ' ') {
      c.p++;
      c.n--;
      d = wasio__digits(&c, 1);
    } else {
      d = wasio__digits(&c, 2);
    }
    wasio__lit(&c, " ");
    tod = wasio__time(&c);
    wasio__lit(&c, " ");
    y = wasio__digits(&c, 4);
  } else { /* RFC 850: the long day name "," SP day "-" month "-" 2DIGIT SP time " GMT" */
    wasio__lit(&c, wasio__wdays_long[wday]);
    wasio__lit(&c, ", ");
    d = wasio__digits(&c, 2);
    wasio__lit(&c, "-");
    m = wasio__month(&c);
    wasio__lit(&c, "-");
    y = wasio__digits(&c, 2);
    y += y < WASIO__DATE_RFC850_PIVOT ? 2000 : 1900;
    wasio__lit(&c, " ");
    tod = wasio__time(&c);
    wasio__lit(&c, " GMT");
  }
  if (c.bad || c.n != 0 || m < 1 || d < 1 || d > wasio__days_in_month(y, m)) return WASIO_EINVAL;
  *secs = wasio__days_from_civil(y, m, d) * WASIO__SECS_PER_DAY + tod;
  return 0;
}

/* ---- entity-tags ---------------------------------------------------------------- */

/* One entity-tag at s[*i..n): [W/] DQUOTE *etagc DQUOTE, with etagc
 * %x21 / %x23-7E / obs-text. Sets the opaque part (quotes included) and
 * weakness; false when malformed. */
static bool wasio__etag(const char *s, size_t n, size_t *i, wasio_http_str_t *opaque, bool *weak) {
  size_t k = *i;
  *weak = false;
  if (n - k >= 2 && s[k] == 'W' && s[k + 1] == '/') {
    *weak = true;
    k += 2;
  }
  if (k == n || s[k] != '"') return false;
  size_t start = k++;
  while (k < n && s[k] != '"') {
    unsigned char c = (unsigned char)s[k];
    if (c < 0x21 || c == 0x7f) return false;
    k++;
  }
  if (k == n) return false;
  k++;
  *opaque = (wasio_http_str_t){s + start, k - start};
  *i = k;
  return true;
}

int wasio_http_etag_match(wasio_http_str_t list, wasio_http_str_t etag, unsigned flags) {
  if ((list.ptr == NULL && list.len > 0) || (etag.ptr == NULL && etag.len > 0))
    return WASIO_EHTTP_BAD_HEADER_VALUE;
  bool weak_cmp = (flags & WASIO_HTTP_ETAG_WEAK) != 0;
  wasio_http_str_t mine;
  bool mine_weak;
  size_t i = 0;
  if (!wasio__etag(etag.ptr, etag.len, &i, &mine, &mine_weak) || i != etag.len) return WASIO_EHTTP_BAD_HEADER_VALUE;
  const char *s = list.ptr;
  size_t n = list.len;
  while (n > 0 && wasio__http_is_ws((unsigned char)s[0])) s++, n--;
  while (n > 0 && wasio__http_is_ws((unsigned char)s[n - 1])) n--;
  if (n == 1 && s[0] == '*') return 1;
  bool match = false, any = false;
  i = 0;
  for (;;) {
    /* Empty elements (", ,") are allowed in a list (RFC 9110 5.6.1.2). */
    while (i < n && (s[i] == ',' || wasio__http_is_ws((unsigned char)s[i]))) i++;
    if (i == n) break;
    wasio_http_str_t theirs;
    bool theirs_weak;
    if (!wasio__etag(s, n, &i, &theirs, &theirs_weak)) return WASIO_EHTTP_BAD_HEADER_VALUE;
    any = true;
    while (i < n && wasio__http_is_ws((unsigned char)s[i])) i++;
    if (i < n && s[i] != ',') return WASIO_EHTTP_BAD_HEADER_VALUE;
    bool same = theirs.len == mine.len && memcmp(theirs.ptr, mine.ptr, mine.len) == 0;
    if (same && (weak_cmp || (!theirs_weak && !mine_weak))) match = true;
  }
  if (!any) return WASIO_EHTTP_BAD_HEADER_VALUE;
  return match ? 1 : 0;
}

/* ---- Range ------------------------------------------------------------------------- */

/* 1*DIGIT at s[*i..n), saturating at UINT64_MAX; false when there is none. */
static bool wasio__pos(const char *s, size_t n, size_t *i, uint64_t *v) {
  size_t k = *i;
  uint64_t x = 0;
  while (k < n && s[k] >= '0' && s[k] <= '9') {
    unsigned dgt = (unsigned)(s[k] - '0');
    x = x > (UINT64_MAX - dgt) / 10 ? UINT64_MAX : x * 10 + dgt;
    k++;
  }
  if (k == *i) return false;
  *i = k;
  *v = x;
  return true;
}

int wasio_http_range_parse(wasio_http_str_t value, uint64_t size, wasio_http_range_t *out) {
  const char *s = value.ptr;
  size_t n = s != NULL ? value.len : 0;
  while (n > 0 && wasio__http_is_ws((unsigned char)s[0])) s++, n--;
  while (n > 0 && wasio__http_is_ws((unsigned char)s[n - 1])) n--;
  if (n < 6 || !wasio__http_ieq((wasio_http_str_t){s, 5}, "bytes") || s[5] != '=') return WASIO_HTTP_RANGE_NONE;
  size_t i = 6;
  int specs = 0, satisfiable = 0;
  bool suffix_on_empty = false;
  wasio_http_range_t one = {0, 0};
  for (;;) {
    while (i < n && (s[i] == ',' || wasio__http_is_ws((unsigned char)s[i]))) i++;
    if (i == n) break;
    uint64_t first = 0, last = UINT64_MAX;
    bool suffix = s[i] == '-';
    if (suffix) {
      i++;
      uint64_t len;
      if (!wasio__pos(s, n, &i, &len)) return WASIO_HTTP_RANGE_NONE;
      if (len > 0 && size == 0) suffix_on_empty = true;
      if (len > 0 && size > 0) {
        first = len >= size ? 0 : size - len;
        last = size - 1;
        satisfiable++;
        one = (wasio_http_range_t){first, last};
      }
    } else {
      if (!wasio__pos(s, n, &i, &first) || i == n || s[i] != '-') return WASIO_HTTP_RANGE_NONE;
      i++;
      if (i < n && s[i] >= '0' && s[i] <= '9') {
        (void)wasio__pos(s, n, &i, &last);
        if (last < first) return WASIO_HTTP_RANGE_NONE; /* invalid: ignored */
      }
      if (first < size) {
        satisfiable++;
        one = (wasio_http_range_t){first, last < size ? last : size - 1};
      }
    }
    specs++;
    while (i < n && wasio__http_is_ws((unsigned char)s[i])) i++;
    if (i < n && s[i] != ',') return WASIO_HTTP_RANGE_NONE;
  }
  if (specs == 0) return WASIO_HTTP_RANGE_NONE;
  /* A suffix of an empty representation is satisfiable but empty, and an
   * empty range has no Content-Range: the whole (empty) 200 answers it. */
  if (suffix_on_empty) return WASIO_HTTP_RANGE_NONE;
  if (satisfiable == 0) return WASIO_HTTP_RANGE_UNSATISFIABLE;
  if (specs > 1) return WASIO_HTTP_RANGE_MULTI;
  if (out != NULL) *out = one;
  return WASIO_HTTP_RANGE_ONE;
}
