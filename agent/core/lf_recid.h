/* lf_recid.h - the deterministic record id: 128-bit hash of (file identity, offset). */
#ifndef LF_RECID_H
#define LF_RECID_H

#include <stdint.h>

#include "lf_ckpt.h"
#include "logferry/lf_record.h"

/* Writes 32 lowercase hex digits and a NUL: XXH3-128 of dev, inode, fingerprint hash,
 * fingerprint length and the record's start offset. Re-reading a file after a crash
 * gives the same ids, so consumers can drop duplicates. */
void lf_record_make_id(const struct lf_file_id *id, uint64_t start, char out[LF_RECORD_ID_HEX]);

#endif
