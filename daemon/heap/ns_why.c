/* ns_root_of (ns_why.h): a linear look through the root set, for the one
 * object at the head of a why_alive chain. */
#include "ns_priv.h"
#include "ns_why.h"

struct find {
    hobj *o;
    const char *name;
    size_t len;
};

static void match(const char *name, size_t len, hobj *val, void *arg)
{
    struct find *f = arg;
    if (val == f->o && !f->name) {
        f->name = name;
        f->len = len;
    }
}

static bool in_table(const nametab *t, hobj *o, ns_root *out, ns_root_kind kind)
{
    struct find f = {o, NULL, 0};
    nametab_foreach(t, match, &f);
    if (!f.name)
        return false;
    out->kind = kind;
    out->name = f.name;
    out->len = f.len;
    return true;
}

static bool in_session(const hsession *s, hobj *o, ns_root *out)
{
    *out = (ns_root){.session = s->id};
    for (uint32_t d = s->depth; d > 0; d--)
        if (in_table(&s->frames[d - 1], o, out, NS_ROOT_LOCAL)) {
            out->depth = d;
            return true;
        }
    if (ns_handle_count(s, o)) {
        out->kind = NS_ROOT_HANDLE;
        return true;
    }
    return false;
}

bool ns_root_of(hns *ns, hobj *o, ns_root *out)
{
    *out = (ns_root){0};
    if (in_table(&ns->global, o, out, NS_ROOT_GLOBAL))
        return true;
    for (const hsession *s = ns->sessions; s; s = s->next)
        if (in_session(s, o, out))
            return true;
    return false;
}
