/// Constant pieces of heads, allocated once per loop and written by reference.
final class StaticLines {
    let empty = StaticBytes([UInt8]())
    let space = StaticBytes(" ")
    let slash = StaticBytes("/")
    let crlf = StaticBytes("\r\n")
    let requestLineEnd = StaticBytes(" HTTP/1.1\r\n")
    let http11 = StaticBytes("HTTP/1.1")
    let hostPrefix = StaticBytes("Host: ")
    let xffPrefix = StaticBytes("X-Forwarded-For: ")
    let xfhPrefix = StaticBytes("X-Forwarded-Host: ")
    let commaSpace = StaticBytes(", ")
    /// Ends every forwarded request head.
    let headTail = StaticBytes("X-Forwarded-Proto: http\r\nVia: 1.1 m2m-proxy\r\n\r\n")
    /// The same for clients of a TLS listener.
    let headTailTLS = StaticBytes("X-Forwarded-Proto: https\r\nVia: 1.1 m2m-proxy\r\n\r\n")
    let continue100 = StaticBytes("HTTP/1.1 100 Continue\r\n\r\n")
    let connectionClose = StaticBytes("Connection: close\r\n")
    let connectionKeepAlive = StaticBytes("Connection: keep-alive\r\n")
    let connectionUpgrade = StaticBytes("Connection: upgrade\r\n")
}

@available(*, unavailable)
extension StaticLines: Sendable {}
