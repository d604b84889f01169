/* malloc_count.c: an LD_PRELOAD allocation counter for Benchmarks/malloc-count.sh.
 *
 *   gcc -shared -fPIC -O2 -o malloc_count.so malloc_count.c -ldl
 *   LD_PRELOAD=./malloc_count.so program ...
 *
 * Counts calls to malloc, calloc, realloc, free, posix_memalign, aligned_alloc and memalign
 * (Swift's swift_slowAlloc uses malloc, or an aligned variant for over-aligned objects) with
 * relaxed atomics, so every thread is counted. At process exit it appends one line to the file
 * named by $MALLOC_COUNT_OUT (stderr when unset):
 *   malloc-count malloc=N calloc=N realloc=N free=N aligned=N
 * dlsym itself may call calloc before the real one is known: those few calls are served from a
 * small static arena and never freed to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static unsigned long n_malloc, n_calloc, n_realloc, n_free, n_aligned;

static char arena[8192];
static size_t arena_used;
static int resolving;

#define COUNT(c) __atomic_fetch_add(&(c), 1, __ATOMIC_RELAXED)

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
}

static int in_arena(void *p) { return (char *)p >= arena && (char *)p < arena + sizeof arena; }

static void *arena_alloc(size_t n) {
    size_t at = (arena_used + 15) & ~(size_t)15;
    if (at + n > sizeof arena) return NULL;
    arena_used = at + n;
    return arena + at;
}

void *malloc(size_t n) {
    resolve();
    if (!real_malloc) return arena_alloc(n);
    COUNT(n_malloc);
    return real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    resolve();
    if (!real_calloc) {
        void *p = arena_alloc(a * b);
        if (p) memset(p, 0, a * b);
        return p;
    }
    COUNT(n_calloc);
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    resolve();
    COUNT(n_realloc);
    if (in_arena(p)) {
        void *q = real_malloc(n);
        if (q) memcpy(q, p, n);
        return q;
    }
    return real_realloc(p, n);
}

void free(void *p) {
    if (!p || in_arena(p)) return;
    resolve();
    COUNT(n_free);
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n) {
    resolve();
    COUNT(n_aligned);
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n) {
    resolve();
    COUNT(n_aligned);
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n) {
    resolve();
    COUNT(n_aligned);
    return real_memalign(align, n);
}

__attribute__((destructor)) static void report(void) {
    char line[256];
    int len = snprintf(line, sizeof line, "malloc-count malloc=%lu calloc=%lu realloc=%lu free=%lu aligned=%lu\n",
                       n_malloc, n_calloc, n_realloc, n_free, n_aligned);
    const char *path = getenv("MALLOC_COUNT_OUT");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : 2;
    if (fd < 0) return;
    if (write(fd, line, (size_t)len) < 0) { /* nothing useful to do at exit */ }
    if (path) close(fd);
}
