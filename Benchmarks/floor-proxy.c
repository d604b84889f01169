/* floor-proxy.c — the fastest token-injecting proxy this benchmark set-up allows: the floor that
 * kernel-time.sh measures m2m-proxy and nginx against (issue 17: "say what the limit is").
 *
 * It does only what no HTTP/1.1 proxy can skip, with the same syscalls per request as m2m-proxy
 * (read from the client, one writev to the upstream, read from the upstream, write to the client),
 * and nothing else: no parsing, no routing, no pool, no timers, no logging, no token cache. Each
 * client gets its own upstream connection, opened when the client connects (50 clients = 50
 * upstream connections, as a warm idle pool gives). After the first line of each request it
 * inserts a fixed block of header lines (the token and forwarding headers m2m-proxy sends, given
 * as a file), so the upstream does the same work behind it as behind the real proxies.
 *
 * It assumes what wrk sends: one small request per read, no pipelining, no body. It is a
 * measuring instrument, not a proxy: it breaks on anything else.
 *
 *   cc -O2 -o floor-proxy floor-proxy.c
 *   floor-proxy LISTEN_PORT UPSTREAM_PORT HEADER_BLOCK_FILE
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BUF 65536
#define MAXFD 65536

static int peer[MAXFD];          /* fd -> the other side */
static unsigned char is_client[MAXFD];
static char block[8192];
static size_t block_len;
static char buf[BUF];

static void die(const char *what) { perror(what); exit(1); }

static void close_pair(int ep, int fd) {
    int other = peer[fd];
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (other >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, other, NULL); close(other); peer[other] = -1; }
    peer[fd] = -1;
}

static int upstream_socket(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }  /* loopback: instant */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Writes everything (small messages to a socket with room: one call). */
static int write_all(int fd, const struct iovec *iov, int n) {
    struct iovec v[3];
    memcpy(v, iov, (size_t)n * sizeof *iov);
    for (;;) {
        ssize_t w = writev(fd, v, n);
        if (w < 0) { if (errno == EINTR || errno == EAGAIN) continue; return -1; }   /* spins: an instrument */
        while (n > 0 && (size_t)w >= v[0].iov_len) { w -= (ssize_t)v[0].iov_len; memmove(v, v + 1, (size_t)--n * sizeof *v); }
        if (n == 0) return 0;
        v[0].iov_base = (char *)v[0].iov_base + w; v[0].iov_len -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: floor-proxy LISTEN_PORT UPSTREAM_PORT HEADER_BLOCK_FILE\n"); return 64; }
    int lport = atoi(argv[1]), uport = atoi(argv[2]), one = 1;
    FILE *f = fopen(argv[3], "rb");
    if (!f) die(argv[3]);
    block_len = fread(block, 1, sizeof block, f);
    fclose(f);
    for (int i = 0; i < MAXFD; i++) peer[i] = -1;

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(lport)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) die("listen");
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[1024];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);

    for (;;) {
        int n = epoll_wait(ep, evs, 1024, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int u = upstream_socket(uport);
                    if (u < 0 || c >= MAXFD || u >= MAXFD) { close(c); if (u >= 0) close(u); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    peer[c] = u; peer[u] = c; is_client[c] = 1; is_client[u] = 0;
                    ev.data.fd = c; epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                    ev.data.fd = u; epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
                }
                continue;
            }
            if (peer[fd] < 0) continue;   /* closed earlier in this batch */
            ssize_t r = read(fd, buf, BUF);
            if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; close_pair(ep, fd); continue; }
            struct iovec iov[3];
            int cnt = 1;
            iov[0].iov_base = buf; iov[0].iov_len = (size_t)r;
            if (is_client[fd]) {   /* after the request line: the header block */
                char *eol = memchr(buf, '\n', (size_t)r);
                if (eol) {
                    size_t head = (size_t)(eol + 1 - buf);
                    iov[0].iov_len = head;
                    iov[1].iov_base = block; iov[1].iov_len = block_len;
                    iov[2].iov_base = eol + 1; iov[2].iov_len = (size_t)r - head;
                    cnt = 3;
                }
            }
            if (write_all(peer[fd], iov, cnt) < 0) close_pair(ep, fd);
        }
    }
}
