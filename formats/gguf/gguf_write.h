/* GGUF writer (v3): metadata of every GGUF value type, nested arrays, and
 * tensors with their data aligned. Used by tools that make GGUF files
 * (synth, quantize) and by the tests. A static library; the reader is the
 * gguf format plugin.
 *
 * The writer keeps pointers: metadata values (and the arrays and strings
 * they point to) and tensor data must stay valid until px_gguf_write
 * returns. */
#ifndef PLEXUS_GGUF_WRITE_H
#define PLEXUS_GGUF_WRITE_H

#include "plexus/plugin.h"

typedef struct px_gguf_writer px_gguf_writer;

/* alignment: a power of two (GGUF's default is 32); written as
 * general.alignment when it is not 32. */
px_status px_gguf_writer_create(uint32_t alignment, px_gguf_writer **out);
void px_gguf_writer_destroy(px_gguf_writer *w);
/* Message of the last error of this writer. */
const char *px_gguf_writer_error(const px_gguf_writer *w);

px_status px_gguf_add_meta(px_gguf_writer *w, const char *key, const px_meta_value *v);
/* Convenience forms. */
px_status px_gguf_add_u32(px_gguf_writer *w, const char *key, uint32_t v);
px_status px_gguf_add_f32(px_gguf_writer *w, const char *key, float v);
px_status px_gguf_add_str(px_gguf_writer *w, const char *key, const char *s);

/* A tensor with a row-major shape (the writer reverses it to GGUF's
 * innermost-first order); `data` holds px_dtype_row_size(dtype, numel) bytes. */
px_status px_gguf_add_tensor(px_gguf_writer *w, const char *name, px_dtype dtype, int32_t rank, const int64_t *ne,
                             const void *data);

/* A tensor whose data is made while the file is written, one tensor at a
 * time (so a large model never sits in memory whole): fill(user, name, dst,
 * nbytes) writes the tensor's nbytes bytes into dst and returns PX_OK. */
typedef px_status (*px_gguf_fill_fn)(void *user, const char *name, void *dst, uint64_t nbytes);
px_status px_gguf_add_tensor_fill(px_gguf_writer *w, const char *name, px_dtype dtype, int32_t rank, const int64_t *ne,
                                  px_gguf_fill_fn fill, void *user);

/* Write the file: to "<path>.tmp", then renamed over `path`, so a failed
 * write never leaves a partial file under the final name. */
px_status px_gguf_write(px_gguf_writer *w, const char *path);

#endif
