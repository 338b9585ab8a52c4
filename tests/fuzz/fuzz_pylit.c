/* libFuzzer target: arbitrary text through heapctl's literal parser
 * (proto/pylit) and its printers (client/format). A parsed literal must be
 * exactly one msgpack value; its repr must parse again to a value with the
 * same repr (the printer and the parser agree on every value, NaN's sign
 * aside, which repr drops as Python's does); its JSON must print. Texts with
 * $name or @id are only parsed and printed: a ref's repr is not a literal. */
#include "format.h"
#include "mpscan.h"
#include "pylit.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* The repr of the single msgpack value in buf, into out (which the caller
 * destroys); false if the value nests deeper than one request may (heapctl
 * refuses to send it, with RecursionError). */
static bool repr_of(const msgpack_sbuffer *buf, msgpack_sbuffer *out)
{
    size_t used = 0, off = 0;
    msgpack_sbuffer_init(out);
    enum mpscan_result r =
        mpscan(buf->data, buf->size, buf->size, WIRE_MSGPACK_MAX_DEPTH - 2, &used);
    if (r == MPSCAN_TOO_DEEP)
        return false;
    if (r != MPSCAN_OK || used != buf->size)
        abort(); /* pylit wrote something that is not one value */
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object o;
    if (msgpack_unpack(buf->data, buf->size, &off, &zone, &o) != MSGPACK_UNPACK_SUCCESS)
        abort();
    fmt_repr(out, &o);
    cJSON *j = fmt_json(&o);
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    free(s);
    cJSON_Delete(j);
    msgpack_zone_destroy(&zone);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    msgpack_sbuffer first;
    msgpack_sbuffer_init(&first);
    pylit_error err;
    if (pylit_parse(text, size, &first, &err)) {
        if (first.size)
            abort(); /* a failed parse must leave out unchanged */
        if (err.col == 0 || err.col > size + 1 || !err.msg[0])
            abort(); /* every error names a column inside the text, and a reason */
        msgpack_sbuffer_destroy(&first);
        return 0;
    }
    msgpack_sbuffer r1, r2, second;
    if (repr_of(&first, &r1) && !memchr(text, '$', size) && !memchr(text, '@', size)) {
        msgpack_sbuffer_init(&second);
        if (pylit_parse(r1.data, r1.size, &second, &err))
            abort(); /* heapctl printed a repr it cannot read back */
        if (!repr_of(&second, &r2) || r2.size != r1.size || memcmp(r1.data, r2.data, r1.size))
            abort(); /* the repr is not a fixpoint */
        msgpack_sbuffer_destroy(&r2);
        msgpack_sbuffer_destroy(&second);
    }
    msgpack_sbuffer_destroy(&r1);
    msgpack_sbuffer_destroy(&first);
    return 0;
}
