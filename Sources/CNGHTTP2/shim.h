#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* nghttp2's memory on one loop (`H2Allocator` owns the pool and documents the design): blocks of
 * eight size classes (64 B << c, 16 of them a header holding the class, and for a block over
 * every class the size asked for) on free lists, bounded by M2M_H2_MAX_KEPT bytes kept.
 *
 * In C, beside nghttp2, because nghttp2 calls it through `nghttp2_mem`'s function pointers: a
 * Swift closure behind a C pointer adds a thunk and a retain-free borrow of the owner per call
 * (callgrind: ~48 instructions per allocation and ~23 per free, 13 calls per HTTP/2 request);
 * these are a pop and a push. One loop's thread only: no locking. */

#define M2M_H2_CLASSES 8
#define M2M_H2_HEADER 16
#define M2M_H2_OVERSIZE (-1)
#define M2M_H2_MAX_KEPT 1048576 /* 1 MiB */

typedef struct {
    void *heads[M2M_H2_CLASSES];
    size_t kept;
} m2m_h2_pool;

static inline long m2m_h2_class(size_t size) {
    size_t n = size + M2M_H2_HEADER;
    if (n <= 64) return 0;
    long c = 64 - (long)__builtin_clzll((unsigned long long)(n - 1)) - 6;
    return c < M2M_H2_CLASSES ? c : M2M_H2_OVERSIZE;
}

static inline size_t m2m_h2_usable(long c) { return ((size_t)64 << c) - M2M_H2_HEADER; }

static inline void *m2m_h2_malloc(size_t size, void *ud) {
    /* First: `size + M2M_H2_HEADER` must not wrap (into class 0). */
    if (size > SIZE_MAX / 2) return NULL;
    m2m_h2_pool *pool = (m2m_h2_pool *)ud;
    long c = m2m_h2_class(size);
    char *block;
    if (c != M2M_H2_OVERSIZE && (block = (char *)pool->heads[c]) != NULL) {
        pool->heads[c] = *(void **)block;
        pool->kept -= m2m_h2_usable(c);
    } else {
        block = (char *)malloc(c == M2M_H2_OVERSIZE ? size + M2M_H2_HEADER : (size_t)64 << c);
        if (block == NULL) return NULL;
        ((size_t *)block)[1] = size;
    }
    ((long *)block)[0] = c;
    return block + M2M_H2_HEADER;
}

static inline void m2m_h2_free(void *p, void *ud) {
    if (p == NULL) return;
    m2m_h2_pool *pool = (m2m_h2_pool *)ud;
    char *block = (char *)p - M2M_H2_HEADER;
    long c = ((long *)block)[0];
    if (c == M2M_H2_OVERSIZE || pool->kept + m2m_h2_usable(c) > M2M_H2_MAX_KEPT) {
        free(block);
        return;
    }
    *(void **)block = pool->heads[c];
    pool->heads[c] = block;
    pool->kept += m2m_h2_usable(c);
}

static inline void *m2m_h2_calloc(size_t n, size_t size, void *ud) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) return NULL;
    void *p = m2m_h2_malloc(bytes, ud);
    if (p != NULL) memset(p, 0, bytes);
    return p;
}

static inline void *m2m_h2_realloc(void *p, size_t size, void *ud) {
    if (p == NULL) return m2m_h2_malloc(size, ud);
    char *block = (char *)p - M2M_H2_HEADER;
    long c = ((long *)block)[0];
    if (c != M2M_H2_OVERSIZE && size <= m2m_h2_usable(c)) return p;
    void *q = m2m_h2_malloc(size, ud);
    if (q == NULL) return NULL;
    size_t old = c == M2M_H2_OVERSIZE ? ((size_t *)block)[1] : m2m_h2_usable(c);
    memcpy(q, p, old < size ? old : size);
    m2m_h2_free(p, ud);
    return q;
}

/* Gives every kept block back to glibc (the pool's owner is going away). */
static inline void m2m_h2_drain(m2m_h2_pool *pool) {
    for (int c = 0; c < M2M_H2_CLASSES; c++) {
        void *b = pool->heads[c];
        while (b != NULL) {
            void *next = *(void **)b;
            free(b);
            b = next;
        }
        pool->heads[c] = NULL;
    }
    pool->kept = 0;
}
