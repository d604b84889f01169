/* malloc-count.c — LD_PRELOAD counter of heap allocations, for Benchmarks/malloc-count.sh.
 *
 * Interposes malloc, calloc, realloc, free, posix_memalign, aligned_alloc, memalign and valloc,
 * forwards to glibc's __libc_* entry points (no dlsym, so no bootstrap recursion) and counts
 * with relaxed atomics in a MAP_SHARED file named by MALLOC_COUNT_FILE, so another process can
 * read the counters at any moment without signalling the counted one:
 *     u64 allocs (every call that may return new memory: malloc, calloc, realloc, *align*)
 *     u64 frees  (free of a non-NULL pointer)
 *     u64 bytes  (bytes requested by those allocs)
 * Before the constructor has mapped the file (allocations of the dynamic loader), counts go to a
 * static block and are copied over.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

struct counters { uint64_t allocs, frees, bytes; };
static struct counters early;
static struct counters *volatile live = &early;

static inline void count_alloc(size_t n) {
    struct counters *c = live;
    __atomic_fetch_add(&c->allocs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->bytes, n, __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void map_counters(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof(struct counters)) == 0) {
        void *m = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            memcpy(m, &early, sizeof early);
            live = m;
        }
    }
    close(fd);
}

void *malloc(size_t n) { count_alloc(n); return __libc_malloc(n); }
void *calloc(size_t k, size_t n) { count_alloc(k * n); return __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { count_alloc(n); return __libc_realloc(p, n); }
void free(void *p) {
    if (p) __atomic_fetch_add(&live->frees, 1, __ATOMIC_RELAXED);
    __libc_free(p);
}
void *memalign(size_t a, size_t n) { count_alloc(n); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count_alloc(n); return __libc_memalign(a, n); }
void *valloc(size_t n) { count_alloc(n); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count_alloc(n);
    void *p = __libc_memalign(a, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
