internal import CNGHTTP2
internal import Glibc

/// An nghttp2 server session (RFC 9113), driven like `HTTPParser` drives llhttp: the owner feeds
/// received bytes in with `receive` and takes bytes to send out with `flush` (no I/O here).
/// nghttp2 checks framing, HPACK, stream states and flow control and answers violations with
/// GOAWAY or RST_STREAM itself; windows open only when the owner calls `consume`.
final class H2Session: H2SessionPlumbing {
    private(set) var session: OpaquePointer?
    /// The owner of this session (it holds the session strongly, so it outlives every callback),
    /// borrowed: not weak, a weak load per nghttp2 callback costs a retain and a release.
    private var delegateRef: Unmanaged<H2SessionDelegate>?
    var delegate: H2SessionDelegate? {
        get { delegateRef?.takeUnretainedValue() }
        set { delegateRef = newValue.map { .passUnretained($0) } }
    }

    /// Calls the delegate without retaining it.
    @inline(__always)
    func toDelegate<R>(_ body: (H2SessionDelegate) -> R) -> R? {
        delegateRef?._withUnsafeGuaranteedRef(body)
    }

    /// The fields of the next HEADERS frame to submit (response head or trailers).
    let fields: H2FieldList
    /// nghttp2's allocations (the loop's), held until the session is deleted.
    private let memory: H2Allocator

    /// `maxConcurrentStreams` and `maxHeaderListSize` are advertised in SETTINGS (nghttp2 refuses
    /// streams over the first with REFUSED_STREAM).
    init?(maxConcurrentStreams: UInt32, maxHeaderListSize: UInt32, memory: H2Allocator) {
        fields = H2FieldList(capacity: Int(maxHeaderListSize) + 1024)
        self.memory = memory
        var cbs: OpaquePointer?
        guard nghttp2_session_callbacks_new(&cbs) == 0 else { return nil }
        defer { nghttp2_session_callbacks_del(cbs) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs) { _, frame, ud in
            let f = frame!.pointee
            if f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) && f.headers.cat == NGHTTP2_HCAT_REQUEST {
                h2Owner(ud)._withUnsafeGuaranteedRef { $0.toDelegate { $0.h2StreamBegan(f.hd.stream_id) } }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(cbs) { _, frame, name, nlen, value, vlen, _, ud in
            let id = frame!.pointee.hd.stream_id
            let ok = h2Owner(ud)._withUnsafeGuaranteedRef {
                $0.toDelegate {
                    $0.h2Field(
                        id, name: UnsafeRawBufferPointer(start: name, count: nlen),
                        value: UnsafeRawBufferPointer(start: value, count: vlen))
                } ?? false
            }
            return ok ? 0 : Int32(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs) { _, frame, ud in
            let f = frame!.pointee
            let end = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            let id = f.hd.stream_id
            h2Owner(ud)._withUnsafeGuaranteedRef { s in
                if f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) {
                    if f.headers.cat == NGHTTP2_HCAT_REQUEST {
                        s.toDelegate { $0.h2HeadersDone(id, endStream: end) }
                    } else if end {
                        s.toDelegate { $0.h2BodyEnded(id) }
                    } else {
                        s.toDelegate { $0.h2TrailersDidNotEnd(id) }
                    }
                } else if f.hd.type == UInt8(NGHTTP2_DATA.rawValue) && end {
                    s.toDelegate { $0.h2BodyEnded(id) }
                }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs) { _, _, id, data, len, ud in
            h2Owner(ud)._withUnsafeGuaranteedRef {
                $0.toDelegate { $0.h2Data(id, UnsafeRawBufferPointer(start: data, count: len)) }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs) { _, id, code, ud in
            h2Owner(ud)._withUnsafeGuaranteedRef { $0.toDelegate { $0.h2StreamClosed(id, errorCode: code) } }
            return 0
        }
        var opt: OpaquePointer?
        guard nghttp2_option_new(&opt) == 0 else { return nil }
        defer { nghttp2_option_del(opt) }
        // Windows open as the upstream side takes the bytes (`consume`), not on receipt.
        nghttp2_option_set_no_auto_window_update(opt, 1)
        nghttp2_option_set_max_send_header_block_length(opt, Int(maxHeaderListSize) + 1024)
        // nghttp2's HTTP messaging checks (nghttp2_http.c: field syntax, pseudo-headers,
        // content-length against DATA, trailers) are off: the owner makes them itself
        // (`H2RequestHead`, `H2FieldSyntax`), on fields it looks at anyway. Together they were
        // ~1,200 instructions per request (callgrind: `nghttp2_http_on_header` and the
        // `nghttp2_check_*` it calls per field). Without them nghttp2 hands every field over as
        // decoded, CR, LF or upper case included: the owner must refuse what they refused.
        nghttp2_option_set_no_http_messaging(opt, 1)
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard memory.withMem({ nghttp2_session_server_new3(&session, cbs, me, opt, $0) }) == 0 else { return nil }
        // NO_RFC7540_PRIORITIES: streams are scheduled by RFC 9218's urgency (`shareConnection`)
        // instead of RFC 7540's dependency tree, which nghttp2 maintains per stream and keeps
        // closed streams in (~250 instructions per request, callgrind).
        var iv = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: maxConcurrentStreams),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: maxHeaderListSize),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES.rawValue), value: 1),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count)
    }

    deinit { nghttp2_session_del(session) }

    /// The owner's pointer for stream `id` (`setStreamData`), nil once the stream is gone:
    /// nghttp2's own stream table is the lookup, no second table above it.
    @inline(__always)
    func streamData(_ id: Int32) -> UnsafeMutableRawPointer? {
        nghttp2_session_get_stream_user_data(session, id)
    }

    func setStreamData(_ id: Int32, _ p: UnsafeMutableRawPointer?) {
        nghttp2_session_set_stream_user_data(session, id, p)
    }

    /// Sends `id`'s DATA round-robin with the connection's other streams (RFC 9218: urgency 3,
    /// incremental). The default for a stream whose client gave no priority (urgency 3, not
    /// incremental) sends streams of one urgency one after the other, so a large download would
    /// hold back every other stream of the connection (RFC 7540's equal weights shared it).
    /// Safe from `h2ReadBody`: nghttp2 takes the queued stream out and back in.
    func shareConnection(_ id: Int32) {
        var shared = nghttp2_extpri(urgency: UInt32(NGHTTP2_EXTPRI_DEFAULT_URGENCY), inc: 1)
        nghttp2_session_change_extpri_stream_priority(session, id, &shared, 0)
    }

    /// Applies a client's RFC 9218 priority field to stream `id` (PRIORITY_UPDATE frames may
    /// still change it).
    func prioritize(_ id: Int32, urgency: UInt32, incremental: Bool) {
        var p = nghttp2_extpri(urgency: urgency, inc: incremental ? 1 : 0)
        nghttp2_session_change_extpri_stream_priority(session, id, &p, 0)
    }

    func goAway() {
        nghttp2_session_terminate_session(session, UInt32(NGHTTP2_NO_ERROR.rawValue))
    }

    /// Submits `fields` as the trailer block of `id`'s response
    /// (from `h2SubmitTrailers`, while nghttp2 reads the body's end).
    func submitTrailers(_ id: Int32) -> Bool {
        fields.withNVA { nghttp2_submit_trailer(session, id, $0.baseAddress, $0.count) } == 0
    }

    /// Submits `fields` as the response of `id`, with a body read through `h2ReadBody` unless
    /// `noBody`; `source` (the owner's, valid while the stream is open) is handed back to it.
    func submitResponse(_ id: Int32, noBody: Bool, source: UnsafeMutableRawPointer? = nil) -> Bool {
        let rc: Int32 = fields.withNVA { nv in
            if noBody { return nghttp2_submit_response(session, id, nv.baseAddress, nv.count, nil) }
            var provider = nghttp2_data_provider()
            provider.source.ptr = source
            provider.read_callback = { _, id, buf, len, flags, source, ud in
                let from = source.unsafelyUnwrapped.pointee.ptr
                let r = h2Owner(ud)._withUnsafeGuaranteedRef {
                    $0.toDelegate { $0.h2ReadBody(id, source: from, into: UnsafeMutableRawBufferPointer(start: buf, count: len)) } ?? nil
                }
                guard let r else { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
                if r.count == len && !r.eof {
                    // A full frame with more to follow: the body spans frames.
                    h2Owner(ud)._withUnsafeGuaranteedRef { $0.toDelegate { $0.h2BodySpansFrames(id) } }
                }
                if r.eof {
                    flags!.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue)
                    // Trailers (gRPC's status) end the stream instead of this DATA frame.
                    if h2Owner(ud)._withUnsafeGuaranteedRef({ $0.toDelegate { $0.h2SubmitTrailers(id) } ?? false }) {
                        flags!.pointee |= UInt32(NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue)
                    }
                }
                return r.count
            }
            return nghttp2_submit_response(session, id, nv.baseAddress, nv.count, &provider)
        }
        return rc == 0
    }
}

private func h2Owner(_ p: UnsafeMutableRawPointer?) -> Unmanaged<H2Session> {
    Unmanaged<H2Session>.fromOpaque(p!)
}
