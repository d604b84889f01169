internal import CNGHTTP2

/// An nghttp2 client session (RFC 9113) for an HTTP/2 upstream, driven like `H2Session`: the
/// owner feeds received bytes in with `receive` and takes bytes to send with `flush` (no I/O
/// here). Windows open only when the owner calls `consume` (the response went on).
final class H2ClientSession: H2SessionPlumbing {
    private(set) var session: OpaquePointer?
    weak var delegate: (any H2ClientSessionDelegate)?
    let fields: H2FieldList
    /// nghttp2's allocations (the loop's), held until the session is deleted.
    private let memory: H2Allocator

    init?(maxHeaderListSize: Int, memory: H2Allocator) {
        fields = H2FieldList(capacity: maxHeaderListSize + 1024)
        self.memory = memory
        var cbs: OpaquePointer?
        guard nghttp2_session_callbacks_new(&cbs) == 0 else { return nil }
        defer { nghttp2_session_callbacks_del(cbs) }
        nghttp2_session_callbacks_set_on_header_callback(cbs) { _, frame, name, nlen, value, vlen, _, ud in
            let f = frame!.pointee
            let trailer = f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) && f.headers.cat == NGHTTP2_HCAT_HEADERS
            h2ClientOwner(ud)._withUnsafeGuaranteedRef {
                $0.delegate?.h2Field(
                    f.hd.stream_id, name: UnsafeRawBufferPointer(start: name, count: nlen),
                    value: UnsafeRawBufferPointer(start: value, count: vlen), trailer: trailer)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs) { _, frame, ud in
            let f = frame!.pointee
            let end = f.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
            let id = f.hd.stream_id
            h2ClientOwner(ud)._withUnsafeGuaranteedRef { s in
                if f.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) {
                    if f.headers.cat == NGHTTP2_HCAT_RESPONSE {
                        s.delegate?.h2ResponseHead(id, endStream: end)
                    } else if end {
                        s.delegate?.h2ResponseEnded(id, trailers: true)
                    }
                } else if f.hd.type == UInt8(NGHTTP2_DATA.rawValue) && end {
                    s.delegate?.h2ResponseEnded(id, trailers: false)
                } else if f.hd.type == UInt8(NGHTTP2_GOAWAY.rawValue) {
                    s.delegate?.h2GoAway()
                }
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs) { _, _, id, data, len, ud in
            h2ClientOwner(ud)._withUnsafeGuaranteedRef {
                $0.delegate?.h2Data(id, UnsafeRawBufferPointer(start: data, count: len))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs) { _, id, code, ud in
            h2ClientOwner(ud)._withUnsafeGuaranteedRef { $0.delegate?.h2StreamClosed(id, errorCode: code) }
            return 0
        }
        var opt: OpaquePointer?
        guard nghttp2_option_new(&opt) == 0 else { return nil }
        defer { nghttp2_option_del(opt) }
        nghttp2_option_set_no_auto_window_update(opt, 1)
        nghttp2_option_set_max_send_header_block_length(opt, maxHeaderListSize + 1024)
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard memory.withMem({ nghttp2_session_client_new3(&session, cbs, me, opt, $0) }) == 0 else { return nil }
        // The client preface goes with this SETTINGS at the first `flush`. No server push.
        var iv = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(maxHeaderListSize)),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count)
    }

    deinit { nghttp2_session_del(session) }

    /// Submits `fields` as a new request, its body read through `h2ReadBody` unless `noBody`.
    /// The new stream's id, or nil (no stream may start: GOAWAY, ids exhausted).
    func submitRequest(noBody: Bool) -> Int32? {
        let id: Int32 = fields.withNVA { nv in
            if noBody { return nghttp2_submit_request(session, nil, nv.baseAddress, nv.count, nil, nil) }
            var provider = nghttp2_data_provider()
            provider.read_callback = { _, id, buf, len, flags, _, ud in
                let r = h2ClientOwner(ud)._withUnsafeGuaranteedRef {
                    $0.delegate?.h2ReadBody(id, into: UnsafeMutableRawBufferPointer(start: buf, count: len))
                }
                guard let r else { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
                if r.eof { flags!.pointee |= UInt32(NGHTTP2_DATA_FLAG_EOF.rawValue) }
                return r.count
            }
            return nghttp2_submit_request(session, nil, nv.baseAddress, nv.count, &provider, nil)
        }
        return id > 0 ? id : nil
    }
}

private func h2ClientOwner(_ p: UnsafeMutableRawPointer?) -> Unmanaged<H2ClientSession> {
    Unmanaged<H2ClientSession>.fromOpaque(p!)
}
