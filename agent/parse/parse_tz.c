/* parse_tz.c - time zones of the parsers: a fixed offset, or an IANA zone of the system
 * tz database read through GLib's GTimeZone (which parses the TZif files and their POSIX
 * footer rules; glibc has no per-zone API, and TZ + localtime_r is process-global).
 *
 * Local time -> UTC goes through a one-hour cache (logs are read in time order), so the
 * per-record cost is a comparison; GLib is asked once per hour of log time.
 *
 * Zone abbreviations ("KST", "CEST") resolve: first through the input's own zone at the
 * record's time (which also tells the two readings of the hour after a change back
 * apart), then through a table built once from every zone of the tz database (tzdata.zi),
 * as the zones use them this year and last. An abbreviation two zones use with different
 * offsets (IST, CST) or that no zone uses is not resolved: the caller marks the record.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logferry/lf_err.h"
#include "parse_int.h"

struct tz_abbr {
    char name[8];
    int32_t off; /* seconds east of UTC */
    bool ambiguous;
};

struct lf_tz {
    GTimeZone *gz;   /* NULL: fixed offset */
    int32_t fixed_s; /* the fixed offset, seconds east of UTC */
    /* local seconds [lo, hi) where off holds, and UTC seconds [ulo, uhi) where uoff holds */
    int64_t lo, hi, ulo, uhi;
    int32_t off, uoff;
    struct tz_abbr *tab; /* the abbreviations of all zones, built on first need */
    size_t ntab;
    bool tab_built;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* An IANA name as GLib should read it: no path, no POSIX rule string. */
static bool zone_name_ok(const char *s)
{
    return s && *s && strlen(s) < 200 && s[0] != '/' && !strstr(s, "..") && !strchr(s, ',');
}

int lf_tz_open(const char *spec, struct lf_tz **out, char *err, size_t errlen)
{
    *out = NULL;
    struct lf_tz *tz = calloc(1, sizeof(*tz));
    if (!tz) {
        return LF_ENOMEM;
    }
    int min = 0;
    bool local = false;
    if (lf_tz_parse(spec, &min, &local) == 0) {
        tz->fixed_s = min * 60;
        tz->gz = local ? g_time_zone_new_local() : NULL;
    } else if (zone_name_ok(spec)) {
        tz->gz = g_time_zone_new_identifier(spec); /* NULL when tzdata has no such zone */
    }
    if (!tz->gz && !tz->fixed_s && !lf_tz_is_utc(spec)) {
        snprintf(err, errlen,
                 "timezone: \"%s\" is not UTC, local, +HH:MM or a zone of the tz database "
                 "(Europe/Paris, Asia/Seoul...)",
                 spec);
        free(tz);
        return LF_ECONFIG;
    }
    *out = tz;
    return LF_OK;
}

void lf_tz_close(struct lf_tz *tz)
{
    if (tz) {
        if (tz->gz) {
            g_time_zone_unref(tz->gz);
        }
        free(tz->tab);
        free(tz);
    }
}

/* The spellings of UTC that lf_tz_parse reads as offset 0. */
bool lf_tz_is_utc(const char *s)
{
    int min = 1;
    bool local = true;
    return !s || !*s || (lf_tz_parse(s, &min, &local) == 0 && !local && min == 0);
}

/* Offset of local time t (seconds): the standard-time reading when t is ambiguous. */
static int32_t gz_local_offset(GTimeZone *gz, int64_t t)
{
    gint64 adj = t;
    gint i = g_time_zone_adjust_time(gz, G_TIME_TYPE_STANDARD, &adj);
    return i < 0 ? 0 : g_time_zone_get_offset(gz, i);
}

int64_t lf_tz_local_to_utc(struct lf_tz *tz, int64_t local_ms)
{
    if (!tz->gz) {
        return local_ms - (int64_t)tz->fixed_s * 1000;
    }
    int64_t s = floor_div(local_ms, 1000);
    if (s < tz->lo || s >= tz->hi) {
        int64_t h = floor_div(s, 3600) * 3600;
        int32_t a = gz_local_offset(tz->gz, h), b = gz_local_offset(tz->gz, h + 3599);
        if (a == b) { /* the whole hour has one offset: cache it */
            tz->lo = h;
            tz->hi = h + 3600;
            tz->off = a;
        } else {
            tz->lo = tz->hi = 0;
            return local_ms - (int64_t)gz_local_offset(tz->gz, s) * 1000;
        }
    }
    return local_ms - (int64_t)tz->off * 1000;
}

int64_t lf_tz_utc_to_local(struct lf_tz *tz, int64_t utc_ms)
{
    if (!tz->gz) {
        return utc_ms + (int64_t)tz->fixed_s * 1000;
    }
    int64_t s = floor_div(utc_ms, 1000);
    if (s < tz->ulo || s >= tz->uhi) {
        int64_t h = floor_div(s, 3600) * 3600;
        gint ia = g_time_zone_find_interval(tz->gz, G_TIME_TYPE_UNIVERSAL, h);
        gint ib = g_time_zone_find_interval(tz->gz, G_TIME_TYPE_UNIVERSAL, h + 3599);
        int32_t a = ia < 0 ? 0 : g_time_zone_get_offset(tz->gz, ia);
        int32_t b = ib < 0 ? 0 : g_time_zone_get_offset(tz->gz, ib);
        if (a != b) {
            gint i = g_time_zone_find_interval(tz->gz, G_TIME_TYPE_UNIVERSAL, s);
            return utc_ms + (int64_t)(i < 0 ? 0 : g_time_zone_get_offset(tz->gz, i)) * 1000;
        }
        tz->ulo = h;
        tz->uhi = h + 3600;
        tz->uoff = a;
    }
    return utc_ms + (int64_t)tz->uoff * 1000;
}

static bool abbr_eq(const char *a, const char *s, size_t n)
{
    return a && strlen(a) == n && !memcmp(a, s, n);
}

/* The input's own zone: the interval at local time t whose abbreviation is s[0..n). */
static bool own_abbr(GTimeZone *gz, const char *s, size_t n, int64_t t, int32_t *off)
{
    static const GTimeType types[] = {G_TIME_TYPE_STANDARD, G_TIME_TYPE_DAYLIGHT};
    for (size_t k = 0; k < 2; k++) {
        gint i = g_time_zone_find_interval(gz, types[k], t);
        if (i >= 0 && abbr_eq(g_time_zone_get_abbreviation(gz, i), s, n)) {
            *off = g_time_zone_get_offset(gz, i);
            return true;
        }
    }
    return false;
}

static int abbr_cmp(const void *a, const void *b)
{
    const struct tz_abbr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->off > y->off) - (x->off < y->off);
}

/* Adds what zone gz calls itself at t (letters only: "+09" style names say nothing). */
static void tab_add(struct lf_tz *tz, GTimeZone *gz, int64_t t, size_t *cap)
{
    gint i = g_time_zone_find_interval(gz, G_TIME_TYPE_UNIVERSAL, t);
    const char *a = i >= 0 ? g_time_zone_get_abbreviation(gz, i) : NULL;
    size_t n = a ? strlen(a) : 0;
    if (n < 2 || n > 6 || !g_ascii_isalpha(a[0]) || !strcmp(a, "LMT")) {
        return;
    }
    if (tz->ntab == *cap) {
        size_t nc = *cap ? *cap * 2 : 512;
        struct tz_abbr *v = realloc(tz->tab, nc * sizeof(*v));
        if (!v) {
            return;
        }
        tz->tab = v;
        *cap = nc;
    }
    struct tz_abbr *e = &tz->tab[tz->ntab++];
    memcpy(e->name, a, n + 1);
    e->off = g_time_zone_get_offset(gz, i);
    e->ambiguous = false;
}

/* Sorts and merges the table: one entry per name, ambiguous when the offsets differ. */
static void tab_merge(struct lf_tz *tz)
{
    if (!tz->ntab) {
        return;
    }
    qsort(tz->tab, tz->ntab, sizeof(*tz->tab), abbr_cmp);
    size_t w = 0;
    for (size_t r = 0; r < tz->ntab; r++) {
        if (w && !strcmp(tz->tab[w - 1].name, tz->tab[r].name)) {
            tz->tab[w - 1].ambiguous |= tz->tab[w - 1].off != tz->tab[r].off;
            continue;
        }
        tz->tab[w++] = tz->tab[r];
    }
    tz->ntab = w;
}

/* Every zone of the tz database ("Z name ..." lines of tzdata.zi), sampled in January and
 * July of this year and the last. */
static void tab_build(struct lf_tz *tz)
{
    tz->tab_built = true;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/tzdata.zi", dir && *dir ? dir : "/usr/share/zoneinfo");
    FILE *f = fopen(path, "r");
    if (!f) {
        return;
    }
    int64_t now = (int64_t)time(NULL), year = 1970 + floor_div(now, 31556952);
    int64_t at[4];
    for (int k = 0; k < 4; k++) {
        at[k] = lf_days_from_civil(year - k / 2, k % 2 ? 7 : 1, 15) * 86400 + 43200;
    }
    char line[512];
    size_t cap = 0;
    while (fgets(line, sizeof(line), f)) {
        char name[256];
        if (line[0] != 'Z' || sscanf(line, "Z %255s", name) != 1) {
            continue;
        }
        GTimeZone *gz = g_time_zone_new_identifier(name);
        for (int k = 0; gz && k < 4; k++) {
            tab_add(tz, gz, at[k], &cap);
        }
        if (gz) {
            g_time_zone_unref(gz);
        }
    }
    fclose(f);
    tab_merge(tz);
}

int lf_tz_abbr(struct lf_tz *tz, const char *s, size_t n, int64_t local_ms, int32_t *off)
{
    if (n >= 8) {
        return LF_TZ_UNKNOWN;
    }
    if (tz->gz && own_abbr(tz->gz, s, n, floor_div(local_ms, 1000), off)) {
        return LF_TZ_OK;
    }
    if (!tz->tab_built) {
        tab_build(tz);
    }
    struct tz_abbr key = {.off = 0};
    memcpy(key.name, s, n);
    key.name[n] = '\0';
    size_t lo = 0, hi = tz->ntab;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(tz->tab[mid].name, key.name);
        if (c == 0) {
            *off = tz->tab[mid].off;
            return tz->tab[mid].ambiguous ? LF_TZ_AMBIGUOUS : LF_TZ_OK;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return LF_TZ_UNKNOWN;
}
