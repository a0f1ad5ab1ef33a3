/* px_model: placeholder until the GGUF format plugin lands (in progress). */
#include "internal.h"

px_status px_model_open(px_context *ctx, const char *path, px_model **out) {
    (void)ctx;
    (void)out;
    return px_set_error(PX_ERR_UNSUPPORTED, "%s: model files are not supported yet", path);
}
void px_model_close(px_model *m) { (void)m; }
