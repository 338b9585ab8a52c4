#include "encbuf.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

/* Every write of an answer passes here: bytes past the budget are refused
 * (and so is everything after them), bytes within it are counted and kept.
 * Running out of memory aborts, as xmalloc does: a payload silently cut
 * short would reach the client as a well-framed but wrong value. */
static int encbuf_write(void *data, const char *buf, size_t len)
{
    encbuf *eb = data, *root = eb->root;
    if (root->over || (root->limit && len > root->limit - root->used)) {
        root->over = true;
        root->refused++;
        return -1;
    }
    root->used += len;
    if (eb->sb && msgpack_sbuffer_write(eb->sb, buf, len))
        xoom(eb->sb->size + len);
    return 0;
}

void encbuf_init(encbuf *eb, msgpack_sbuffer *sb, size_t limit, heap *note_h)
{
    *eb = (encbuf){.sb = sb, .limit = limit, .note_h = note_h};
    eb->root = eb;
    msgpack_packer_init(&eb->pk, eb, encbuf_write);
}

void encbuf_destroy(encbuf *eb)
{
    assert(eb->root == eb);
    for (size_t i = 0; i < eb->nrefs; i++)
        heap_decref(eb->note_h, eb->refs[i]);
    free(eb->refs);
    eb->refs = NULL;
    eb->nrefs = eb->refs_cap = 0;
}

void encbuf_child_init(encbuf *child, msgpack_sbuffer *sb, encbuf *parent)
{
    *child = (encbuf){.sb = sb, .root = parent->root};
    msgpack_packer_init(&child->pk, child, encbuf_write);
}

void encbuf_child_close(encbuf *child)
{
    encbuf *root = child->root;
    assert(root != child && root->used >= child->sb->size);
    root->used -= child->sb->size; /* they move into the parent, counted there */
}

encbuf *encbuf_of(const msgpack_packer *pk)
{
    return pk->callback == encbuf_write ? pk->data : NULL;
}

void encbuf_set_over(encbuf *eb)
{
    eb->root->over = true;
}

bool encbuf_failed(const msgpack_packer *pk)
{
    const encbuf *eb = encbuf_of(pk);
    return eb && (eb->root->over || eb->root->refs_full);
}

void encbuf_note_ref(msgpack_packer *pk, hobj *o)
{
    encbuf *eb = encbuf_of(pk);
    if (!eb || !eb->root->note_h)
        return;
    encbuf *root = eb->root;
    if (root->over)
        return; /* its bytes were refused: the answer fails anyway */
    if (o->refcnt >= ENCBUF_REFCNT_MAX) {
        root->refs_full = true;
        return;
    }
    if (root->nrefs == root->refs_cap) {
        root->refs_cap = root->refs_cap ? root->refs_cap * 2 : 16;
        root->refs = xrealloc(root->refs, root->refs_cap * sizeof *root->refs);
    }
    root->refs[root->nrefs++] = heap_incref(root->note_h, o);
}

hobj **encbuf_take_refs(encbuf *eb, size_t *n)
{
    assert(eb->root == eb);
    *n = eb->nrefs;
    eb->nrefs = 0; /* the caller owns the counts now; the array stays ours */
    return eb->refs;
}
