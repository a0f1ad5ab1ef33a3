/* plexus onnx-run MODEL.onnx --input NAME=PATH.pb ... --output-dir DIR:
 * run an ONNX model once on TensorProto inputs and write every graph output
 * as DIR/<output name>.pb (TensorProto with the exact dtype and shape). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "onnx_pb.h"
#include "plexus/dtype.h"
#include "plexus/ir.h"

static void usage(void) {
    fprintf(stderr,
            "usage: plexus onnx-run MODEL.onnx --input NAME=PATH.pb [--input ...] --output-dir DIR\n"
            "                       [--shape NAME=1,3,224,224] [--dim PARAM=N] [--config FILE.ini] [-t N]\n"
            "Runs the model once. Inputs are ONNX TensorProto files; every graph output is written\n"
            "to DIR/<output name>.pb. --shape/--dim give sizes for inputs without a file.\n");
}

#define MAX_OPTS 256

typedef struct run_input {
    const char *name, *path;
} run_input;

static int write_file(const char *path, const uint8_t *b, uint64_t n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, (size_t)n, f) == (size_t)n;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

/* Copy an input's data from its .pb file into the program. */
static int set_input(px_program *p, const run_input *in) {
    size_t len;
    char *buf = px_cli_read_file(in->path, &len);
    if (!buf) {
        fprintf(stderr, "plexus onnx-run: cannot read %s\n", in->path);
        return -1;
    }
    onx_arena *a = onx_arena_create();
    onx_tensor t;
    char err[400];
    const void *data;
    uint64_t nb;
    px_status st = a ? onx_decode_tensor(a, (const uint8_t *)buf, len, &t, err, sizeof err) : PX_ERR_NO_MEMORY;
    if (!st) st = onx_tensor_data(a, &t, NULL, 0, &data, &nb, err, sizeof err);
    if (st) fprintf(stderr, "plexus onnx-run: %s: %s\n", in->path, a ? err : "out of memory");
    else if ((st = px_program_set_input(p, in->name, data, (size_t)nb)))
        fprintf(stderr, "plexus onnx-run: input '%s' (%s): %s\n", in->name, in->path, px_last_error());
    onx_arena_destroy(a);
    free(buf);
    return st ? -1 : 0;
}

static int write_output(px_program *p, const char *name, const char *dir) {
    px_dtype dt;
    int32_t rank;
    int64_t ne[PX_MAX_DIMS];
    if (px_program_value_shape(p, name, &dt, &rank, ne)) {
        fprintf(stderr, "plexus onnx-run: output '%s': %s\n", name, px_last_error());
        return -1;
    }
    int64_t cnt = 1;
    for (int32_t d = 0; d < rank; d++) cnt *= ne[d];
    size_t nb = (size_t)cnt * onx_px_size(dt);
    void *data = malloc(nb ? nb : 1);
    if (!data) {
        fprintf(stderr, "plexus onnx-run: out of memory\n");
        return -1;
    }
    if (nb && px_program_get_output(p, name, data, nb)) {
        fprintf(stderr, "plexus onnx-run: output '%s': %s\n", name, px_last_error());
        free(data);
        return -1;
    }
    uint64_t len;
    uint8_t *pb = onx_encode_tensor(name, onx_from_px_dtype(dt), rank, ne, data, nb, &len);
    free(data);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.pb", dir, name);
    /* names like "gpu_0/softmax_1" write into sub-folders; never outside DIR */
    int safe = name[0] && name[0] != '/' && !strstr(name, "..");
    for (char *q = path + strlen(dir) + 1; safe && (q = strchr(q, '/')) != NULL; q++) {
        *q = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST) safe = 0;
        *q = '/';
    }
    int rc = pb && safe ? write_file(path, pb, len) : -1;
    if (rc) fprintf(stderr, "plexus onnx-run: cannot write %s: %s\n", path, pb ? strerror(errno) : "out of memory");
    free(pb);
    return rc;
}

int px_cmd_onnx_run(int argc, char **argv) {
    px_cli_common com = {0};
    const char *model = NULL, *outdir = NULL;
    run_input inputs[MAX_OPTS];
    const char *keys[MAX_OPTS], *vals[MAX_OPTS];
    char keybuf[MAX_OPTS][300];
    int n_in = 0, n_opt = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int is_in = !strcmp(a, "--input"), is_shape = !strcmp(a, "--shape"), is_dim = !strcmp(a, "--dim");
        if ((is_in || is_shape || is_dim) && i + 1 < argc) {
            const char *spec = argv[++i], *eq = strchr(spec, '=');
            if (!eq || eq == spec || n_opt >= MAX_OPTS || (size_t)(eq - spec) > 250) {
                fprintf(stderr, "plexus onnx-run: %s wants NAME=VALUE, got '%s'\n", a, spec);
                return 2;
            }
            snprintf(keybuf[n_opt], sizeof keybuf[n_opt], "%s%.*s", is_in ? "input." : is_shape ? "shape." : "dim.",
                     (int)(eq - spec), spec);
            keys[n_opt] = keybuf[n_opt];
            vals[n_opt++] = eq + 1;
            if (is_in) {
                inputs[n_in].name = keybuf[n_opt - 1] + 6;
                inputs[n_in++].path = eq + 1;
            }
        } else if (!strcmp(a, "--output-dir") && i + 1 < argc) {
            outdir = argv[++i];
        } else if (a[0] != '-' && !model) {
            model = a;
        } else {
            int rc = px_cli_tail_arg(&com, "onnx-run", argc, argv, &i, usage);
            if (rc != -1) return rc;
        }
    }
    if (!model || !outdir) {
        usage();
        return 2;
    }
    struct stat sb;
    if (stat(outdir, &sb) != 0 && mkdir(outdir, 0777) != 0) {
        fprintf(stderr, "plexus onnx-run: cannot create %s: %s\n", outdir, strerror(errno));
        return 1;
    }
    px_context *ctx = px_cli_context(&com);
    if (!ctx) return 1;
    int rc = 1;
    px_model *m = NULL;
    px_graph *g = NULL;
    px_program *p = NULL;
    if (px_model_open(ctx, model, &m) || px_model_build_graph_with(m, keys, vals, n_opt, &g)) {
        fprintf(stderr, "plexus onnx-run: %s\n", px_last_error());
        goto done;
    }
    px_program_options po = px_program_options_default();
    if (px_program_create(ctx, g, &po, &p)) {
        fprintf(stderr, "plexus onnx-run: %s: %s\n", model, px_last_error());
        goto done;
    }
    /* every graph input needs data; files for values folded at load are fine */
    int32_t nv = px_graph_value_count(g);
    for (px_value v = 0; v < nv; v++) {
        px_value_info vi;
        if (px_graph_value_info(g, v, &vi) || vi.kind != PX_VALUE_INPUT) continue;
        int found = 0;
        for (int k = 0; k < n_in && !found; k++)
            if (!strcmp(inputs[k].name, vi.name)) {
                found = 1;
                if (set_input(p, &inputs[k])) goto done;
            }
        if (!found) {
            fprintf(stderr, "plexus onnx-run: %s: graph input '%s' is not given (--input %s=FILE.pb)\n", model, vi.name, vi.name);
            goto done;
        }
    }
    if (px_program_run(p)) {
        fprintf(stderr, "plexus onnx-run: %s: %s\n", model, px_last_error());
        goto done;
    }
    rc = 0;
    for (px_value v = 0; v < nv && !rc; v++) {
        px_value_info vi;
        if (px_graph_value_info(g, v, &vi) || vi.kind != PX_VALUE_OUTPUT) continue;
        if (write_output(p, vi.name, outdir)) rc = 1;
    }
done:
    px_program_destroy(p);
    px_graph_destroy(g);
    px_model_close(m);
    px_context_destroy(ctx);
    return rc;
}
