/* -hf: GGUF files from Hugging Face, downloaded once into a local cache
 * (tools/hf.c; the rules are in docs/download.md). */
#ifndef PLEXUS_TOOLS_HF_H
#define PLEXUS_TOOLS_HF_H

/* Resolve a -hf spec to a local file, downloading it if it is not cached.
 *   "OWNER/REPO/PATH/FILE.gguf"  that file;
 *   "OWNER/REPO:QUANT"           the .gguf of the repository listing whose name contains QUANT (case-insensitive),
 *                                a delimited match and a single-file model preferred;
 *   "OWNER/REPO"                 as ":Q4_K_M", else the first single-file .gguf of the listing.
 * Returns 0 and a malloc'd path in *out_path; else prints an error naming the
 * URL or file and the problem on stderr and returns nonzero (*out_path NULL).
 * verbose: say which file was picked, "using cached ...", resume offsets. */
int px_hf_resolve(const char *spec, int verbose, char **out_path);

/* --hf-repo REPO --hf-file FILE: FILE (a path in the repository) overrides
 * the pick of REPO's listing and any :QUANT tag; FILE NULL or "" is
 * px_hf_resolve(repo). Same return convention. */
int px_hf_resolve_file(const char *repo, const char *file, int verbose, char **out_path);

#endif
