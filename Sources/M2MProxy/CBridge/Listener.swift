internal import CLibUV
private import Glibc

/// Who takes the connections a `Listener` accepts (the worker for proxy clients, the admin
/// endpoint for the admin port). Called once per connection, not per request.
protocol ListenerOwner: AnyObject {
    func connectionArrived(on listener: Listener)
}

/// A listening TCP socket on a worker's loop. On proxy listeners SO_REUSEPORT is set, so that
/// every worker loop binds its own socket on the same address and the kernel spreads the
/// connections (libuv 1.44 has no flag for it).
final class Listener {
    /// What an accepted connection becomes.
    enum Kind {
        /// A proxied client (`server.listen`).
        case proxy
        /// The admin endpoints (`server.admin_listen`).
        case admin
    }

    private let loop: UnsafeMutablePointer<uv_loop_t>
    /// The owner outlives its listeners (it closes them).
    private unowned(unsafe) let owner: any ListenerOwner
    let kind: Kind
    /// Set for a `tls_listen` listener: accepted connections speak TLS.
    var tls: TLSContext?
    private let tcp: UnsafeMutablePointer<uv_tcp_t>
    private var closed = false

    init(loop: UnsafeMutablePointer<uv_loop_t>, kind: Kind = .proxy, owner: any ListenerOwner) {
        self.loop = loop
        self.owner = owner
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
        try UVError.check(uv_tcp_init_ex(loop, tcp, UInt32(sa.isIPv6 ? AF_INET6 : AF_INET)))
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

    fileprivate func connectionArrived() { owner.connectionArrived(on: self) }

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
