// zlib's inflate, for reading .gz files (HumanEval.jsonl.gz) without a gzip subprocess.
#include <zlib.h>

// inflateInit2 is a macro (it passes the header's version and struct size), which Swift
// cannot import. 15 + 32: a 32 KiB window, gzip or zlib header detected from the bytes.
static inline int czlib_inflate_init_gzip(z_streamp stream) { return inflateInit2(stream, 15 + 32); }
