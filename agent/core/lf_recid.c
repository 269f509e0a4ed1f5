/* lf_recid.c - deterministic record ids. */
#include "lf_recid.h"

#include <xxhash.h>

void lf_record_make_id(const struct lf_file_id *id, uint64_t start, char out[LF_RECORD_ID_HEX])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t key[5] = {id->dev, id->ino, id->fp_hash, id->fp_len, start};
    XXH128_hash_t h = XXH3_128bits(key, sizeof(key));
    uint64_t parts[2] = {h.high64, h.low64};
    for (int p = 0; p < 2; p++) {
        for (int i = 0; i < 16; i++) {
            out[p * 16 + i] = hex[(parts[p] >> (60 - 4 * i)) & 15];
        }
    }
    out[32] = '\0';
}
