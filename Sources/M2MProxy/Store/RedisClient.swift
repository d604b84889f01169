/// A pipelined RESP client for the token store, on the control loop (DESIGN.md §5 "Across
/// replicas"): one connection at a time, commands answered in order, each with its own deadline
/// (`timeout_ms`), `AUTH` (ACL user) and `SELECT` on every connection, reconnection with capped
/// exponential backoff, and for `redis-sentinel://` the primary asked of the sentinels on each
/// (re)connection, so a failover is followed by reconnecting.
///
/// It never makes anyone wait for a store that is known to be down: while disconnected,
/// commands fail at once; only while a connection is being made do they queue (within their
/// deadline). A subscriber client (`channel` set) sends `SUBSCRIBE` and hands up messages.
final class RedisClient {
    enum Failure: Error {
        /// No connection, or it broke before the answer.
        case unavailable(String)
        /// No answer within `timeout_ms`.
        case timeout
        /// The server answered with an error (`-ERR …`).
        case refused(String)

        var message: String {
            switch self {
            case .unavailable(let m): m
            case .timeout: "no answer within timeout_ms"
            case .refused(let m): "error reply: \(m)"
            }
        }
    }

    typealias Completion = (Result<RESPValue, Failure>) -> Void

    private struct Pending {
        let deadline: UInt64
        /// nil: a handshake command (AUTH, SELECT), whose error ends the connection.
        let completion: Completion?
    }

    private enum State {
        case down
        case connecting
        case ready
    }

    private let io: LoopIO
    private let config: TokenStoreConfig
    /// Pub/sub: the channel to subscribe to, and what to do with each message's payload.
    private let channel: [UInt8]?
    var onMessage: ([UInt8]) -> Void = { _ in }
    /// Called when the client goes from answering to not answering or back (`nil` = up), so the
    /// owner can log once per outage.
    var onHealth: (_ failure: String?) -> Void = { _ in }
    /// Each failed connection (attempt), for the error counter.
    var onConnectFailed: () -> Void = {}
    private var state = State.down
    private var connection: RedisConnection?
    private var sentinelProbe: RedisConnection?
    private var inFlight: [Pending] = []
    private var queued: [(bytes: [UInt8], pending: Pending)] = []
    private var failures = 0
    private var lastFailure = "not connected yet"
    private(set) var healthy = true
    private var closed = false
    private let reconnectTimer: LoopTimer
    private let deadlineTimer: LoopTimer
    private var deadlineArmedFor: UInt64 = 0
    /// The primary a sentinel named last (for logs after a failover).
    private(set) var primary: TokenStoreConfig.Endpoint?

    init(io: LoopIO, config: TokenStoreConfig, channel: String? = nil) {
        self.io = io
        self.config = config
        self.channel = channel.map { Array($0.utf8) }
        reconnectTimer = LoopTimer(loop: io.loop)
        deadlineTimer = LoopTimer(loop: io.loop)
    }

    var isReady: Bool { state == .ready }
    /// Disconnected and not trying right now (between reconnection attempts).
    var isDown: Bool { state == .down }

    func start() {
        guard !closed, state == .down else { return }
        connect()
    }

    func close() {
        closed = true
        reconnectTimer.cancel()
        deadlineTimer.cancel()
        connection?.shut()
        sentinelProbe?.shut()
        connection = nil
        sentinelProbe = nil
        failAll(.unavailable("token store client closed"))
        state = .down
    }

    /// Sends one command (arguments binary-safe); `completion` runs exactly once, on the loop,
    /// possibly at once (store known down).
    func send(_ args: [[UInt8]], completion: @escaping Completion) {
        guard !closed else {
            completion(.failure(.unavailable("token store client closed")))
            return
        }
        let p = Pending(deadline: io.now + UInt64(config.timeoutMs), completion: completion)
        let bytes = RESPDecoder.format(args)
        switch state {
        case .down:
            completion(.failure(.unavailable(lastFailure)))
        case .connecting:
            queued.append((bytes, p))
            armDeadline(p.deadline)
        case .ready:
            inFlight.append(p)
            armDeadline(p.deadline)
            connection?.send(bytes)
        }
    }

    // MARK: connecting

    private func connect() {
        state = .connecting
        if case .sentinel(let name) = config.mode {
            askSentinel(0, master: name)
        } else {
            connect(to: config.endpoints[0])
        }
    }

    /// `SENTINEL get-master-addr-by-name` of each sentinel in turn until one names the primary.
    private func askSentinel(_ index: Int, master: String) {
        guard index < config.endpoints.count else {
            connectionFailed("no sentinel named a primary for '\(master)'" + (index > 0 ? " (\(lastFailure))" : ""))
            return
        }
        let s = config.endpoints[index]
        io.resolver.resolve(host: s.host, port: s.port) { [weak self] result in
            guard let self, !closed else { return }
            guard case .success(let address) = result else {
                lastFailure = "sentinel \(s) cannot be resolved"
                askSentinel(index + 1, master: master)
                return
            }
            var answered = false
            let probe = RedisConnection(io: io) { [weak self] event in
                guard let self, !closed else { return }
                switch event {
                case .ready:
                    sentinelProbe?.send(RESPDecoder.format("SENTINEL", "get-master-addr-by-name", master))
                case .reply(let v):
                    guard !answered else { return }
                    answered = true
                    sentinelProbe?.shut()
                    sentinelProbe = nil
                    if case .array(let items?) = v, items.count == 2, let host = items[0].text,
                       let portText = items[1].text, let port = UInt16(portText) {
                        let p = TokenStoreConfig.Endpoint(host: host, port: port)
                        primary = p
                        connect(to: p)
                    } else {
                        lastFailure = "sentinel \(s) knows no primary named '\(master)'"
                        askSentinel(index + 1, master: master)
                    }
                case .ended(let why):
                    sentinelProbe = nil
                    guard !answered else { return }
                    lastFailure = "sentinel \(s): \(why)"
                    askSentinel(index + 1, master: master)
                }
            }
            sentinelProbe = probe
            probe.startTimer(ms: config.timeoutMs)
            probe.open(address, tls: nil)
        }
    }

    private func connect(to endpoint: TokenStoreConfig.Endpoint) {
        var tls: (context: TLSContext, serverName: String)? = nil
        if config.mode == .tls {
            switch io.tls.clientContext(config.tls) {
            case .success(let ctx): tls = (ctx, endpoint.host)
            case .failure(let e):
                connectionFailed("TLS setup failed: \(e.message)")
                return
            }
        }
        io.resolver.resolve(host: endpoint.host, port: endpoint.port) { [weak self] result in
            guard let self, !closed else { return }
            switch result {
            case .failure(let e):
                connectionFailed("\(endpoint) cannot be resolved: \(e.message)")
            case .success(let address):
                let c = RedisConnection(io: io) { [weak self] event in self?.handle(event) }
                connection = c
                c.startTimer(ms: max(config.timeoutMs, 1000))
                c.open(address, tls: tls)
            }
        }
    }

    private func handle(_ event: RedisConnection.Event) {
        guard !closed else { return }
        switch event {
        case .ready:
            connection?.stopTimer()
            var hello: [UInt8] = []
            if let password = config.password {
                var args = [Array("AUTH".utf8)]
                if let user = config.username { args.append(Array(user.utf8)) }
                args.append(Array(password.value.utf8))
                hello += RESPDecoder.format(args)
                inFlight.append(Pending(deadline: io.now + UInt64(config.timeoutMs), completion: nil))
            }
            if let channel {
                hello += RESPDecoder.format([Array("SUBSCRIBE".utf8), channel])
            } else {
                if config.database != 0 {
                    hello += RESPDecoder.format("SELECT", String(config.database))
                    inFlight.append(Pending(deadline: io.now + UInt64(config.timeoutMs), completion: nil))
                }
                // The first answer marks the store healthy again (logged once per outage), also
                // when no command is waiting.
                hello += RESPDecoder.format("PING")
                inFlight.append(Pending(deadline: io.now + UInt64(config.timeoutMs), completion: { _ in }))
            }
            state = .ready
            failures = 0
            for q in queued {
                hello += q.bytes
                inFlight.append(q.pending)
            }
            queued.removeAll()
            connection?.send(hello)
            if !inFlight.isEmpty { armDeadline(inFlight[0].deadline) }
        case .reply(let v):
            reply(v)
        case .ended(let why):
            connection = nil
            connectionFailed(why)
        }
    }

    private func reply(_ v: RESPValue) {
        if channel != nil, case .array(let items?) = v, let kind = items.first?.text {
            // Pub/sub pushes are not answers to commands.
            if kind == "message", items.count == 3, let payload = items[2].bytes { onMessage(payload) }
            if kind == "subscribe" { setHealthy(true) }
            if kind == "message" || kind == "subscribe" { return }
        }
        guard !inFlight.isEmpty else {
            reset("unexpected reply from the server")
            return
        }
        let p = inFlight.removeFirst()
        if case .error(let e) = v {
            let code = e.split(separator: " ").first.map(String.init) ?? e
            if p.completion == nil {
                // AUTH or SELECT refused: nothing on this connection can work.
                reset("the server refused the handshake: \(code == "WRONGPASS" ? "WRONGPASS (username or password)" : e)")
                return
            }
            if code == "READONLY" || code == "MASTERDOWN" || code == "LOADING" || code == "NOAUTH" {
                // A replica after a failover, or a server that is not serving: find the primary again.
                p.completion?(.failure(.refused(code)))
                reset("the server cannot take writes (\(code))")
                return
            }
            p.completion?(.failure(.refused(code)))
        } else {
            p.completion?(.success(v))
        }
        if channel == nil || inFlight.isEmpty { setHealthy(true) }
    }

    private func reset(_ why: String) {
        connection?.shut()
        connection = nil
        connectionFailed(why)
    }

    private func connectionFailed(_ why: String) {
        guard !closed else { return }
        lastFailure = why
        state = .down
        failAll(.unavailable(why))
        setHealthy(false)
        onConnectFailed()
        failures += 1
        // 100 ms, doubling up to 5 s, with jitter: a store back after a restart is found within
        // seconds, and a dead one costs a connection attempt every few seconds.
        let cap = min(100 << min(failures - 1, 6), 5000)
        let delay = UInt64(cap / 2 + Int.random(in: 0...(cap / 2)))
        reconnectTimer.schedule(afterMs: delay) { [weak self] in
            guard let self, !closed, state == .down else { return }
            connect()
        }
    }

    private func failAll(_ f: Failure) {
        let waiting = inFlight.map(\.completion) + queued.map(\.pending.completion)
        inFlight.removeAll()
        queued.removeAll()
        for c in waiting { c?(.failure(f)) }
    }

    private func setHealthy(_ up: Bool) {
        guard up != healthy else { return }
        healthy = up
        onHealth(up ? nil : lastFailure)
    }

    // MARK: deadlines

    private func armDeadline(_ at: UInt64) {
        guard deadlineArmedFor == 0 || at < deadlineArmedFor else { return }
        deadlineArmedFor = at
        let now = io.now
        deadlineTimer.schedule(afterMs: at > now ? at - now : 1) { [weak self] in self?.checkDeadlines() }
    }

    /// Answers come in order, so the oldest command tells: past its deadline, the connection is
    /// stuck or the store too slow; everything outstanding fails and the connection is made anew.
    private func checkDeadlines() {
        deadlineArmedFor = 0
        let now = io.now
        let oldest = inFlight.first?.deadline ?? queued.first?.pending.deadline
        guard let oldest else { return }
        if oldest <= now {
            lastFailure = "no answer within timeout_ms (\(config.timeoutMs) ms)"
            connection?.shut()
            connection = nil
            sentinelProbe?.shut()
            sentinelProbe = nil
            let waiting = inFlight.map(\.completion) + queued.map(\.pending.completion)
            inFlight.removeAll()
            queued.removeAll()
            for c in waiting { c?(.failure(.timeout)) }
            connectionFailed(lastFailure)
        } else {
            armDeadline(oldest)
        }
    }
}

@available(*, unavailable)
extension RedisClient: Sendable {}
