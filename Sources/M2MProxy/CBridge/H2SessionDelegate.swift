/// What an `H2Session` reports (the connection that drives it subclasses this; CBridge names
/// nothing above it). Names and values point into nghttp2's memory, valid during the call only.
///
/// A class, not a protocol: the session calls it once per nghttp2 callback (a request's HEADERS
/// alone are about ten), through a borrowed reference (`Unmanaged._withUnsafeGuaranteedRef`).
/// An existential read from an `unowned(unsafe)` slot is copied strong first: a retain and a
/// release per callback, ~300 instructions per HTTP/2 request (callgrind). The defaults do
/// nothing; the subclass overrides them all.
class H2SessionDelegate {
    /// A client opened stream `id` with a HEADERS frame; its fields follow.
    func h2StreamBegan(_ id: Int32) {}
    /// One field of stream `id`'s request (or trailer) block. False resets the stream.
    func h2Field(_ id: Int32, name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool { false }
    /// The request head of `id` is complete; `endStream`: it has no body.
    func h2HeadersDone(_ id: Int32, endStream: Bool) {}
    /// DATA of stream `id`. The bytes count against flow control until `consume`.
    func h2Data(_ id: Int32, _ data: UnsafeRawBufferPointer) {}
    /// The request body of `id` ended (END_STREAM on DATA or trailers).
    func h2BodyEnded(_ id: Int32) {}
    /// A trailing HEADERS of `id` came without END_STREAM (malformed: RFC 9113 §8.1).
    func h2TrailersDidNotEnd(_ id: Int32) {}
    /// Copies up to `into.count` response body bytes of `id`. nil: none yet (deferred);
    /// `eof`: the body ended after the bytes returned.
    func h2ReadBody(_ id: Int32, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? { (0, true) }
    /// `h2ReadBody` with the `source` the body was submitted with (`H2Session.submitResponse`).
    func h2ReadBody(_ id: Int32, source: UnsafeMutableRawPointer?, into: UnsafeMutableRawBufferPointer) -> (count: Int, eof: Bool)? {
        h2ReadBody(id, into: into)
    }
    /// `h2ReadBody` filled a whole DATA frame of `id` and its body goes on (called per such frame).
    func h2BodySpansFrames(_ id: Int32) {}
    /// The flush `H2FlushQueue.schedule` asked for, at the end of the loop iteration.
    func h2Flush() {}
    /// Stream `id` is gone (finished, or reset with `errorCode`).
    func h2StreamClosed(_ id: Int32, errorCode: UInt32) {}
    /// The response body of `id` ended: true when trailers were submitted (`submitTrailers`),
    /// which then end the stream.
    func h2SubmitTrailers(_ id: Int32) -> Bool { false }
}
