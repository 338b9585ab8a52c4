/* Classes and instances (heap.h): Python's `type` and `object`, each a
 * container of two references (hrec): a class has its name (a str) and
 * its attribute dict, an instance its class and its attribute dict. The
 * dicts are ordinary dict objects, as CPython's __dict__ is.
 *
 * Finalizers (PEP 442): an instance whose class has a true "__del__" is
 * finalized once; the class's `flag` caches whether it has one, the
 * instance's `flag` says it has been finalized. */
#include "cont.h"
#include "effects.h"
#include "heap_priv.h"

#include <string.h>

const char *heap_class_name(const hobj *cls)
{
    const hobj *name = AS_REC(cls)->ref[REC_NAME];
    return name ? AS_STR(name)->data : "?";
}

const char *heap_type_name(const hobj *o)
{
    if (o->type == T_INSTANCE && heap_class_of(o))
        return heap_class_name(heap_class_of(o));
    if (o->type == T_DICT && o->flag)
        return "WeakValueDictionary";
    return htype_name(o->type);
}

/* Python's truth of a scalar (a container is true). */
static bool truthy(const hobj *v)
{
    switch ((htype)v->type) {
    case T_NONE:
        return false;
    case T_BOOL:
    case T_INT:
        return AS_INT(v)->v != 0;
    case T_FLOAT:
        return AS_FLOAT(v)->v != 0;
    case T_STR:
    case T_BYTES:
        return AS_STR(v)->len != 0;
    default:
        return true;
    }
}

bool heap_class_has_del(const hobj *cls)
{
    /* A key on the stack, not heap_str: no object is made (nor logged, nor
     * made again by a replay) to read an attribute. */
    hstr key = {.h = {.type = T_STR}, .len = 7, .data = (char *)"__del__"};
    hobj *dict = AS_REC(cls)->ref[REC_DICT];
    uint64_t hash;
    hobj *v = NULL;
    if (dict && cont_hash(&key.h, &hash, NULL) == 0)
        v = cont_dict_get(dict, &key.h, hash);
    return v && truthy(v);
}

void heap_class_changed(heap *h, hobj *cls)
{
    bool has = heap_class_has_del(cls);
    if (has == (bool)cls->flag)
        return;
    HEFFECT(h, HEFF_FLAG, .o = cls, .i = has);
    cls->flag = has;
}

bool heap_finalizable(const hobj *o)
{
    const hobj *cls = o->type == T_INSTANCE ? heap_class_of(o) : NULL;
    return cls && !o->flag && cls->flag;
}

void heap_finalize(heap *h, hobj *inst, bool by_collector)
{
    /* By refcount the instance is being freed: its HEFF_FREE says it all
     * (a replay's free finalizes it the same way). The collector's garbage
     * lives on, finalized, until it is cleared and its counts fall. */
    if (by_collector)
        HEFFECT(h, HEFF_FLAG, .o = inst, .i = 1);
    inst->flag = 1; /* once: PEP 442 */
    if (h->finalize_hook)
        h->finalize_hook(h->finalize_hook_ctx, inst, by_collector);
}
