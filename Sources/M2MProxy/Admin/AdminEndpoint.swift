/// The admin port (`server.admin_listen`) of worker 0's loop: its listener, and the connections
/// it accepts, each served by an `AdminConnection` with the control role's `AdminHandler`.
final class AdminEndpoint: ListenerOwner {
    let handler: AdminHandler
    private unowned let worker: Worker
    private var listener: Listener?

    init(worker: Worker, handler: AdminHandler) {
        self.worker = worker
        self.handler = handler
    }

    /// Binds `address` (once per process: no SO_REUSEPORT). Throws a one-line reason.
    func listen(_ address: ListenAddress) throws(StartupError) {
        let l = Listener(loop: worker.loop, kind: .admin, owner: self)
        do {
            try l.bind(address)
        } catch {
            l.close()
            throw StartupError("cannot listen on admin address \(address): \(error.message)")
        }
        listener = l
    }

    func connectionArrived(on listener: Listener) {
        let c = AdminConnection(io: worker.io, handler: handler)
        guard listener.accept(into: c) else {
            c.close()
            return
        }
        c.start()
    }
}

@available(*, unavailable)
extension AdminEndpoint: Sendable {}
