internal import CLibUV
private import Glibc

/// The control role, on the main loop beside worker 0: the token cache (fetches, refresh
/// timers, prefetch), the admin endpoints, signals (SIGTERM/SIGINT drain every loop, SIGHUP
/// reloads every loop) and the other workers' threads.
///
/// Worker loops talk to it through `inbox` (token needs, 401 rejections, scrape answers, "I
/// stopped"); it answers through each worker's mailbox (worker 0: a direct call, same loop).
/// With `workers = 1` there is no other thread: worker 0 alone serves, and the only extra
/// cost is the inbox's uv_async_t.
final class ControlLoop {
    let loop: UnsafeMutablePointer<uv_loop_t>
    let log: Log
    /// Worker 0, on this loop.
    let worker: Worker
    let tokenCache: TokenCache
    let inbox: Mailbox<ControlMessage>
    private let inboxSignal: AsyncSignal
    private var remotes: [RemoteWorker] = []
    private let reloadConfig: () -> ConfigLoadResult
    private(set) var draining = false
    private var localStopped = false
    private var stopped = false
    private var scrapes: [Int: PendingScrape] = [:]
    private var nextScrape = 0
    private var watchers: [SignalWatcher] = []
    private var reloadGeneration = 0
    /// Workers that have not applied the latest reload yet, and what to log once all have.
    private var reloadPending: Set<Int> = []
    private var reloadDoneMessage = ""
    /// The token slot of each route of the configuration in force (nil: no credential).
    private var tokenSlots: [Int?] = []
    /// Upstream host names resolved again every `dns_refresh_ms`, for every loop.
    private var dns: DNSRefresher!

    /// How many worker loops serve (1 + the threads).
    var workerCount: Int { 1 + remotes.count }

    /// A worker on its own thread. Its `Worker` is touched by this thread only before `start`.
    private final class RemoteWorker {
        let id: Int
        let worker: Worker
        let mailbox: Mailbox<WorkerMessage>
        let thread = WorkerThread()
        var stopped = false

        init(id: Int, worker: Worker, mailbox: Mailbox<WorkerMessage>) {
            self.id = id
            self.worker = worker
            self.mailbox = mailbox
        }
    }

    private struct PendingScrape {
        var parts: [Int: WorkerMetrics]
        var waitingFor: Set<Int>
        let completion: ([WorkerMetrics]) -> Void
    }

    init(loop: UnsafeMutablePointer<uv_loop_t>, config: ProxyConfig, log: Log, reload: @escaping () -> ConfigLoadResult) {
        self.loop = loop
        self.log = log
        reloadConfig = reload
        inboxSignal = AsyncSignal(loop: loop)
        inbox = Mailbox(doorbell: inboxSignal.doorbell)
        worker = Worker(loop: loop, id: 0, config: config, log: log, control: inbox, board: [], tokenSlots: config.routes.map { _ in nil })
        tokenCache = TokenCache(context: LoopTokenCacheContext(io: worker.io, log: log))
        tokenSlots = tokenCache.assignSlots(config)
        worker.installTokenSlots(tokenSlots, board: tokenCache.board)
        // The inbox must not keep the main loop alive on its own: uv_stop ends it.
        inboxSignal.action = { [unowned self] in
            for m in inbox.take() { handle(m) }
        }
        tokenCache.wake = { [unowned self] w, slot, failure in
            if w == 0 {
                worker.tokens.wake(slot: slot, failure: failure)
            } else if let r = remote(w), !r.stopped {
                r.mailbox.post(.token(slot: slot, failure: failure))
            }
        }
        worker.onStopped = { [unowned self] in
            localStopped = true
            stopIfDone()
        }
        dns = DNSRefresher(loop: loop, log: log) { [unowned self] host, ips in
            worker.setEndpointAddresses(host: host, ips: ips)
            for r in remotes where !r.stopped { r.mailbox.post(.endpoints(host: host, ips: ips)) }
        }
        startAddresses = dns.resolveNow(config)
        for (host, ips) in startAddresses { worker.setEndpointAddresses(host: host, ips: ips) }
    }

    /// The upstream names' addresses resolved before serving (`DNSRefresher.resolveNow`).
    private var startAddresses: [String: [String]] = [:]

    private func remote(_ id: Int) -> RemoteWorker? {
        id >= 1 && id <= remotes.count ? remotes[id - 1] : nil
    }

    // MARK: start and stop

    /// Binds every listener of every worker (all or nothing: the caller exits 2 on a throw),
    /// then starts the worker threads, the admin endpoints, prefetch and signal handling.
    func start(workers count: Int) throws(StartupError) {
        try worker.listen()
        let config = worker.config
        let slots = tokenSlots
        for id in 1..<max(count, 1) {
            let l = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
            guard uv_loop_init(l) == 0 else { throw StartupError("cannot create the event loop of worker \(id)") }
            let signal = AsyncSignal(loop: l)
            let mailbox = Mailbox<WorkerMessage>(doorbell: signal.doorbell)
            let w = Worker(loop: l, id: id, config: config, log: log, control: inbox, board: tokenCache.board, tokenSlots: slots)
            for (host, ips) in startAddresses { w.setEndpointAddresses(host: host, ips: ips) }
            try w.listen()
            let inbox = self.inbox
            signal.action = { [unowned w] in
                for m in mailbox.take() { w.handle(m, control: inbox) }
            }
            w.onStopped = { uv_stop(l) }
            remotes.append(RemoteWorker(id: id, worker: w, mailbox: mailbox))
        }
        if config.server.adminListen != nil {
            try worker.listenAdmin(handler: AdminHandler(control: self))
        }
        for r in remotes {
            let w = r.worker
            let inbox = self.inbox
            let id = r.id
            let started = r.thread.start {
                uv_run(w.loop, UV_RUN_DEFAULT)
                w.accessLog?.flush()
                inbox.post(.stopped(worker: id))
            }
            guard started else { throw StartupError("cannot start the thread of worker \(id)") }
        }
        if count > 1 { log.info("\(count) worker loops") }
        tokenCache.prefetch()
        dns.configure(config)
        installSignals()
    }

    private func installSignals() {
        let drainMs = worker.config.server.drainTimeoutMs
        for sig in [SIGTERM, SIGINT] {
            watchers.append(SignalWatcher(loop: loop, signal: sig) { [unowned self] in
                log.info("signal \(sig): stopping")
                beginDrain(timeoutMs: drainMs)
            })
        }
        watchers.append(SignalWatcher(loop: loop, signal: SIGHUP) { [unowned self] in reload() })
    }

    /// Every loop stops accepting and finishes its requests; the main loop ends once all have.
    func beginDrain(timeoutMs: Int) {
        guard !draining else { return }
        draining = true
        dns.stop()
        for r in remotes where !r.stopped { r.mailbox.post(.drain(timeoutMs: timeoutMs)) }
        worker.beginDrain(timeoutMs: timeoutMs)
    }

    private func stopIfDone() {
        guard localStopped, !stopped, remotes.allSatisfy(\.stopped) else { return }
        stopped = true
        uv_stop(loop)
    }

    /// After the main loop ended: waits for the worker threads (they have all reported stopped).
    func joinWorkers() {
        for r in remotes { r.thread.join() }
    }

    // MARK: reload

    /// SIGHUP (DESIGN.md §2): the new configuration reaches every loop; tokens of unchanged keys
    /// are kept. An invalid file keeps the current configuration.
    func reload() {
        guard !draining else { return }
        let result = reloadConfig()
        guard let new = result.config, result.errors.isEmpty else {
            let why = result.errors.map(\.description).joined(separator: "; ")
            log.error("reload failed, keeping the current configuration: \(why)")
            return
        }
        for w in result.warnings { log.warning("config: \(w)") }
        tokenCache.beginGeneration()
        let slots = tokenCache.assignSlots(new)
        tokenSlots = slots
        let board = tokenCache.board
        for note in worker.reload(new, tokenSlots: slots, board: board) { log.warning("reload: \(note)") }
        reloadGeneration += 1
        let running = remotes.filter { !$0.stopped }
        for r in running {
            r.mailbox.post(.reload(new, tokenSlots: slots, board: board, generation: reloadGeneration))
        }
        tokenCache.prefetch()
        dns.configure(new)
        // "reloaded" is logged once every loop serves the new configuration, so that whoever
        // waits for the line (an operator, a test) can rely on it for every connection.
        reloadPending = Set(running.map(\.id))
        reloadDoneMessage = "configuration reloaded: \(new.routes.count) route(s), \(new.credentials.count) credential(s)"
        logReloadIfDone()
    }

    private func logReloadIfDone() {
        guard reloadPending.isEmpty, !reloadDoneMessage.isEmpty else { return }
        log.info(reloadDoneMessage)
        reloadDoneMessage = ""
    }

    // MARK: messages

    private func handle(_ m: ControlMessage) {
        switch m {
        case .needToken(let slot, let w):
            tokenCache.need(slot: slot, worker: w)
        case .tokenRejected(let slot, let seq):
            tokenCache.rejected(slot: slot, seq: seq)
        case .refreshDue(let slot, let seq):
            tokenCache.refreshDue(slot: slot, seq: seq)
        case .metrics(let scrape, let w, let part):
            guard var p = scrapes[scrape] else { return }
            p.parts[w] = part
            p.waitingFor.remove(w)
            scrapes[scrape] = p
            finishScrapeIfComplete(scrape)
        case .reloaded(let generation, let w):
            guard generation == reloadGeneration else { return }
            reloadPending.remove(w)
            logReloadIfDone()
        case .endpointEjected(let label, let ms, let from):
            // Every other loop ejects it too (each keeps its own clock and failure counts).
            if from != 0 { worker.applyEjection(label: label, forMs: ms) }
            for r in remotes where !r.stopped && r.id != from { r.mailbox.post(.ejectEndpoint(label: label, forMs: ms)) }
        case .stopped(let w):
            guard let r = remote(w) else { return }
            r.stopped = true
            reloadPending.remove(w)
            logReloadIfDone()
            // A stopped loop answers no scrape: complete those that waited for it.
            for id in Array(scrapes.keys) {
                scrapes[id]!.waitingFor.remove(w)
                finishScrapeIfComplete(id)
            }
            stopIfDone()
        }
    }

    // MARK: metrics

    /// Every running worker's counters (worker 0's at once, the others' by a message round
    /// trip: no loop reads another's counters). `completion` runs on this loop, parts by id.
    func scrape(_ completion: @escaping ([WorkerMetrics]) -> Void) {
        let running = remotes.filter { !$0.stopped }
        let local = worker.metricsPart()
        if running.isEmpty {
            completion([local])
            return
        }
        nextScrape += 1
        let id = nextScrape
        scrapes[id] = PendingScrape(parts: [0: local], waitingFor: Set(running.map(\.id)), completion: completion)
        for r in running { r.mailbox.post(.scrapeMetrics(scrape: id)) }
    }

    private func finishScrapeIfComplete(_ id: Int) {
        guard let p = scrapes[id], p.waitingFor.isEmpty else { return }
        scrapes[id] = nil
        p.completion(p.parts.keys.sorted().map { p.parts[$0]! })
    }
}

@available(*, unavailable)
extension ControlLoop: Sendable {}
