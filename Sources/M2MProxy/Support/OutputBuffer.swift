/// A fixed-capacity byte buffer that lines are appended to without building `String`s: the
/// access log's per-loop buffer (STYLE.md §1: no per-request `String` on the data path).
///
/// Appends never grow the storage: the owner checks `remaining` against the largest line it
/// can write (lines are bounded: see `AccessLog.maxLineBytes`) and flushes first.
final class OutputBuffer {
    let capacity: Int
    let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var remaining: Int { capacity - count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var isEmpty: Bool { count == 0 }

    func reset() { count = 0 }

    @inline(__always)
    func append(_ byte: UInt8) {
        precondition(count < capacity, "OutputBuffer overflow")
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    func append(_ p: UnsafeRawPointer, _ n: Int) {
        guard n > 0 else { return }
        precondition(count + n <= capacity, "OutputBuffer overflow")
        (base + count).copyMemory(from: p, byteCount: n)
        count += n
    }

    func append(_ s: StaticString) { append(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount) }

    func append(_ span: ByteSpan) { append(span.base, span.count) }

    /// An unsigned integer in decimal.
    func appendDecimal(_ value: UInt64) {
        var v = value
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            } while v > 0
            append(scratch.baseAddress! + i, scratch.count - i)
        }
    }

    /// `value` zero-padded to `width` digits (dates).
    func appendPadded(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8((v / divisor) % 10))
            v %= divisor
            divisor /= 10
        }
    }

    /// Nanoseconds as milliseconds with three decimals ("12.345").
    func appendMilliseconds(nanos: UInt64) {
        let micros = nanos / 1000
        appendDecimal(micros / 1000)
        append(UInt8(ascii: "."))
        appendPadded(Int(micros % 1000), width: 3)
    }

    /// Worst-case size of `appendJSONString` for `n` input bytes (every byte as `\u00XX`).
    static func jsonStringBound(_ n: Int) -> Int { n * 6 + 2 }

    /// `bytes` as a JSON string literal, quotes included. `"` and `\` are escaped, control bytes
    /// and DEL become escapes, and so does every byte ≥ 0x80: request bytes need not be UTF-8,
    /// and a log line must always be valid JSON (such bytes read as Latin-1).
    func appendJSONString(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + Self.jsonStringBound(bytes.count) <= capacity, "OutputBuffer overflow")
        let out = base.assumingMemoryBound(to: UInt8.self)
        var n = count
        out[n] = UInt8(ascii: "\"")
        n += 1
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out[n] = UInt8(ascii: "\\")
                out[n + 1] = b
                n += 2
            case 0x20..<0x7F:
                out[n] = b
                n += 1
            case UInt8(ascii: "\n"):
                out[n] = UInt8(ascii: "\\")
                out[n + 1] = UInt8(ascii: "n")
                n += 2
            default:
                let hex: StaticString = "0123456789abcdef"
                out[n] = UInt8(ascii: "\\")
                out[n + 1] = UInt8(ascii: "u")
                out[n + 2] = UInt8(ascii: "0")
                out[n + 3] = UInt8(ascii: "0")
                out[n + 4] = hex.utf8Start[Int(b >> 4)]
                out[n + 5] = hex.utf8Start[Int(b & 0xF)]
                n += 6
            }
        }
        out[n] = UInt8(ascii: "\"")
        count = n + 1
    }

    /// Removes the closing quote that `appendJSONString` just wrote, to continue the string.
    func reopenString() {
        precondition(count > 0 && base.load(fromByteOffset: count - 1, as: UInt8.self) == UInt8(ascii: "\""))
        count -= 1
    }
}

@available(*, unavailable)
extension OutputBuffer: Sendable {}
