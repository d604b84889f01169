/// After `101 Switching Protocols` (WebSocket and other upgrades, DESIGN.md §4): the two
/// connections become a byte pipe with backpressure both ways, until either side closes.
extension ClientConnection {
    /// `upstreamBytes` bytes at `at` in the upstream's head buffer arrived after the 101 head.
    func startTunnel(_ u: UpstreamConnection, upstreamBytes: Int, at: Int) {
        state = .tunnel
        u.stopTimer()
        tunnelActive()
        if upstreamBytes > 0 {
            tunnelFromUpstream(u, u.headBuffer + at, upstreamBytes)
        }
        // Bytes the client sent after its upgrade request (already in the head buffer).
        if nextStart >= 0, let head, headCount > nextStart {
            let start = nextStart
            nextStart = -1
            tunnelFromClient(head + start, headCount - start)
        }
        if !request.clientPausedForUpstream { startReading() }
    }

    func tunnelFromClient(_ base: UnsafeRawPointer, _ count: Int) {
        guard let u = upstream else { return }
        // The access log's bytes in count the tunnel's bytes too.
        request.bodyBytes &+= UInt64(count)
        tunnelActive()
        if let err = u.write(base, count) {
            upstreamLost(u, err)
            return
        }
        if u.writeQueueSize > Worker.highWater {
            pauseClientForUpstream(u)
        }
    }

    func tunnelFromUpstream(_ u: UpstreamConnection, _ base: UnsafeRawPointer, _ count: Int) {
        tunnelActive()
        if write(base, count) != nil {
            abort()
            return
        }
        if writeQueueSize > Worker.highWater {
            request.upstreamPausedForClient = true
            u.stopReading()
        }
    }
}
