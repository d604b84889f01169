// writev-pieces.c — what a request head written as many iovecs costs the kernel compared with
// the same bytes copied into one buffer first, over a loopback TCP connection like the proxy's
// upstream one (TCP_NODELAY). Used by Benchmarks/results/kernel-time-*.md.
//
//   cc -O2 -o /tmp/writev-pieces Benchmarks/writev-pieces.c && /tmp/writev-pieces [ROUNDS] [WRITES] [SIZE...]
//   (SIZE...: other piece sizes, e.g. `6 20000 2000 2000` for two 2,000-byte pieces)
//
// The head is the one m2m-proxy sends upstream in compare.sh (1,298 bytes incl. a 900-byte
// token) in the 11 pieces it was written as. Per write it measures the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID: user + kernel, scheduler-exact, unaffected by other processes'
// load except through caches) spent in: (a) writev of the 11 pieces, (b) memcpy of the pieces
// into one buffer + write. The reader drains the peer after every write (not timed). Rounds
// alternate a and b so that drift hits both.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 10, writes = argc > 2 ? atoi(argv[2]) : 20000;
    // piece sizes: method, space, base path, target, request line end, Host line, kept client
    // headers, token line, XFF line, XFH line, X-Request-Id + Via + X-Forwarded-Proto + CRLF tail
    int sizes[64] = {3, 1, 4, 6, 11, 23, 0, 925, 35, 40, 250}, N = 11;
    if (argc > 3) {
        N = 0;
        for (int i = 3; i < argc && N < 64; i++) sizes[N++] = atoi(argv[i]);
    }
    static char src[64][16384], one[64 * 16384], sink[1 << 20];
    struct iovec iov[64];
    int n = 0, total = 0;
    for (int i = 0; i < N; i++) {
        if (sizes[i] <= 0 || sizes[i] > 16384) continue;
        memset(src[i], 'a' + i, sizes[i]);
        iov[n].iov_base = src[i];
        iov[n].iov_len = sizes[i];
        total += sizes[i];
        n++;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), one_ = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (void *)&a, sizeof a) || listen(l, 1) || getsockname(l, (void *)&a, &al) || connect(c, (void *)&a, sizeof a)) {
        perror("setup");
        return 1;
    }
    int s = accept(l, NULL, NULL);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    printf("head %d bytes in %d pieces; %d writes per round\n", total, n, writes);
    double sum[2] = {0, 0};
    for (int r = 0; r < 2 * rounds; r++) {
        int mode = r & 1;
        double spent = 0;
        for (int w = 0; w < writes; w++) {
            double t0 = now_ns();
            ssize_t k;
            if (mode == 0) {
                k = writev(c, iov, n);
            } else {
                int off = 0;
                for (int i = 0; i < n; i++) {
                    memcpy(one + off, iov[i].iov_base, iov[i].iov_len);
                    off += iov[i].iov_len;
                }
                k = write(c, one, off);
            }
            spent += now_ns() - t0;
            if (k != total) { fprintf(stderr, "short write %zd\n", k); return 1; }
            for (int got = 0; got < total;) {
                ssize_t m = read(s, sink, sizeof sink);
                if (m <= 0) { perror("read"); return 1; }
                got += m;
            }
        }
        sum[mode] += spent;
        printf("round %d %-16s %.0f ns per head\n", r / 2 + 1, mode ? "copy + write" : "writev pieces", spent / writes);
    }
    printf("mean: writev %d pieces %.0f ns, copy + write %.0f ns per head (%.0f%%)\n", n, sum[0] / rounds / writes,
           sum[1] / rounds / writes, 100.0 * (sum[1] - sum[0]) / sum[0]);
    return 0;
}
