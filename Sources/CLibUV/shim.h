#include <uv.h>
// glibc's malloc_trim (BufferPool.trim): <malloc.h> is not part of Swift's Glibc module.
#include <malloc.h>
