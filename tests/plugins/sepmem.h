/* sepmem — a test device plugin whose memory is separate from the host.
 *
 * Internal header shared by sepmem.c (plugin table, device, buffers,
 * counters) and sepmem_kernels.c (F32 kernels). Buffers are opaque handles
 * that wrap a private malloc'ed block; buffer_base returns NULL, so the
 * runtime must move every byte with upload/download/copy, and kernels get
 * tensors with data == NULL and resolve buffer+offset themselves. Every
 * handle, offset and size the runtime passes is checked; a bad one is an
 * error with a message (that is how this plugin catches runtime bugs). */
#ifndef PXTEST_SEPMEM_H
#define PXTEST_SEPMEM_H

#include <pthread.h>
#include <stdint.h>

#include "plexus/plugin.h"

#define SM_BUFFER_MAGIC 0x53454d4255464652ull /* "SEMBUFFR" */
#define SM_DEVICE_MAGIC 0x53454d4445564943ull /* "SEMDEVIC" */
#define SM_DEAD_MAGIC 0xdeadbeefdeadbeefull

typedef struct sm_buffer {
    uint64_t magic;
    size_t size;
    uint8_t *mem;            /* private block: never handed to the host */
    struct sm_buffer *next;  /* the device's list of live buffers */
} sm_buffer;

typedef struct sm_device {
    uint64_t magic;
    pthread_mutex_t lock;    /* guards the buffer list */
    sm_buffer *buffers;
} sm_device;

/* The host table given to plexus_plugin_query (set_error, log, alloc). */
extern const px_host_api *sm_host;

/* Find the live buffer `handle` of `dev`, or NULL. */
sm_buffer *sm_find_buffer(sm_device *dev, void *handle);

/* Resolve a kernel tensor to device memory: checks that data is NULL (the
 * device is not host-visible), that buffer is a live buffer of `dev`, and
 * that [offset, offset + size of the tensor) lies inside it. A tensor with
 * no bytes resolves to NULL. `what` names the tensor in messages. */
px_status sm_resolve(sm_device *dev, const px_tensor *t, const char *what, uint8_t **out);

/* Count one kernel call (pxtest_sepmem_kernel_runs). */
void sm_count_kernel_run(void);

/* The kernel table (static storage). */
const px_kernel *sm_kernel_table(int32_t *count);

#endif
