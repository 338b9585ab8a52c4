/* CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41, reflected) for
 * snapshot checksums. Debian ships no C library for it (zlib's crc32 is the
 * IEEE polynomial), so this is the usual table-driven form, slicing by 8
 * bytes: about 1-2 GB/s, well above the snapshot writer's pace. */
#ifndef HEAPD_CRC32C_H
#define HEAPD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 for the first block) with len bytes at p; the result of
 * one call over "123456789" is 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *p, size_t len);
/* The CRC of A followed by B, from crc1 = crc32c(0, A), crc2 =
 * crc32c(0, B) and B's length. */
uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

#endif
