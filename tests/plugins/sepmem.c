/* sepmem — plugin table, device, buffers and transfer counters.
 * See sepmem.h for what this test plugin is for.
 *
 * Exported besides plexus_plugin_query (tests dlopen the same path and read
 * them; the counters are process-wide and count every device of the plugin):
 *   pxtest_sepmem_counters(&uploads, &downloads, &copies)   calls
 *   pxtest_sepmem_bytes(&uploaded, &downloaded, &copied)     bytes
 *   pxtest_sepmem_kernel_runs()                              kernel calls
 *   pxtest_sepmem_live_buffers()                             buffers not freed
 *   pxtest_sepmem_reset()                                    zero the counters
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plexus/dtype.h"
#include "sepmem.h"

const px_host_api *sm_host;

/* ---- counters ---------------------------------------------------------------- */

static uint64_t g_uploads, g_downloads, g_copies;
static uint64_t g_up_bytes, g_down_bytes, g_copy_bytes;
static uint64_t g_kernel_runs;
static int64_t g_live_buffers;

#define COUNT(var, n) __atomic_add_fetch(&(var), (n), __ATOMIC_RELAXED)
#define READ(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

PX_EXPORT void pxtest_sepmem_counters(uint64_t *uploads, uint64_t *downloads, uint64_t *copies);
PX_EXPORT void pxtest_sepmem_bytes(uint64_t *uploaded, uint64_t *downloaded, uint64_t *copied);
PX_EXPORT uint64_t pxtest_sepmem_kernel_runs(void);
PX_EXPORT int64_t pxtest_sepmem_live_buffers(void);
PX_EXPORT void pxtest_sepmem_reset(void);
PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out);

PX_EXPORT void pxtest_sepmem_counters(uint64_t *uploads, uint64_t *downloads, uint64_t *copies) {
    if (uploads) *uploads = READ(g_uploads);
    if (downloads) *downloads = READ(g_downloads);
    if (copies) *copies = READ(g_copies);
}

PX_EXPORT void pxtest_sepmem_bytes(uint64_t *uploaded, uint64_t *downloaded, uint64_t *copied) {
    if (uploaded) *uploaded = READ(g_up_bytes);
    if (downloaded) *downloaded = READ(g_down_bytes);
    if (copied) *copied = READ(g_copy_bytes);
}

PX_EXPORT uint64_t pxtest_sepmem_kernel_runs(void) { return READ(g_kernel_runs); }

PX_EXPORT int64_t pxtest_sepmem_live_buffers(void) { return READ(g_live_buffers); }

PX_EXPORT void pxtest_sepmem_reset(void) {
    __atomic_store_n(&g_uploads, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_downloads, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_copies, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_up_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_down_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_copy_bytes, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&g_kernel_runs, 0, __ATOMIC_RELAXED);
}

void sm_count_kernel_run(void) { COUNT(g_kernel_runs, 1); }

/* ---- device -------------------------------------------------------------------- */

static sm_device *as_device(void *dev) {
    sm_device *d = dev;
    return d && d->magic == SM_DEVICE_MAGIC ? d : NULL;
}

sm_buffer *sm_find_buffer(sm_device *dev, void *handle) {
    if (!dev || !handle) return NULL;
    sm_buffer *found = NULL;
    pthread_mutex_lock(&dev->lock);
    for (sm_buffer *b = dev->buffers; b; b = b->next)
        if ((void *)b == handle) {
            found = b;
            break;
        }
    pthread_mutex_unlock(&dev->lock);
    if (found && found->magic != SM_BUFFER_MAGIC) return NULL;
    return found;
}

static px_status check_range(const char *fn, sm_device *d, void *handle, uint64_t offset, size_t n,
                             sm_buffer **out) {
    if (!d) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem %s: not a sepmem device handle", fn);
    sm_buffer *b = sm_find_buffer(d, handle);
    if (!b) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem %s: %p is not a live buffer of this device", fn, handle);
    if (offset > b->size || n > b->size - offset)
        return sm_host->set_error(PX_ERR_RANGE,
                                  "sepmem %s: range [%llu, %llu) is outside the buffer %p of %llu bytes", fn,
                                  (unsigned long long)offset, (unsigned long long)(offset + n), handle,
                                  (unsigned long long)b->size);
    *out = b;
    return PX_OK;
}

px_status sm_resolve(sm_device *dev, const px_tensor *t, const char *what, uint8_t **out) {
    *out = NULL;
    if (!t) return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: tensor %s is missing", what);
    if (t->data)
        return sm_host->set_error(PX_ERR_INTERNAL,
                                  "sepmem kernel: tensor %s has a host pointer %p, but this device's memory is "
                                  "not host-visible (the runtime must pass data = NULL)",
                                  what, t->data);
    if (t->rank < 0 || t->rank > PX_MAX_DIMS)
        return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: tensor %s has rank %d", what, t->rank);
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++) {
        if (t->ne[i] < 0) return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: tensor %s has dim %lld", what, (long long)t->ne[i]);
        n *= t->ne[i];
    }
    int64_t bytes = px_dtype_row_size(t->dtype, n);
    if (bytes < 0)
        return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: tensor %s: bad dtype %d or size", what, (int)t->dtype);
    if (bytes == 0) return PX_OK;
    sm_buffer *b = sm_find_buffer(dev, t->buffer);
    if (!b)
        return sm_host->set_error(PX_ERR_INTERNAL, "sepmem kernel: tensor %s: %p is not a live buffer of this device",
                                  what, t->buffer);
    if (t->offset > b->size || (uint64_t)bytes > b->size - t->offset)
        return sm_host->set_error(PX_ERR_INTERNAL,
                                  "sepmem kernel: tensor %s (%s, %lld bytes) at offset %llu is outside its buffer "
                                  "of %llu bytes",
                                  what, px_dtype_name(t->dtype), (long long)bytes, (unsigned long long)t->offset,
                                  (unsigned long long)b->size);
    *out = b->mem + t->offset;
    return PX_OK;
}

static px_status dev_get_info(void *dev, px_device_info *out) {
    if (!as_device(dev) || !out) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem get_info: bad argument");
    uint32_t size = out->struct_size ? out->struct_size : (uint32_t)sizeof *out;
    px_device_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = (uint32_t)sizeof info;
    info.kind = PX_DEVICE_GPU;
    snprintf(info.name, sizeof info.name, "%s", "sepmem test device");
    info.mem_total = 1ull << 30;
    info.mem_free = 1ull << 30;
    info.flags = 0; /* not host-visible, not unified, no import */
    info.alignment = 256;
    info.max_alloc = 0;
    memcpy(out, &info, size < sizeof info ? size : sizeof info);
    out->struct_size = size;
    return PX_OK;
}

static px_status dev_buffer_alloc(void *dev, size_t size, void **out_buffer) {
    sm_device *d = as_device(dev);
    if (!d || !out_buffer) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem buffer_alloc: bad argument");
    *out_buffer = NULL;
    sm_buffer *b = calloc(1, sizeof *b);
    uint8_t *mem = malloc(size ? size : 1);
    if (!b || !mem) {
        free(b);
        free(mem);
        return sm_host->set_error(PX_ERR_NO_MEMORY, "sepmem buffer_alloc: out of memory (%zu bytes)", size);
    }
    /* Garbage, not zeros: the runtime must not rely on fresh memory being 0. */
    for (size_t i = 0; i < size; i++) mem[i] = (uint8_t)(0xA5 ^ (i * 131));
    b->magic = SM_BUFFER_MAGIC;
    b->size = size;
    b->mem = mem;
    pthread_mutex_lock(&d->lock);
    b->next = d->buffers;
    d->buffers = b;
    pthread_mutex_unlock(&d->lock);
    COUNT(g_live_buffers, 1);
    *out_buffer = b;
    return PX_OK;
}

static void dev_buffer_free(void *dev, void *buffer) {
    sm_device *d = as_device(dev);
    if (!d || !buffer) return;
    sm_buffer *found = NULL;
    pthread_mutex_lock(&d->lock);
    for (sm_buffer **pp = &d->buffers; *pp; pp = &(*pp)->next)
        if ((void *)*pp == buffer) {
            found = *pp;
            *pp = found->next;
            break;
        }
    pthread_mutex_unlock(&d->lock);
    if (!found) {
        sm_host->log(PX_LOG_ERROR, "sepmem", "buffer_free: %p is not a live buffer (double free?)", buffer);
        return;
    }
    found->magic = SM_DEAD_MAGIC;
    free(found->mem);
    free(found);
    COUNT(g_live_buffers, -1);
}

static void *dev_buffer_base(void *dev, void *buffer) {
    (void)dev;
    (void)buffer;
    return NULL;
}

static px_status dev_upload(void *dev, void *buffer, uint64_t offset, const void *src, size_t n) {
    sm_buffer *b = NULL;
    px_status st = check_range("upload", as_device(dev), buffer, offset, n, &b);
    if (st) return st;
    if (n && !src) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem upload: src is NULL");
    if (n) memcpy(b->mem + offset, src, n);
    COUNT(g_uploads, 1);
    COUNT(g_up_bytes, n);
    return PX_OK;
}

static px_status dev_download(void *dev, void *buffer, uint64_t offset, void *dst, size_t n) {
    sm_buffer *b = NULL;
    px_status st = check_range("download", as_device(dev), buffer, offset, n, &b);
    if (st) return st;
    if (n && !dst) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem download: dst is NULL");
    if (n) memcpy(dst, b->mem + offset, n);
    COUNT(g_downloads, 1);
    COUNT(g_down_bytes, n);
    return PX_OK;
}

static px_status dev_copy(void *dev, void *dst_buffer, uint64_t dst_offset, void *src_buffer, uint64_t src_offset,
                          size_t n) {
    sm_buffer *db = NULL, *sb = NULL;
    px_status st = check_range("copy (dst)", as_device(dev), dst_buffer, dst_offset, n, &db);
    if (st) return st;
    if ((st = check_range("copy (src)", as_device(dev), src_buffer, src_offset, n, &sb))) return st;
    if (db == sb && n && dst_offset < src_offset + n && src_offset < dst_offset + n)
        return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem copy: ranges overlap ([%llu,+%zu) and [%llu,+%zu))",
                                  (unsigned long long)dst_offset, n, (unsigned long long)src_offset, n);
    if (n) memcpy(db->mem + dst_offset, sb->mem + src_offset, n);
    COUNT(g_copies, 1);
    COUNT(g_copy_bytes, n);
    return PX_OK;
}

static px_status dev_synchronize(void *dev) {
    return as_device(dev) ? PX_OK : sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem synchronize: bad device");
}

static px_status dev_get_kernels(void *dev, const px_kernel **out_kernels, int32_t *out_count) {
    if (!as_device(dev) || !out_kernels || !out_count)
        return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem get_kernels: bad argument");
    *out_kernels = sm_kernel_table(out_count);
    return PX_OK;
}

static const px_device_ops sm_device_ops = {
    .struct_size = sizeof(px_device_ops),
    .get_info = dev_get_info,
    .buffer_alloc = dev_buffer_alloc,
    .buffer_free = dev_buffer_free,
    .buffer_base = dev_buffer_base,
    .upload = dev_upload,
    .download = dev_download,
    .copy = dev_copy,
    .import_host = NULL,
    .synchronize = dev_synchronize,
    .get_kernels = dev_get_kernels,
};

/* ---- plugin ----------------------------------------------------------------------- */

static px_status sm_probe(px_probe_result *out) {
    if (!out) return PX_ERR_INVALID_ARG;
    out->n_devices = 1;
    out->score = 1;
    snprintf(out->detail, sizeof out->detail, "%s", "separate-memory test device (F32 subset)");
    return PX_OK;
}

static px_status sm_device_create(int32_t index, const px_config_section *config, void **out_dev) {
    (void)config;
    if (!out_dev) return sm_host->set_error(PX_ERR_INVALID_ARG, "sepmem device_create: out_dev is NULL");
    *out_dev = NULL;
    if (index != 0) return sm_host->set_error(PX_ERR_NOT_FOUND, "sepmem has one device, not %d", index);
    sm_device *d = calloc(1, sizeof *d);
    if (!d) return sm_host->set_error(PX_ERR_NO_MEMORY, "sepmem device_create: out of memory");
    d->magic = SM_DEVICE_MAGIC;
    pthread_mutex_init(&d->lock, NULL);
    *out_dev = d;
    return PX_OK;
}

static void sm_device_destroy(void *dev) {
    sm_device *d = as_device(dev);
    if (!d) return;
    int n = 0;
    while (d->buffers) {
        sm_buffer *b = d->buffers;
        d->buffers = b->next;
        b->magic = SM_DEAD_MAGIC;
        free(b->mem);
        free(b);
        COUNT(g_live_buffers, -1);
        n++;
    }
    if (n) sm_host->log(PX_LOG_WARN, "sepmem", "device destroyed with %d buffer(s) still allocated", n);
    pthread_mutex_destroy(&d->lock);
    d->magic = SM_DEAD_MAGIC;
    free(d);
}

static const px_plugin sm_plugin = {
    .struct_size = sizeof(px_plugin),
    .abi_major = PX_ABI_MAJOR,
    .abi_minor = PX_ABI_MINOR,
    .kind = PX_PLUGIN_DEVICE,
    .name = "sepmem",
    .version = "test-1",
    .probe = sm_probe,
    .device_create = sm_device_create,
    .device_destroy = sm_device_destroy,
    .device_ops = &sm_device_ops,
    .format_ops = NULL,
};

/* A plugin built against minor `built` runs on hosts of that minor or newer. */
static int minor_ok(uint32_t host, uint32_t built) { return host >= built; }

PX_EXPORT px_status plexus_plugin_query(uint32_t host_abi_major, uint32_t host_abi_minor, const px_host_api *host,
                                        const px_plugin **out) {
    if (!host || !out || !host->set_error) return PX_ERR_INVALID_ARG;
    if (host_abi_major != PX_ABI_MAJOR || !minor_ok(host_abi_minor, PX_ABI_MINOR))
        return host->set_error(PX_ERR_ABI, "sepmem needs plugin ABI %u.%u, the host has %u.%u", PX_ABI_MAJOR,
                               PX_ABI_MINOR, host_abi_major, host_abi_minor);
    sm_host = host;
    *out = &sm_plugin;
    return PX_OK;
}
