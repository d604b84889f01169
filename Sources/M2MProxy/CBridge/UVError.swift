private import CLibUV

/// A libuv error code (always negative) turned into a value at the boundary, so the rest of the
/// proxy never compares raw ints (libuv `docs/src/errors.rst`: a failed call never runs its callback).
struct UVError: Error, CustomStringConvertible, Equatable {
    let code: Int32

    init(_ code: Int32) { self.code = code }

    /// libuv's short name, e.g. `ECONNREFUSED`.
    var name: String { String(cString: uv_err_name(code)) }
    /// libuv's message, e.g. `connection refused`.
    var message: String { String(cString: uv_strerror(code)) }
    var description: String { message }

    static let eof = UVError(Int32(UV_EOF.rawValue))
    static let eagain = UVError(Int32(UV_EAGAIN.rawValue))
    static let ecanceled = UVError(Int32(UV_ECANCELED.rawValue))
    static let econnrefused = UVError(Int32(UV_ECONNREFUSED.rawValue))
    static let etimedout = UVError(Int32(UV_ETIMEDOUT.rawValue))
    static let eaddrinuse = UVError(Int32(UV_EADDRINUSE.rawValue))
    /// A TLS failure (handshake, certificate, alert): `UVStream.tlsFailure` says which.
    static let eproto = UVError(Int32(UV_EPROTO.rawValue))

    /// Throws for a negative libuv return code.
    @discardableResult
    static func check(_ rc: Int32) throws(UVError) -> Int32 {
        if rc < 0 { throw UVError(rc) }
        return rc
    }
}
