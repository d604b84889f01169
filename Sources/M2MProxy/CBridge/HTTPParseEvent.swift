private import CLLHTTP

/// One header as two spans into the buffer the head was parsed from.
struct HeaderSpan {
    var name: ByteSpan
    var value: ByteSpan
}

/// What `HTTPParser.execute` stopped at. `consumed` counts bytes of the input passed to that call.
enum ParseEvent {
    /// Every byte was consumed; more input is needed.
    case needMore
    /// The head ended at `consumed` (the parser is paused; call `resume()` before continuing).
    case headersComplete(consumed: Int)
    /// A message ended at `consumed` (paused).
    case messageComplete(consumed: Int)
    case error(ParseError)
}

enum ParseError: Equatable {
    case tooManyHeaders
    /// A chunked trailer field the owner refuses (Authorization, Host, framing fields).
    case forbiddenTrailer
    /// llhttp's error name and reason, e.g. `HPE_INVALID_HEADER_TOKEN`, for logs and the 400 message.
    case invalid(code: Int32)

    var isHeaderOverflow: Bool { self == .tooManyHeaders }
    /// llhttp stopped at `PRI * HTTP/2.0`: the HTTP/2 connection preface (RFC 9113 §3.4).
    var isHTTP2Preface: Bool { self == .invalid(code: Int32(HPE_PAUSED_H2_UPGRADE.rawValue)) }
}
