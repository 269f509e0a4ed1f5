/* ml_preset.h - internal to the multiline module: compiled regexes and built-in presets.
 *
 * A preset classifies each physical line as the start of a new record or the
 * continuation of the pending one. Its per-file state is a small plain struct that the
 * assembler owns, so it can be saved and restored around a failed emit.
 * Not part of the plugin ABI; only lf_multiline.c includes this.
 */
#ifndef ML_PRESET_H
#define ML_PRESET_H

#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum ml_preset_id {
    ML_PRESET_NONE = 0,
    ML_PRESET_JAVA,
    ML_PRESET_PYTHON,
    ML_PRESET_GO,
    ML_PRESET_MYSQL_SLOW,
    ML_PRESET_POSTGRESQL,
    ML_PRESET_AUTO,
    ML_PRESET_COUNT
};

enum ml_kind {
    ML_KIND_START = 0,
    ML_KIND_CONT = 1,
};

/* One compiled pattern with its own match data (JIT when available). */
struct ml_rx {
    pcre2_code *code;
    pcre2_match_data *md;
    bool jit;
};

/* Returns LF_OK or LF_ECONFIG with "what: message at offset N" in err. */
int ml_rx_compile(struct ml_rx *rx, const char *pattern, const char *what, char *err,
                  size_t errlen);
void ml_rx_free(struct ml_rx *rx);
/* True if the pattern matches somewhere in line[0..len). Never allocates. */
bool ml_rx_is_match(const struct ml_rx *rx, const char *line, size_t len);
/* Same, and *start (may be NULL) gets the offset where the match starts (after \K). */
bool ml_rx_match_at(const struct ml_rx *rx, const char *line, size_t len, size_t *start);

/* Per-file state of a preset (zeroed = fresh file). */
struct ml_preset_state {
    bool seen_header;   /* java/python: a timestamped header line was seen in this file */
    bool in_trace;      /* python: inside Traceback frames; go: inside a panic dump */
    bool after_trace;   /* python: the exception line of a traceback was seen */
    bool prev_jul;      /* java: previous line was a JUL two-line "Mon d, yyyy h:mm:ss AM" */
    bool in_header;     /* mysql-slow: previous line belongs to the `# ` header block */
    bool in_banner;     /* mysql-slow: previous line was a server start-up banner line */
    bool csv_open;      /* postgresql: a csvlog record's quoted field is still open */
    bool json_log;      /* postgresql: the file is jsonlog (its first record was an object) */
    bool rec_header;    /* auto: the pending record began with a timestamped header */
    unsigned char lang; /* auto: language of the pending record (ML_LANG_*) */
};

/* auto: the language a record was recognised as (decides which lines continue it). */
enum ml_lang { ML_LANG_NONE = 0, ML_LANG_JAVA, ML_LANG_PYTHON, ML_LANG_GO };

struct ml_preset;

int ml_preset_create(int id, char *err, size_t errlen, struct ml_preset **out);
void ml_preset_destroy(struct ml_preset *p);
/* Classifies line given whether a record is pending; updates st. */
enum ml_kind ml_preset_classify(const struct ml_preset *p, struct ml_preset_state *st,
                                const char *line, size_t len, bool pending);

#endif
