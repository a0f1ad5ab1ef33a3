/* ONNX protobuf decoding: a zero-copy wire-format reader (see onnx_pb.h).
 *
 * Wire format facts used here: a field key is a varint (number << 3 | wire
 * type); wire types 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32;
 * repeated scalars may be packed (one length-delimited run) or not; unknown
 * fields are skipped. Every length is checked against the enclosing span. */
#include "onnx_pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/dtype.h"

/* ---- arena -------------------------------------------------------------------- */

typedef struct onx_block {
    struct onx_block *next;
    size_t used, cap;
    max_align_t data[];
} onx_block;

struct onx_arena {
    onx_block *head;
};

onx_arena *onx_arena_create(void) { return calloc(1, sizeof(onx_arena)); }

void onx_arena_destroy(onx_arena *a) {
    if (!a) return;
    for (onx_block *b = a->head, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(a);
}

void *onx_alloc(onx_arena *a, size_t n) {
    const size_t al = sizeof(max_align_t);
    n = (n + al - 1) / al * al;
    if (n == 0) n = al;
    onx_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof(onx_block) + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* ---- reader ------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *base; /* start of the whole buffer (for byte offsets in messages) */
    const uint8_t *p, *end;
    onx_arena *a;
    char *err;
    size_t err_cap;
    int depth;
} rd;

typedef struct fld {
    uint32_t num;
    int wt;
    uint64_t v;        /* varint / fixed value */
    onx_bytes span;    /* length-delimited payload */
    const uint8_t *at; /* where the field starts */
} fld;

static px_status fail(rd *r, const uint8_t *at, const char *fmt, ...) PX_PRINTF(3, 4);
static px_status fail(rd *r, const uint8_t *at, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->err_cap) snprintf(r->err, r->err_cap, "%s (at byte %llu)", msg, (unsigned long long)(at - r->base));
    return PX_ERR_FORMAT;
}

static px_status oom(rd *r) {
    if (r->err_cap) snprintf(r->err, r->err_cap, "out of memory");
    return PX_ERR_NO_MEMORY;
}

static int varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    const uint8_t *p = *pp;
    for (int s = 0; s < 64; s += 7) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Next field of the current span; 0 at the end, 1 with a field, <0 error. */
static int next(rd *r, fld *f, px_status *st) {
    memset(f, 0, sizeof *f);
    if (r->p >= r->end) return 0;
    f->at = r->p;
    uint64_t key;
    if (varint(&r->p, r->end, &key)) return *st = fail(r, f->at, "truncated field key"), -1;
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (f->num == 0 || key >> 3 > 0x1fffffff) return *st = fail(r, f->at, "invalid field number"), -1;
    switch (f->wt) {
    case 0:
        if (varint(&r->p, r->end, &f->v)) return *st = fail(r, f->at, "truncated varint (field %u)", f->num), -1;
        return 1;
    case 1:
        if (r->end - r->p < 8) return *st = fail(r, f->at, "truncated fixed64 (field %u)", f->num), -1;
        memcpy(&f->v, r->p, 8);
        r->p += 8;
        return 1;
    case 5: {
        if (r->end - r->p < 4) return *st = fail(r, f->at, "truncated fixed32 (field %u)", f->num), -1;
        uint32_t v;
        memcpy(&v, r->p, 4);
        f->v = v;
        r->p += 4;
        return 1;
    }
    case 2: {
        uint64_t n;
        if (varint(&r->p, r->end, &n)) return *st = fail(r, f->at, "truncated length (field %u)", f->num), -1;
        if (n > (uint64_t)(r->end - r->p))
            return *st = fail(r, f->at, "field %u: length %llu runs past the end of its message", f->num,
                              (unsigned long long)n), -1;
        f->span.p = r->p;
        f->span.n = n;
        r->p += n;
        return 1;
    }
    default: return *st = fail(r, f->at, "unsupported wire type %d (field %u)", f->wt, f->num), -1;
    }
}

/* A sub-reader over a span. */
static rd sub(const rd *r, onx_bytes s) {
    rd c = *r;
    c.p = s.p;
    c.end = s.p + s.n;
    return c;
}

static char *dupstr(rd *r, onx_bytes s) {
    char *d = onx_alloc(r->a, s.n + 1);
    if (d && s.n) memcpy(d, s.p, s.n);
    return d;
}

static px_status want(rd *r, const fld *f, int wt, const char *what) {
    if (f->wt != wt) return fail(r, f->at, "%s: unexpected wire type %d", what, f->wt);
    return PX_OK;
}

/* Count the occurrences of each field number < 32 in a span. */
static px_status count_fields(rd *r, onx_bytes s, uint32_t *counts) {
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    memset(counts, 0, 32 * sizeof *counts);
    while ((k = next(&c, &f, &st)) > 0)
        if (f.num < 32) counts[f.num]++;
    return k < 0 ? st : PX_OK;
}

/* Elements of a repeated scalar field (packed or one occurrence). kind:
 * 'v' varint, 'f' fixed32, 'd' fixed64. Calls emit(ctx, index, value). */
typedef struct scalars {
    int64_t n;
} scalars;

static px_status scalar_count(rd *r, const fld *f, char kind, int64_t *n) {
    if (f->wt != 2) {
        *n += 1;
        return PX_OK;
    }
    if (kind == 'f') {
        if (f->span.n % 4) return fail(r, f->at, "packed fixed32 field %u has %llu bytes", f->num, (unsigned long long)f->span.n);
        *n += (int64_t)(f->span.n / 4);
    } else if (kind == 'd') {
        if (f->span.n % 8) return fail(r, f->at, "packed fixed64 field %u has %llu bytes", f->num, (unsigned long long)f->span.n);
        *n += (int64_t)(f->span.n / 8);
    } else {
        int64_t c = 0;
        for (uint64_t i = 0; i < f->span.n; i++)
            if (!(f->span.p[i] & 0x80)) c++;
        if (f->span.n && (f->span.p[f->span.n - 1] & 0x80)) return fail(r, f->at, "packed varints of field %u are truncated", f->num);
        *n += c;
    }
    return PX_OK;
}

/* Append the elements of one occurrence to out (as uint64 bit patterns). */
static px_status scalar_read(rd *r, const fld *f, char kind, uint64_t *out, int64_t *pos, int64_t cap) {
    if (f->wt != 2) {
        int ok = (kind == 'v' && f->wt == 0) || (kind == 'f' && f->wt == 5) || (kind == 'd' && f->wt == 1);
        if (!ok) return fail(r, f->at, "field %u: unexpected wire type %d", f->num, f->wt);
        if (*pos >= cap) return fail(r, f->at, "field %u: too many elements", f->num);
        out[(*pos)++] = f->v;
        return PX_OK;
    }
    const uint8_t *p = f->span.p, *e = f->span.p + f->span.n;
    while (p < e) {
        uint64_t v = 0;
        if (kind == 'v') {
            if (varint(&p, e, &v)) return fail(r, f->at, "field %u: bad packed varint", f->num);
        } else if (kind == 'f') {
            uint32_t w;
            memcpy(&w, p, 4);
            v = w;
            p += 4;
        } else {
            memcpy(&v, p, 8);
            p += 8;
        }
        if (*pos >= cap) return fail(r, f->at, "field %u: too many elements", f->num);
        out[(*pos)++] = v;
    }
    return PX_OK;
}

/* All elements of repeated scalar field `num` of a message span. */
static px_status scalars_of(rd *r, onx_bytes msg, uint32_t num, char kind, uint64_t **out, int64_t *out_n) {
    rd c = sub(r, msg);
    fld f;
    px_status st = PX_OK;
    int k;
    int64_t n = 0;
    while ((k = next(&c, &f, &st)) > 0)
        if (f.num == num && (st = scalar_count(r, &f, kind, &n))) return st;
    if (k < 0) return st;
    *out_n = n;
    *out = NULL;
    if (n == 0) return PX_OK;
    if ((uint64_t)n > SIZE_MAX / 8 || !(*out = onx_alloc(r->a, (size_t)n * 8))) return oom(r);
    c = sub(r, msg);
    int64_t pos = 0;
    while ((k = next(&c, &f, &st)) > 0)
        if (f.num == num && (st = scalar_read(r, &f, kind, *out, &pos, n))) return st;
    return k < 0 ? st : PX_OK;
}

/* ---- messages ---------------------------------------------------------------- */

static px_status dec_graph(rd *r, onx_bytes s, onx_graph *g);

static px_status dec_tensor(rd *r, onx_bytes s, onx_tensor *t) {
    memset(t, 0, sizeof *t);
    t->msg = s;
    t->name = "";
    t->ext_offset = t->ext_length = -1;
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    int64_t nd = 0;
    while ((k = next(&c, &f, &st)) > 0) {
        switch (f.num) {
        case 1: { /* dims */
            int64_t before = nd;
            if ((st = scalar_count(r, &f, 'v', &nd))) return st;
            if (nd > ONX_MAX_RANK) return fail(r, f.at, "tensor has more than %d dims", ONX_MAX_RANK);
            int64_t pos = before;
            uint64_t tmp[ONX_MAX_RANK];
            if ((st = scalar_read(r, &f, 'v', tmp, &pos, ONX_MAX_RANK))) return st;
            for (int64_t i = before; i < nd; i++) t->dims[i] = (int64_t)tmp[i];
            break;
        }
        case 2: if ((st = want(r, &f, 0, "data_type"))) return st; t->data_type = (int32_t)f.v; break;
        case 8: if ((st = want(r, &f, 2, "name"))) return st; if (!(t->name = dupstr(r, f.span))) return oom(r); break;
        case 9: if ((st = want(r, &f, 2, "raw_data"))) return st; t->has_raw = 1; t->raw = f.span; break;
        case 14: if ((st = want(r, &f, 0, "data_location"))) return st; t->external = f.v == 1; break;
        case 13: { /* external_data: StringStringEntryProto key=1 value=2 */
            if ((st = want(r, &f, 2, "external_data"))) return st;
            rd e = sub(r, f.span);
            fld g;
            onx_bytes key = {0}, val = {0};
            int kk;
            while ((kk = next(&e, &g, &st)) > 0) {
                if (g.wt != 2) continue;
                if (g.num == 1) key = g.span;
                else if (g.num == 2) val = g.span;
            }
            if (kk < 0) return st;
            char *v = dupstr(r, val);
            if (!v) return oom(r);
            if (key.n == 8 && !memcmp(key.p, "location", 8)) t->location = v;
            else if ((key.n == 6 && !memcmp(key.p, "offset", 6)) || (key.n == 6 && !memcmp(key.p, "length", 6))) {
                char *endp;
                long long x = strtoll(v, &endp, 10);
                if (*v == 0 || *endp || x < 0) return fail(r, f.at, "external_data %.*s is not a number: '%s'", 6, (const char *)key.p, v);
                if (key.p[0] == 'o') t->ext_offset = x;
                else t->ext_length = x;
            }
            break;
        }
        default: break;
        }
    }
    if (k < 0) return st;
    t->rank = (int32_t)nd;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0) return fail(r, s.p, "tensor '%s' has a negative dim", t->name);
    return PX_OK;
}

static px_status dec_shape(rd *r, onx_bytes s, onx_value_info *v) {
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    v->has_shape = 1;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.num != 1 || f.wt != 2) continue;
        if (v->rank >= ONX_MAX_RANK) return fail(r, f.at, "value '%s' has more than %d dims", v->name, ONX_MAX_RANK);
        int i = v->rank++;
        v->dims[i] = -1;
        rd d = sub(r, f.span);
        fld g;
        int kk;
        while ((kk = next(&d, &g, &st)) > 0) {
            if (g.num == 1 && g.wt == 0) v->dims[i] = (int64_t)g.v;
            else if (g.num == 2 && g.wt == 2 && !(v->params[i] = dupstr(r, g.span))) return oom(r);
        }
        if (kk < 0) return st;
    }
    return k < 0 ? st : PX_OK;
}

static px_status dec_type(rd *r, onx_bytes s, onx_value_info *v) {
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 1 || f.num == 8) { /* tensor_type / sparse_tensor_type */
            v->kind = f.num == 1 ? ONX_TYPE_TENSOR : ONX_TYPE_SPARSE;
            rd t = sub(r, f.span);
            fld g;
            int kk;
            while ((kk = next(&t, &g, &st)) > 0) {
                if (g.num == 1 && g.wt == 0) v->elem_type = (int32_t)g.v;
                else if (g.num == 2 && g.wt == 2 && (st = dec_shape(r, g.span, v))) return st;
            }
            if (kk < 0) return st;
        } else if (f.num == 4) v->kind = ONX_TYPE_SEQUENCE;
        else if (f.num == 5) v->kind = ONX_TYPE_MAP;
        else if (f.num == 9) v->kind = ONX_TYPE_OPTIONAL;
    }
    return k < 0 ? st : PX_OK;
}

static px_status dec_value_info(rd *r, onx_bytes s, onx_value_info *v) {
    memset(v, 0, sizeof *v);
    v->name = "";
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 1 && !(v->name = dupstr(r, f.span))) return oom(r);
        if (f.num == 2 && (st = dec_type(r, f.span, v))) return st;
    }
    return k < 0 ? st : PX_OK;
}

static px_status enter(rd *r, const uint8_t *at) {
    if (++r->depth > 32) return fail(r, at, "messages nested more than 32 deep");
    return PX_OK;
}

static px_status dec_attr(rd *r, onx_bytes s, onx_attr *a) {
    memset(a, 0, sizeof *a);
    a->name = "";
    uint32_t cnt[32];
    px_status st = count_fields(r, s, cnt);
    if (st) return st;
    if ((cnt[10] && !(a->tensors = onx_alloc(r->a, cnt[10] * sizeof *a->tensors))) ||
        (cnt[11] && !(a->graphs = onx_alloc(r->a, cnt[11] * sizeof *a->graphs))) ||
        (cnt[9] && !(a->strings = onx_alloc(r->a, cnt[9] * sizeof *a->strings))))
        return oom(r);
    int32_t nt = 0, ng = 0, ns = 0, nfl = 0, nin = 0;
    rd c = sub(r, s);
    fld f;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        switch (f.num) {
        case 1: if ((st = want(r, &f, 2, "attribute name"))) return st; if (!(a->name = dupstr(r, f.span))) return oom(r); break;
        case 21: if ((st = want(r, &f, 2, "ref_attr_name"))) return st; if (!(a->ref_attr_name = dupstr(r, f.span))) return oom(r); break;
        case 20: if ((st = want(r, &f, 0, "attribute type"))) return st; a->type = (int32_t)f.v; break;
        case 2: {
            if ((st = want(r, &f, 5, "attribute f"))) return st;
            uint32_t w = (uint32_t)f.v;
            memcpy(&a->f, &w, 4);
            break;
        }
        case 3: if ((st = want(r, &f, 0, "attribute i"))) return st; a->i = (int64_t)f.v; break;
        case 4: if ((st = want(r, &f, 2, "attribute s"))) return st; a->s = f.span; break;
        case 5:
            if ((st = want(r, &f, 2, "attribute t"))) return st;
            if (!(a->t = onx_alloc(r->a, sizeof *a->t))) return oom(r);
            if ((st = dec_tensor(r, f.span, a->t))) return st;
            break;
        case 6:
            if ((st = want(r, &f, 2, "attribute g"))) return st;
            if (!(a->g = onx_alloc(r->a, sizeof *a->g))) return oom(r);
            if ((st = enter(r, f.at)) || (st = dec_graph(r, f.span, a->g))) return st;
            r->depth--;
            break;
        case 9: if ((st = want(r, &f, 2, "attribute strings"))) return st; a->strings[ns++] = f.span; break;
        case 10:
            if ((st = want(r, &f, 2, "attribute tensors"))) return st;
            if (!(a->tensors[nt] = onx_alloc(r->a, sizeof(onx_tensor)))) return oom(r);
            if ((st = dec_tensor(r, f.span, a->tensors[nt++]))) return st;
            break;
        case 11:
            if ((st = want(r, &f, 2, "attribute graphs"))) return st;
            if (!(a->graphs[ng] = onx_alloc(r->a, sizeof(onx_graph)))) return oom(r);
            if ((st = enter(r, f.at)) || (st = dec_graph(r, f.span, a->graphs[ng++]))) return st;
            r->depth--;
            break;
        default: break;
        }
    }
    if (k < 0) return st;
    uint64_t *v = NULL;
    int64_t n = 0;
    if ((st = scalars_of(r, s, 7, 'f', &v, &n))) return st;
    if (n) {
        if (!(a->floats = onx_alloc(r->a, (size_t)n * sizeof(float)))) return oom(r);
        for (int64_t i = 0; i < n; i++) {
            uint32_t w = (uint32_t)v[i];
            memcpy(&a->floats[i], &w, 4);
        }
        nfl = (int32_t)n;
    }
    if ((st = scalars_of(r, s, 8, 'v', &v, &n))) return st;
    if (n) {
        a->ints = (int64_t *)v;
        nin = (int32_t)n;
    }
    if (a->type == ONX_ATTR_UNDEFINED) { /* IR < 2 files leave the type out: infer it */
        if (a->t) a->type = ONX_ATTR_TENSOR;
        else if (a->g) a->type = ONX_ATTR_GRAPH;
        else if (a->floats) a->type = ONX_ATTR_FLOATS;
        else if (a->ints) a->type = ONX_ATTR_INTS;
        else if (ns) a->type = ONX_ATTR_STRINGS;
        else if (a->s.p) a->type = ONX_ATTR_STRING;
    }
    /* n counts the list the type names (0 when the file holds another) */
    a->n = a->type == ONX_ATTR_FLOATS ? nfl : a->type == ONX_ATTR_INTS ? nin : a->type == ONX_ATTR_STRINGS ? ns
         : a->type == ONX_ATTR_TENSORS ? nt : a->type == ONX_ATTR_GRAPHS ? ng : 0;
    if (a->type != ONX_ATTR_FLOATS) a->floats = NULL;
    if (a->type != ONX_ATTR_INTS) a->ints = NULL;
    if (a->type != ONX_ATTR_STRINGS) a->strings = NULL;
    if (a->type != ONX_ATTR_TENSORS) a->tensors = NULL;
    if (a->type != ONX_ATTR_GRAPHS) a->graphs = NULL;
    return PX_OK;
}

static px_status dec_strings(rd *r, onx_bytes s, uint32_t num, int32_t n, const char ***out) {
    *out = NULL;
    if (!n) return PX_OK;
    if (!(*out = onx_alloc(r->a, (size_t)n * sizeof **out))) return oom(r);
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k, i = 0;
    while ((k = next(&c, &f, &st)) > 0)
        if (f.num == num) {
            if ((st = want(r, &f, 2, "string"))) return st;
            if (!((*out)[i++] = dupstr(r, f.span))) return oom(r);
        }
    return k < 0 ? st : PX_OK;
}

static px_status dec_node(rd *r, onx_bytes s, onx_node *n) {
    memset(n, 0, sizeof *n);
    n->name = n->op_type = n->domain = "";
    uint32_t cnt[32];
    px_status st = count_fields(r, s, cnt);
    if (st) return st;
    n->n_inputs = (int32_t)cnt[1];
    n->n_outputs = (int32_t)cnt[2];
    n->n_attrs = (int32_t)cnt[5];
    if ((st = dec_strings(r, s, 1, n->n_inputs, &n->inputs)) || (st = dec_strings(r, s, 2, n->n_outputs, &n->outputs)))
        return st;
    if (n->n_attrs && !(n->attrs = onx_alloc(r->a, n->n_attrs * sizeof *n->attrs))) return oom(r);
    rd c = sub(r, s);
    fld f;
    int k, ia = 0;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 3 && !(n->name = dupstr(r, f.span))) return oom(r);
        if (f.num == 4 && !(n->op_type = dupstr(r, f.span))) return oom(r);
        if (f.num == 7 && !(n->domain = dupstr(r, f.span))) return oom(r);
        if (f.num == 5 && (st = dec_attr(r, f.span, &n->attrs[ia++]))) return st;
    }
    n->n_attrs = ia; /* attribute fields of another wire type are skipped */
    return k < 0 ? st : PX_OK;
}

#define ALLOC_N(ptr, n) ((n) == 0 || ((ptr) = onx_alloc(r->a, (size_t)(n) * sizeof *(ptr))) != NULL)

static px_status dec_graph(rd *r, onx_bytes s, onx_graph *g) {
    memset(g, 0, sizeof *g);
    g->name = "";
    uint32_t cnt[32];
    px_status st = count_fields(r, s, cnt);
    if (st) return st;
    if (!ALLOC_N(g->nodes, cnt[1]) || !ALLOC_N(g->inits, cnt[5]) || !ALLOC_N(g->inputs, cnt[11]) ||
        !ALLOC_N(g->outputs, cnt[12]) || !ALLOC_N(g->value_infos, cnt[13]))
        return oom(r);
    rd c = sub(r, s);
    fld f;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.wt != 2) continue;
        switch (f.num) {
        case 1: st = dec_node(r, f.span, &g->nodes[g->n_nodes++]); break;
        case 2: if (!(g->name = dupstr(r, f.span))) return oom(r); break;
        case 5: st = dec_tensor(r, f.span, &g->inits[g->n_inits++]); break;
        case 11: st = dec_value_info(r, f.span, &g->inputs[g->n_inputs++]); break;
        case 12: st = dec_value_info(r, f.span, &g->outputs[g->n_outputs++]); break;
        case 13: st = dec_value_info(r, f.span, &g->value_infos[g->n_value_infos++]); break;
        case 15: g->n_sparse_inits++; break;
        default: break;
        }
        if (st) return st;
    }
    return k < 0 ? st : PX_OK;
}

static px_status dec_opset(rd *r, onx_bytes s, onx_opset *o) {
    o->domain = "";
    o->version = 0;
    rd c = sub(r, s);
    fld f;
    px_status st = PX_OK;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.num == 1 && f.wt == 2 && !(o->domain = dupstr(r, f.span))) return oom(r);
        if (f.num == 2 && f.wt == 0) o->version = (int64_t)f.v;
    }
    return k < 0 ? st : PX_OK;
}

static px_status dec_function(rd *r, onx_bytes s, onx_function *fn) {
    memset(fn, 0, sizeof *fn);
    fn->name = fn->domain = "";
    uint32_t cnt[32];
    px_status st = count_fields(r, s, cnt);
    if (st) return st;
    fn->n_inputs = (int32_t)cnt[4];
    fn->n_outputs = (int32_t)cnt[5];
    fn->n_attrs = (int32_t)cnt[6];
    if ((st = dec_strings(r, s, 4, fn->n_inputs, &fn->inputs)) || (st = dec_strings(r, s, 5, fn->n_outputs, &fn->outputs)) ||
        (st = dec_strings(r, s, 6, fn->n_attrs, &fn->attr_names)))
        return st;
    if (!ALLOC_N(fn->nodes, cnt[7]) || !ALLOC_N(fn->opsets, cnt[9])) return oom(r);
    rd c = sub(r, s);
    fld f;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
        if (f.wt != 2) continue;
        if (f.num == 1 && !(fn->name = dupstr(r, f.span))) return oom(r);
        if (f.num == 10 && !(fn->domain = dupstr(r, f.span))) return oom(r);
        if (f.num == 7 && (st = dec_node(r, f.span, &fn->nodes[fn->n_nodes++]))) return st;
        if (f.num == 9 && (st = dec_opset(r, f.span, &fn->opsets[fn->n_opsets++]))) return st;
    }
    return k < 0 ? st : PX_OK;
}

px_status onx_decode_model(onx_arena *a, const uint8_t *buf, uint64_t n, onx_model *m, char *err, size_t err_cap) {
    rd r = {buf, buf, buf + n, a, err, err_cap, 0};
    memset(m, 0, sizeof *m);
    m->producer_name = m->producer_version = m->domain = "";
    onx_bytes all = {buf, n};
    uint32_t cnt[32];
    px_status st = count_fields(&r, all, cnt);
    if (st) return st;
    if (!cnt[7]) return fail(&r, buf, "no graph (not an ONNX model)");
    if (!(m->graph = onx_alloc(a, sizeof *m->graph))) return oom(&r);
    if (cnt[8] && !(m->opsets = onx_alloc(a, cnt[8] * sizeof *m->opsets))) return oom(&r);
    /* functions are field 25 (>= 32): count them separately */
    int32_t nf = 0, np = 0;
    {
        rd c = r;
        fld f;
        int k;
        while ((k = next(&c, &f, &st)) > 0) {
            if (f.num == 25) nf++;
            if (f.num == 14) np++;
        }
        if (k < 0) return st;
    }
    if ((nf && !(m->functions = onx_alloc(a, nf * sizeof *m->functions))) ||
        (np && (!(m->prop_keys = onx_alloc(a, np * sizeof(char *))) || !(m->prop_values = onx_alloc(a, np * sizeof(char *))))))
        return oom(&r);
    fld f;
    int k, graphs = 0;
    while ((k = next(&r, &f, &st)) > 0) {
        switch (f.num) {
        case 1: if ((st = want(&r, &f, 0, "ir_version"))) return st; m->ir_version = (int64_t)f.v; break;
        case 2: if ((st = want(&r, &f, 2, "producer_name"))) return st; if (!(m->producer_name = dupstr(&r, f.span))) return oom(&r); break;
        case 3: if ((st = want(&r, &f, 2, "producer_version"))) return st; if (!(m->producer_version = dupstr(&r, f.span))) return oom(&r); break;
        case 4: if ((st = want(&r, &f, 2, "domain"))) return st; if (!(m->domain = dupstr(&r, f.span))) return oom(&r); break;
        case 5: if ((st = want(&r, &f, 0, "model_version"))) return st; m->model_version = (int64_t)f.v; break;
        case 7:
            if ((st = want(&r, &f, 2, "graph"))) return st;
            if (graphs++) return fail(&r, f.at, "more than one graph");
            if ((st = dec_graph(&r, f.span, m->graph))) return st;
            break;
        case 8:
            if ((st = want(&r, &f, 2, "opset_import"))) return st;
            if ((st = dec_opset(&r, f.span, &m->opsets[m->n_opsets++]))) return st;
            break;
        case 14: {
            if ((st = want(&r, &f, 2, "metadata_props"))) return st;
            rd e = sub(&r, f.span);
            fld g;
            int kk;
            const char *key = "", *val = "";
            while ((kk = next(&e, &g, &st)) > 0) {
                if (g.wt != 2) continue;
                if (g.num == 1 && !(key = dupstr(&r, g.span))) return oom(&r);
                if (g.num == 2 && !(val = dupstr(&r, g.span))) return oom(&r);
            }
            if (kk < 0) return st;
            m->prop_keys[m->n_props] = key;
            m->prop_values[m->n_props++] = val;
            break;
        }
        case 25:
            if ((st = want(&r, &f, 2, "functions"))) return st;
            if ((st = dec_function(&r, f.span, &m->functions[m->n_functions++]))) return st;
            break;
        default: break;
        }
    }
    return k < 0 ? st : PX_OK;
}

px_status onx_decode_tensor(onx_arena *a, const uint8_t *buf, uint64_t n, onx_tensor *out, char *err, size_t err_cap) {
    rd r = {buf, buf, buf + n, a, err, err_cap, 0};
    onx_bytes all = {buf, n};
    /* check the framing first so that a truncated file is an error */
    rd c = r;
    fld f;
    px_status st = PX_OK;
    int k;
    while ((k = next(&c, &f, &st)) > 0) {
    }
    if (k < 0) return st;
    return dec_tensor(&r, all, out);
}

/* ---- dtypes and tensor data ------------------------------------------------------ */

int onx_to_px_dtype(int32_t t) {
    switch (t) {
    case ONX_FLOAT: return PX_F32;
    case ONX_DOUBLE: return PX_F64;
    case ONX_FLOAT16: return PX_F16;
    case ONX_BFLOAT16: return PX_BF16;
    case ONX_INT8: return PX_I8;
    case ONX_INT16: return PX_I16;
    case ONX_INT32: return PX_I32;
    case ONX_INT64: return PX_I64;
    case ONX_UINT8: return PX_U8;
    case ONX_UINT16: return PX_U16;
    case ONX_UINT32: return PX_U32;
    case ONX_UINT64: return PX_U64;
    case ONX_BOOL: return PX_BOOL;
    case ONX_FLOAT8E4M3FN: return PX_F8E4M3FN;
    case ONX_FLOAT8E4M3FNUZ: return PX_F8E4M3FNUZ;
    case ONX_FLOAT8E5M2: return PX_F8E5M2;
    case ONX_FLOAT8E5M2FNUZ: return PX_F8E5M2FNUZ;
    case ONX_FLOAT8E8M0: return PX_F8E8M0;
    case ONX_FLOAT4E2M1: return PX_F4E2M1;
    case ONX_INT4: return PX_I4;
    case ONX_UINT4: return PX_U4;
    case ONX_INT2: return PX_I2;
    case ONX_UINT2: return PX_U2;
    default: return -1;
    }
}

int32_t onx_from_px_dtype(px_dtype t) {
    static const int32_t map[PX_DTYPE_COUNT] = {
        [PX_F32] = ONX_FLOAT, [PX_F16] = ONX_FLOAT16, [PX_BF16] = ONX_BFLOAT16, [PX_F64] = ONX_DOUBLE,
        [PX_I8] = ONX_INT8, [PX_I16] = ONX_INT16, [PX_I32] = ONX_INT32, [PX_I64] = ONX_INT64,
        [PX_U8] = ONX_UINT8, [PX_U16] = ONX_UINT16, [PX_U32] = ONX_UINT32, [PX_U64] = ONX_UINT64,
        [PX_BOOL] = ONX_BOOL, [PX_F8E4M3FN] = ONX_FLOAT8E4M3FN, [PX_F8E4M3FNUZ] = ONX_FLOAT8E4M3FNUZ,
        [PX_F8E5M2] = ONX_FLOAT8E5M2, [PX_F8E5M2FNUZ] = ONX_FLOAT8E5M2FNUZ, [PX_F8E8M0] = ONX_FLOAT8E8M0,
        [PX_F4E2M1] = ONX_FLOAT4E2M1, [PX_I4] = ONX_INT4, [PX_U4] = ONX_UINT4, [PX_I2] = ONX_INT2,
        [PX_U2] = ONX_UINT2};
    return (unsigned)t < PX_DTYPE_COUNT ? map[t] : ONX_UNDEFINED; /* 0 (UNDEFINED) for block types */
}

/* Bits per element of the ONNX types stored packed (0 for the others). */
int onx_packed_bits(int32_t t) {
    if (t == ONX_INT4 || t == ONX_UINT4 || t == ONX_FLOAT4E2M1) return 4;
    return t == ONX_INT2 || t == ONX_UINT2 ? 2 : 0;
}

const char *onx_type_name(int32_t t) {
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                        "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
                                        "float8e5m2fnuz", "uint4", "int4", "float4e2m1", "float8e8m0",
                                        "uint2", "int2"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0])) return names[t];
    return "unknown";
}

int64_t onx_tensor_numel(const onx_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) return -1;
        if (t->dims[i] && n > INT64_MAX / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n;
}

/* Unpack n elements of `bits` bits (low bits first) into one byte each,
 * sign-extended when `sgn`. */
static void unpack_bits(const uint8_t *src, int64_t n, int bits, int sgn, uint8_t *dst) {
    const unsigned mask = (1u << bits) - 1u, half = 1u << (bits - 1);
    for (int64_t i = 0; i < n; i++) {
        const uint64_t bit = (uint64_t)i * (uint64_t)bits;
        unsigned v = (src[bit / 8] >> (bit % 8)) & mask;
        if (sgn && (v & half)) v |= ~mask; /* sign-extend */
        dst[i] = (uint8_t)v;
    }
}

px_status onx_tensor_data(onx_arena *a, const onx_tensor *t, const uint8_t *ext_base, uint64_t ext_len,
                          const void **out, uint64_t *out_nbytes, char *err, size_t err_cap) {
    int dt = onx_to_px_dtype(t->data_type);
    if (dt < 0) {
        snprintf(err, err_cap, "tensor '%s': element type %s is not supported", t->name, onx_type_name(t->data_type));
        return PX_ERR_UNSUPPORTED;
    }
    int64_t n = onx_tensor_numel(t);
    size_t es = onx_px_size((px_dtype)dt);
    if (n < 0 || (uint64_t)n > UINT64_MAX / es) {
        snprintf(err, err_cap, "tensor '%s': dims overflow", t->name);
        return PX_ERR_FORMAT;
    }
    uint64_t nb = (uint64_t)n * es;
    *out_nbytes = nb;
    /* 4-bit and 2-bit types are stored packed: `stored` bytes, unpacked below */
    const int bits = onx_packed_bits(t->data_type);
    const uint64_t stored = bits ? ((uint64_t)n / 8) * (uint64_t)bits + (((uint64_t)n % 8) * (uint64_t)bits + 7) / 8 : nb;
    const uint8_t *packed = NULL;
    if (t->external) {
        if (!ext_base) {
            snprintf(err, err_cap, "tensor '%s': external data file '%s' is not available", t->name,
                     t->location ? t->location : "(no location)");
            return PX_ERR_IO;
        }
        uint64_t off = t->ext_offset < 0 ? 0 : (uint64_t)t->ext_offset;
        uint64_t len = t->ext_length < 0 ? stored : (uint64_t)t->ext_length;
        if (len != stored || off > ext_len || ext_len - off < len) {
            snprintf(err, err_cap, "tensor '%s': external data [%llu, +%llu) does not hold %llu bytes inside '%s' (%llu bytes)",
                     t->name, (unsigned long long)off, (unsigned long long)len, (unsigned long long)stored, t->location,
                     (unsigned long long)ext_len);
            return PX_ERR_FORMAT;
        }
        packed = ext_base + off;
    } else if (t->has_raw) {
        if (t->raw.n != stored) {
            snprintf(err, err_cap, "tensor '%s': raw_data has %llu bytes, its shape needs %llu", t->name,
                     (unsigned long long)t->raw.n, (unsigned long long)stored);
            return PX_ERR_FORMAT;
        }
        packed = t->raw.p;
    }
    /* in place when the bytes are aligned to the element: protobuf does not
     * align raw_data, and kernels read whole elements */
    if (packed && !bits && (uintptr_t)packed % es == 0) {
        *out = packed;
        return PX_OK;
    }
    if (!packed && !t->has_raw && !t->external && nb > t->msg.n * 8 + 8) { /* typed fields: at most 8 bytes of value per stored byte */
        snprintf(err, err_cap, "tensor '%s': its shape needs %llu bytes, the message holds %llu", t->name,
                 (unsigned long long)nb, (unsigned long long)t->msg.n);
        return PX_ERR_FORMAT;
    }
    uint8_t *d = onx_alloc(a, nb ? nb : 1);
    if (!d) {
        snprintf(err, err_cap, "out of memory");
        return PX_ERR_NO_MEMORY;
    }
    if (packed && !bits) {
        if (nb) memcpy(d, packed, nb);
        *out = d;
        return PX_OK;
    }
    if (packed) {
        unpack_bits(packed, n, bits, dt == PX_I4 || dt == PX_I2, d);
        *out = d;
        return PX_OK;
    }
    /* typed fields */
    uint32_t num;
    char kind;
    switch (t->data_type) {
    case ONX_FLOAT: num = 4; kind = 'f'; break;
    case ONX_DOUBLE: num = 10; kind = 'd'; break;
    case ONX_INT64: num = 7; kind = 'v'; break;
    case ONX_UINT32: case ONX_UINT64: num = 11; kind = 'v'; break;
    default: num = 5; kind = 'v'; break; /* int32_data: small ints, bool, f16/bf16/float8 bits, packed bytes */
    }
    rd r = {t->msg.p, t->msg.p, t->msg.p + t->msg.n, a, err, err_cap, 0};
    uint64_t *v = NULL;
    int64_t cnt = 0;
    px_status st = scalars_of(&r, t->msg, num, kind, &v, &cnt);
    if (st) return st;
    const int64_t want = bits ? (int64_t)stored : n;
    if (cnt != want) {
        snprintf(err, err_cap, "tensor '%s': %lld values stored, its shape needs %lld", t->name, (long long)cnt, (long long)want);
        return PX_ERR_FORMAT;
    }
    if (bits) { /* one packed byte per int32_data entry */
        uint8_t *p = onx_alloc(a, stored ? stored : 1);
        if (!p) {
            snprintf(err, err_cap, "out of memory");
            return PX_ERR_NO_MEMORY;
        }
        for (int64_t i = 0; i < cnt; i++) p[i] = (uint8_t)v[i];
        unpack_bits(p, n, bits, dt == PX_I4 || dt == PX_I2, d);
        *out = d;
        return PX_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = v[i];
        void *p = d + (size_t)i * es;
        switch (es) {
        case 1: { uint8_t y = (uint8_t)x; memcpy(p, &y, 1); break; }
        case 2: { uint16_t y = (uint16_t)x; memcpy(p, &y, 2); break; }
        case 4: { uint32_t y = (uint32_t)x; memcpy(p, &y, 4); break; }
        default: memcpy(p, &x, 8); break;
        }
    }
    *out = d;
    return PX_OK;
}

/* ---- encoding ------------------------------------------------------------------- */

static uint8_t *put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

uint8_t *onx_encode_tensor(const char *name, int32_t data_type, int32_t rank, const int64_t *dims, const void *raw,
                           uint64_t raw_len, uint64_t *out_len) {
    const int bits = onx_packed_bits(data_type);
    const uint64_t n_elems = raw_len; /* one byte per element when packed */
    if (bits) raw_len = (n_elems / 8) * (uint64_t)bits + ((n_elems % 8) * (uint64_t)bits + 7) / 8;
    size_t nl = name ? strlen(name) : 0;
    uint64_t cap = 64 + (uint64_t)rank * 11 + nl + raw_len;
    uint8_t *b = malloc(cap), *p = b;
    if (!b) return NULL;
    for (int i = 0; i < rank; i++) {
        p = put_varint(p, 1u << 3 | 0);
        p = put_varint(p, (uint64_t)dims[i]);
    }
    p = put_varint(p, 2u << 3 | 0);
    p = put_varint(p, (uint64_t)data_type);
    if (nl) {
        p = put_varint(p, 8u << 3 | 2);
        p = put_varint(p, nl);
        memcpy(p, name, nl);
        p += nl;
    }
    p = put_varint(p, 9u << 3 | 2);
    p = put_varint(p, raw_len);
    if (bits) { /* pack, low bits first */
        const uint8_t *e = raw;
        const unsigned mask = (1u << bits) - 1u;
        memset(p, 0, raw_len);
        for (uint64_t i = 0; i < n_elems; i++) {
            const uint64_t bit = i * (uint64_t)bits;
            p[bit / 8] |= (uint8_t)((e[i] & mask) << (bit % 8));
        }
    } else if (raw_len) {
        memcpy(p, raw, raw_len);
    }
    p += raw_len;
    *out_len = (uint64_t)(p - b);
    return b;
}
