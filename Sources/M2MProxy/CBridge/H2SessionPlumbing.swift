internal import CNGHTTP2

/// The byte and window plumbing an nghttp2 session has whichever side it plays (`H2Session`
/// serves, `H2ClientSession` asks): the owner feeds received bytes in with `receive` and takes
/// bytes to send with `flush` (no I/O here). Extension methods on final classes: static calls.
protocol H2SessionPlumbing: AnyObject {
    /// The nghttp2 session (nil only if its creation failed, and then the owner's init did too).
    var session: OpaquePointer? { get }
}

extension H2SessionPlumbing {
    /// Feeds received bytes; false when the connection must close (a GOAWAY is then pending).
    func receive(_ data: UnsafeRawBufferPointer) -> Bool {
        guard let base = data.baseAddress else { return true }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), data.count)
        if n >= 0 { return true }
        // Fatal errors (a bad preface among them) queue no GOAWAY of their own: say why.
        nghttp2_session_terminate_session(session, UInt32(NGHTTP2_PROTOCOL_ERROR.rawValue))
        return false
    }

    /// Hands each chunk nghttp2 wants sent to `out`, until none is left.
    func flush(_ out: (UnsafeRawPointer, Int) -> Void) {
        while true {
            var p: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &p)
            if n <= 0 { return }
            out(UnsafeRawPointer(p!), n)
        }
    }

    /// nghttp2 has frames to send (possibly DATA its windows hold back).
    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Whether the session still reads or writes (false after GOAWAY exchanges complete).
    var isAlive: Bool {
        nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    /// `count` DATA bytes of stream `id` were taken: their window may open again.
    func consume(_ id: Int32, _ count: Int) {
        nghttp2_session_consume(session, id, count)
    }

    func resetStream(_ id: Int32, code: UInt32) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, code)
    }

    /// More body of `id` to send is available (after the delegate's `h2ReadBody` returned nil).
    func resumeBody(_ id: Int32) { nghttp2_session_resume_data(session, id) }
}
