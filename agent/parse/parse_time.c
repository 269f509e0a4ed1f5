/* parse_time.c - timestamps of the supported formats into UTC milliseconds. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse_int.h"

int64_t lf_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void d2(char *o, unsigned v)
{
    o[0] = (char)('0' + v / 10 % 10);
    o[1] = (char)('0' + v % 10);
}

size_t lf_fmt_ts(char *o, int64_t ms)
{
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999) {
        y = 1970, mo = 1, d = 1, rem = 0;
    }
    unsigned s = (unsigned)(rem / 1000), msec = (unsigned)(rem % 1000);
    d2(o, (unsigned)(y / 100));
    d2(o + 2, (unsigned)(y % 100));
    o[4] = '-';
    d2(o + 5, mo);
    o[7] = '-';
    d2(o + 8, d);
    o[10] = 'T';
    d2(o + 11, s / 3600);
    o[13] = ':';
    d2(o + 14, s / 60 % 60);
    o[16] = ':';
    d2(o + 17, s % 60);
    o[19] = '.';
    o[20] = (char)('0' + msec / 100);
    d2(o + 21, msec % 100);
    o[23] = 'Z';
    return 24;
}

int lf_month3(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++) {
        if ((s[0] | 0x20) == (names[i * 3] | 0x20) && s[1] == names[i * 3 + 1] &&
            s[2] == names[i * 3 + 2]) {
            return i + 1;
        }
    }
    return 0;
}

int lf_tz_parse(const char *s, int *min, bool *local)
{
    *min = 0;
    *local = false;
    if (!s || !*s || !strcmp(s, "UTC") || !strcmp(s, "Z") || !strcmp(s, "GMT")) {
        return 0;
    }
    if (!strcmp(s, "local")) {
        *local = true;
        return 0;
    }
    if ((s[0] == '+' || s[0] == '-') && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2])) {
        int h = (s[1] - '0') * 10 + (s[2] - '0');
        const char *q = s + 3;
        if (*q == ':') {
            q++;
        }
        int mm = 0;
        if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1])) {
            mm = (q[0] - '0') * 10 + (q[1] - '0');
            q += 2;
        }
        if (*q || h > 14 || mm > 59) {
            return -1;
        }
        *min = (s[0] == '-' ? -1 : 1) * (h * 60 + mm);
        return 0;
    }
    return -1;
}

int64_t lf_local_to_utc(const struct lf_parser *p, int64_t local_ms)
{
    return lf_tz_local_to_utc(p->tz, local_ms);
}

static bool dig(const char *s, size_t n, size_t k, unsigned *v)
{
    unsigned r = 0;
    if (n < k) {
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        r = r * 10 + (unsigned)(s[i] - '0');
    }
    *v = r;
    return true;
}

/* Parses "+0100", "+01:00", "+01", "Z", " +01:00" at s; returns chars used or 0. */
static size_t parse_offset(const char *s, size_t n, int *min)
{
    if (n >= 1 && s[0] == 'Z') {
        *min = 0;
        return 1;
    }
    if (n >= 3 && (s[0] == '+' || s[0] == '-')) {
        unsigned h, m = 0;
        if (!dig(s + 1, n - 1, 2, &h)) {
            return 0;
        }
        size_t used = 3;
        if (n >= 6 && s[3] == ':' && dig(s + 4, n - 4, 2, &m)) {
            used = 6;
        } else if (dig(s + 3, n - 3, 2, &m)) {
            used = 5;
        }
        *min = (s[0] == '-' ? -1 : 1) * (int)(h * 60 + m);
        return used;
    }
    if (n >= 4 && s[0] == ' ' && (s[1] == '+' || s[1] == '-')) {
        size_t u = parse_offset(s + 1, n - 1, min);
        return u ? u + 1 : 0;
    }
    return 0;
}

/* " KST": the length of the zone abbreviation after one space (1 to 7 letters), or 0. */
static size_t abbr_len(const char *s, size_t n)
{
    if (n < 2 || s[0] != ' ') {
        return 0;
    }
    size_t k = 1;
    while (k < n && k < 9 && isalpha((unsigned char)s[k])) {
        k++;
    }
    if (k == 1 || k > 8 || (k < n && isalnum((unsigned char)s[k]))) {
        return 0;
    }
    return k - 1;
}

/* A time followed by a zone abbreviation: resolved through the tz database (parse_tz.c).
 * Not resolved: read in the input's zone, and marked (log.flags "timezone_unresolved",
 * event.timezone = the abbreviation as written). */
static int64_t zone_abbr(struct lf_parser *p, int64_t local, const char *a, size_t n)
{
    if ((n == 3 && (!memcmp(a, "UTC", 3) || !memcmp(a, "GMT", 3))) ||
        (n == 2 && !memcmp(a, "UT", 2))) {
        return local;
    }
    int32_t off;
    if (lf_tz_abbr(p->tz, a, n, local, &off) == LF_TZ_OK) {
        return local - (int64_t)off * 1000;
    }
    p->tz_unresolved = true;
    lf_f_str(p, "event.timezone", a, n);
    return lf_local_to_utc(p, local);
}

static int64_t mk(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
                  unsigned ms)
{
    return (lf_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 + ms;
}

/* Fraction ".123456" or ",123": returns chars used, ms in *ms. */
static size_t frac(const char *s, size_t n, unsigned *ms)
{
    *ms = 0;
    if (n < 2 || (s[0] != '.' && s[0] != ',') || !isdigit((unsigned char)s[1])) {
        return 0;
    }
    size_t i = 1;
    unsigned v = 0, k = 0;
    while (i < n && isdigit((unsigned char)s[i])) {
        if (k < 3) {
            v = v * 10 + (unsigned)(s[i] - '0');
            k++;
        }
        i++;
    }
    while (k < 3) {
        v *= 10;
        k++;
    }
    *ms = v;
    return i;
}

static bool finish(struct lf_parser *p, int64_t local, const char *s, size_t n, int64_t *ms)
{
    int off;
    size_t an;
    if (parse_offset(s, n, &off)) {
        *ms = local - (int64_t)off * 60000;
    } else if ((an = abbr_len(s, n)) != 0) {
        *ms = zone_abbr(p, local, s + 1, an);
    } else {
        *ms = lf_local_to_utc(p, local);
    }
    return true;
}

bool lf_parse_clf_time(struct lf_parser *p, const char *s, size_t n, int64_t *ms)
{
    /* 07/Dec/2016:11:05:07 +0100 */
    unsigned d, y, h, mi, sec;
    if (n < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || !dig(s, n, 2, &d) ||
        !dig(s + 7, n - 7, 4, &y) || !dig(s + 12, n - 12, 2, &h) || !dig(s + 15, n - 15, 2, &mi) ||
        !dig(s + 18, n - 18, 2, &sec)) {
        return false;
    }
    int mo = lf_month3(s + 3);
    if (!mo) {
        return false;
    }
    unsigned fr = 0;
    size_t used = 20 + frac(s + 20, n - 20, &fr);
    return finish(p, mk(y, (unsigned)mo, d, h, mi, sec, fr), s + used, n - used, ms);
}

static bool parse_epoch(const char *s, size_t n, int64_t *ms)
{
    size_t i = 0;
    int64_t v = 0;
    while (i < n && isdigit((unsigned char)s[i])) {
        v = v * 10 + (s[i] - '0');
        i++;
        if (i > 16) {
            return false;
        }
    }
    if (i < 9) {
        return false;
    }
    unsigned fr = 0;
    size_t fl = frac(s + i, n - i, &fr);
    if (i + fl != n) {
        return false;
    }
    if (i >= 12) { /* already milliseconds */
        *ms = v;
    } else {
        *ms = v * 1000 + fr;
    }
    return true;
}

bool lf_parse_time(struct lf_parser *p, const char *s, size_t n, int64_t *ms)
{
    unsigned y, mo, d, h, mi, sec, fr = 0;
    while (n && (*s == ' ' || *s == '[')) {
        s++, n--;
    }
    if (n >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
        dig(s, n, 4, &y) && dig(s + 5, n - 5, 2, &mo) && dig(s + 8, n - 8, 2, &d) &&
        dig(s + 11, n - 11, 2, &h) && s[13] == ':' && dig(s + 14, n - 14, 2, &mi) && s[16] == ':' &&
        dig(s + 17, n - 17, 2, &sec)) {
        size_t used = 19 + frac(s + 19, n - 19, &fr);
        return finish(p, mk(y, mo, d, h, mi, sec, fr), s + used, n - used, ms);
    }
    if (n >= 20 && s[2] == '/' && s[6] == '/') {
        return lf_parse_clf_time(p, s, n, ms);
    }
    /* dd-MMM-yyyy HH:mm:ss.SSS (Tomcat) */
    if (n >= 20 && s[2] == '-' && s[6] == '-' && dig(s, n, 2, &d) && dig(s + 7, n - 7, 4, &y) &&
        dig(s + 12, n - 12, 2, &h) && dig(s + 15, n - 15, 2, &mi) && dig(s + 18, n - 18, 2, &sec) &&
        (mo = (unsigned)lf_month3(s + 3))) {
        size_t used = 20 + frac(s + 20, n - 20, &fr);
        return finish(p, mk(y, mo, d, h, mi, sec, fr), s + used, n - used, ms);
    }
    /* [Sun Dec 04 04:47:44 2005] or Dec 04 04:47:44.123 2005 */
    if (n >= 24 && s[3] == ' ' && isalpha((unsigned char)s[0]) && lf_month3(s + 4)) {
        s += 4, n -= 4;
    }
    if (n >= 20 && s[3] == ' ' && (mo = (unsigned)lf_month3(s)) && s[6] == ' ' &&
        dig(s + 4, n - 4, 2, &d) && dig(s + 7, n - 7, 2, &h) && dig(s + 10, n - 10, 2, &mi) &&
        dig(s + 13, n - 13, 2, &sec)) {
        size_t used = 15 + frac(s + 15, n - 15, &fr);
        if (used < n && s[used] == ' ' && dig(s + used + 1, n - used - 1, 4, &y)) {
            int64_t local = mk(y, mo, d, h, mi, sec, fr);
            *ms = lf_local_to_utc(p, local);
            return true;
        }
    }
    /* YYMMDD H:MM:SS (MySQL 5.x) */
    if (n >= 13 && dig(s, n, 6, &y) && s[6] == ' ') {
        size_t i = 7;
        unsigned hh = 0;
        if (s[8] == ':') {
            hh = (unsigned)(s[7] - '0');
            i = 8;
        } else if (dig(s + 7, n - 7, 2, &hh) && s[9] == ':') {
            i = 9;
        } else {
            return false;
        }
        if (i + 6 <= n && dig(s + i + 1, n - i - 1, 2, &mi) && s[i + 3] == ':' &&
            dig(s + i + 4, n - i - 4, 2, &sec)) {
            unsigned yy = y / 10000, mm = y / 100 % 100, dd = y % 100;
            *ms = lf_local_to_utc(p, mk(2000 + yy, mm, dd, hh, mi, sec, 0));
            return true;
        }
        return false;
    }
    return parse_epoch(s, n, ms);
}
