private import CLibUV
private import Glibc

/// A listening TCP socket on a worker's loop. SO_REUSEPORT is set so that later several worker
/// loops can each bind the same address (libuv 1.44 has no flag for it; spike notes §4).
final class Listener {
    /// What an accepted connection becomes.
    enum Kind {
        /// A proxied client (`server.listen`).
        case proxy
        /// The admin endpoints (`server.admin_listen`).
        case admin
    }

    unowned(unsafe) let worker: Worker
    let kind: Kind
    /// Set for a `tls_listen` listener: accepted connections speak TLS.
    var tls: TLSContext?
    private let tcp: UnsafeMutablePointer<uv_tcp_t>
    private var closed = false

    init(worker: Worker, kind: Kind = .proxy) {
        self.worker = worker
        self.kind = kind
        tcp = .allocate(capacity: 1)
        tcp.initialize(to: uv_tcp_t())
    }

    private var handle: UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_handle_t.self)
    }

    func bind(_ address: ListenAddress) throws(UVError) {
        guard let sa = SocketAddress(ip: address.host, port: address.port) else {
            throw UVError(Int32(UV_EINVAL.rawValue))
        }
        try UVError.check(uv_tcp_init_ex(worker.loop, tcp, UInt32(sa.isIPv6 ? AF_INET6 : AF_INET)))
        tcp.pointee.data = Unmanaged.passRetained(self).toOpaque()
        var fd: uv_os_fd_t = -1
        // The admin port is bound once per process: without SO_REUSEPORT a second proxy (or
        // anything else) on that port makes the bind fail, as it must.
        if kind == .proxy, uv_fileno(handle, &fd) == 0 {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, 4)
        }
        try sa.withSockAddr { p throws(UVError) in try UVError.check(uv_tcp_bind(tcp, p, 0)) }
        try UVError.check(uv_listen(
            UnsafeMutableRawPointer(tcp).assumingMemoryBound(to: uv_stream_t.self), 1024, listenerConnectionCallback))
    }

    func accept(into c: UVStream) -> Bool {
        c.accept(from: tcp)
    }

    func close() {
        guard !closed else { return }
        closed = true
        if tcp.pointee.data == nil {
            tcp.deallocate()
            return
        }
        uv_close(handle, listenerCloseCallback)
    }

    fileprivate func connectionArrived() {
        switch kind {
        case .proxy: worker.accept(from: self)
        case .admin: worker.acceptAdmin(from: self)
        }
    }

    fileprivate func didClose() { tcp.deallocate() }
}

@available(*, unavailable)
extension Listener: Sendable {}

private let listenerConnectionCallback: uv_connection_cb = { server, status in
    guard status == 0 else { return }
    Unmanaged<Listener>.fromOpaque(server!.pointee.data)._withUnsafeGuaranteedRef { $0.connectionArrived() }
}

private let listenerCloseCallback: uv_close_cb = { handle in
    let l = Unmanaged<Listener>.fromOpaque(handle!.pointee.data)
    l._withUnsafeGuaranteedRef { $0.didClose() }
    l.release()
}
