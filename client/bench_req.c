/* Request templates for heapctl bench. */
#include "bench_req.h"
#include "wire.h"

#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int pack_xs(msgpack_packer *pk, size_t n)
{
    char *x = malloc(n ? n : 1);
    if (!x)
        return -1;
    memset(x, 'x', n);
    int rc = pack_str(pk, x, n);
    free(x);
    return rc;
}

/* Packs one parameter of fmt letter f from ap; a ref placeholder records
 * where its 8 bytes are. */
static int pack_param(msgpack_packer *pk, msgpack_sbuffer *sb, char f, va_list *ap, size_t *ref_off)
{
    static const char zero_id[8];
    switch (f) {
    case 's': {
        const char *s = va_arg(*ap, const char *);
        return pack_str(pk, s, strlen(s));
    }
    case 'i':
        return msgpack_pack_int(pk, va_arg(*ap, int));
    case 'x':
        return pack_xs(pk, va_arg(*ap, size_t));
    case 'L':
        return msgpack_pack_array(pk, 0);
    case 'D': {
        const char *key = va_arg(*ap, const char *);
        int value = va_arg(*ap, int);
        return msgpack_pack_map(pk, 1) | pack_str(pk, key, strlen(key)) |
               msgpack_pack_int(pk, value);
    }
    case 'R': {
        int rc = msgpack_pack_ext(pk, sizeof zero_id, EXT_REF);
        *ref_off = sb->size;
        return rc | msgpack_pack_ext_body(pk, zero_id, sizeof zero_id);
    }
    default:
        abort(); /* a bad format is a bug in the test table */
    }
}

int bench_req_makev(bench_req *r, const char *method, const char *fmt, va_list ap)
{
    static const char head[] = {(char)0x94, 0x00, (char)0xce, 0, 0, 0, 0};
    msgpack_sbuffer sb;
    msgpack_packer pk;
    va_list args;
    size_t ref_off = 0;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    va_copy(args, ap);
    int rc = msgpack_sbuffer_write(&sb, head, sizeof head);
    rc |= pack_str(&pk, method, strlen(method)) | msgpack_pack_array(&pk, strlen(fmt));
    for (const char *f = fmt; *f && rc == 0; f++)
        rc |= pack_param(&pk, &sb, *f, &args, &ref_off);
    va_end(args);
    *r = (bench_req){.method = method, .cost = 1};
    if (rc != 0) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    r->len = sb.size;
    r->buf = msgpack_sbuffer_release(&sb);
    r->ref_off = ref_off;
    return 0;
}

int bench_req_make(bench_req *r, const char *method, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = bench_req_makev(r, method, fmt, ap);
    va_end(ap);
    return rc;
}

void bench_req_free(bench_req *r)
{
    free(r->buf);
    *r = (bench_req){0};
}

void bench_req_emit(const bench_req *r, char *dst, unsigned msgid, const char *ref8)
{
    memcpy(dst, r->buf, r->len);
    uint32_t id = (uint32_t)msgid;
    dst[BENCH_REQ_MSGID_OFF] = (char)(id >> 24);
    dst[BENCH_REQ_MSGID_OFF + 1] = (char)(id >> 16);
    dst[BENCH_REQ_MSGID_OFF + 2] = (char)(id >> 8);
    dst[BENCH_REQ_MSGID_OFF + 3] = (char)id;
    if (r->ref_off)
        memcpy(dst + r->ref_off, ref8, 8);
}
