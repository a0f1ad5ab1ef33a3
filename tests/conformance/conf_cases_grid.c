/* Conformance cases for GRID_SAMPLE: 1 to 3 spatial dims, every mode,
 * padding and align_corners, grid coordinates past the borders, float
 * dtypes, and one case large enough to split over threads. */
#include "conf.h"

void conf_generate_grid(px_op op, crng *r, case_sink sink, void *ctx) {
    if (op != PX_OP_GRID_SAMPLE) return;
    static const px_dtype dts[] = {PX_F32, PX_F64, PX_F16};
    for (int rank = 1; rank <= 3; rank++)
        for (int mode = 0; mode < 3; mode++)
            for (int pad = 0; pad < 3; pad++)
                for (int align = 0; align < 2; align++) {
                    px_dtype dt = dts[rng_int(r, 0, 2)];
                    int64_t xs[5], gs[5];
                    xs[0] = gs[0] = rng_int(r, 1, 2);
                    xs[1] = rng_int(r, 1, 3);
                    for (int i = 0; i < rank; i++) {
                        xs[2 + i] = rng_int(r, 1, rank == 3 ? 4 : 6);
                        gs[1 + i] = rng_int(r, 1, rank == 3 ? 3 : 5);
                    }
                    gs[rank + 1] = rank;
                    ccase c;
                    case_init(&c, op);
                    case_label(&c, "grid_sample r%d mode %d pad %d align %d %s", rank, mode, pad, align, px_dtype_name(dt));
                    case_rand(&c, 0, IN_INPUT, dt, rank + 2, xs, r, -2, 2);
                    case_rand(&c, 1, IN_INPUT, dt, rank + 2, gs, r, -1.4, 1.4);
                    case_attr_i(&c, "mode", mode);
                    case_attr_i(&c, "padding", pad);
                    case_attr_i(&c, "align_corners", align);
                    sink(&c, ctx);
                    case_free(&c);
                }
    /* a larger 2-D case for the thread split */
    int64_t xs[4] = {2, 8, 16, 16}, gs[4] = {2, 24, 24, 2};
    ccase c;
    case_init(&c, op);
    case_label(&c, "grid_sample large");
    case_rand(&c, 0, IN_INPUT, PX_F32, 4, xs, r, -2, 2);
    case_rand(&c, 1, IN_INPUT, PX_F32, 4, gs, r, -1.2, 1.2);
    case_attr_i(&c, "mode", 0);
    sink(&c, ctx);
    case_free(&c);
}
