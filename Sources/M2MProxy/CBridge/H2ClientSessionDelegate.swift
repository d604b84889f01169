/// What an `H2ClientSession` reports (the upstream session that drives it implements this).
/// Names and values point into nghttp2's memory, valid during the call only.
protocol H2ClientSessionDelegate: AnyObject {
    /// One field of stream `id`'s response head (`trailer` false) or trailer block (true).
    func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, trailer: Bool)
    /// A response head of `id` is complete (1xx heads too); `endStream`: no body follows.
    func h2ResponseHead(_ id: Int32, endStream: Bool)
    /// DATA of stream `id`. The bytes count against flow control until `consume`.
    func h2Data(_ id: Int32, _ data: UnsafeRawBufferPointer)
    /// The response of `id` ended (END_STREAM on DATA or on the trailer block).
    func h2ResponseEnded(_ id: Int32, trailers: Bool)
    /// Copies up to `into.count` request body bytes of `id`. nil: none yet (deferred);
    /// `eof`: the body ended after the bytes returned.
    func h2ReadBody(_ id: Int32, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)?
    /// Stream `id` is gone (finished, or reset with `errorCode`).
    func h2StreamClosed(_ id: Int32, errorCode: UInt32)
    /// The server sent GOAWAY: no new stream may start on this connection.
    func h2GoAway()
}
