extension ProxyConfig {
    /// SIGHUP (DESIGN.md §2): the configuration a reload puts into effect, and notes on what it
    /// could not change. Every key takes the reloaded value except the restart-only ones listed
    /// below, each once: listen addresses, workers, the TLS listener, [token_store], and
    /// max_header_bytes (the head buffers in use have its size). A new key is reloadable without touching this file.
    func applyingReload(_ new: ProxyConfig) -> (config: ProxyConfig, notes: [String]) {
        var effective = new
        var notes: [String] = []
        func keep<T: Equatable>(_ path: WritableKeyPath<ProxyConfig, T>, _ keys: String) {
            guard effective[keyPath: path] != self[keyPath: path] else { return }
            effective[keyPath: path] = self[keyPath: path]
            notes.append("\(keys) changed: takes effect at the next restart")
        }
        keep(\.server.listen, "server.listen")
        keep(\.server.adminListen, "server.admin_listen")
        keep(\.server.workers, "server.workers")
        let tlsChanged = new.server.tlsListen != server.tlsListen || new.server.tls != server.tls
        effective.server.tlsListen = server.tlsListen
        effective.server.tls = server.tls
        if tlsChanged {
            notes.append("server.tls_listen/tls_cert_file/tls_key_file changed: takes effect at the next restart")
        }
        keep(\.limits.maxHeaderBytes, "limits.max_header_bytes")
        // The store and its connections are made once, at start (`SharedTokenStore.make`).
        keep(\.tokenStore, "token_store")
        return (effective, notes)
    }
}
