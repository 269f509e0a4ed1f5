/* lf_crc32c.h - CRC32C (Castagnoli, the iSCSI/ext4 checksum) of a byte range.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked at each call, a load
 * and a test), else a 1 KiB table. No state: safe from any thread.
 */
#ifndef LF_CRC32C_H
#define LF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) with len bytes; lf_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t lf_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same with the table only (tests compare both paths). */
uint32_t lf_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
