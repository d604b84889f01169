import CLibUV

/// A fixed-capacity list of `uv_buf_t` built on the stack for one writev: heads are written as
/// pieces (parts of the client's head by reference plus pre-formatted lines) without copying.
///
/// Flat mode (`init(storage:flat:flatCapacity:)`, for the heads the proxy writes): pieces are
/// copied straight into the flat buffer while they fit, and the list is then that one piece
/// (`seal`): small heads are written as one piece anyway (`UVStream.rawWrite`), and copying
/// each piece as it comes saves storing its iovec and gathering it again (callgrind). A piece
/// that does not fit turns the bytes so far into the first iovec and the rest stay pieces.
struct IOVecList {
    private(set) var count = 0
    let capacity: Int
    let bufs: UnsafeMutablePointer<uv_buf_t>
    private(set) var totalBytes = 0
    /// Flat mode's buffer while pieces still go into it (nil: pieces are iovecs).
    private var flat: UnsafeMutableRawPointer?
    private let flatCapacity: Int

    init(storage: UnsafeMutableBufferPointer<uv_buf_t>) {
        bufs = storage.baseAddress!
        capacity = storage.count
        flat = nil
        flatCapacity = 0
    }

    /// Flat mode: pieces are copied into `flat` (`flatCapacity` bytes) while they fit. The
    /// buffer must stay untouched until the list is written (the loop's `LoopIO.writeCoalesce`:
    /// nothing else writes while a head is built).
    init(storage: UnsafeMutableBufferPointer<uv_buf_t>, flat: UnsafeMutableRawPointer, flatCapacity: Int) {
        precondition(storage.count > 0, "a flat IOVecList needs room for its piece")
        bufs = storage.baseAddress!
        capacity = storage.count
        self.flat = flat
        self.flatCapacity = flatCapacity
    }

    /// Inlined: a head is some 15 appends, and the call cost more than the append.
    @inline(__always)
    mutating func append(_ base: UnsafeRawPointer, _ length: Int) {
        guard length > 0 else { return }
        // Wrapping arithmetic: byte counts of pieces in memory cannot overflow an Int (callgrind:
        // the overflow checks were two instructions per append, some 20 appends per request).
        if let f = flat {
            if length <= flatCapacity &- totalBytes {
                Self.copyPiece(to: f + totalBytes, from: base, count: length)
                totalBytes &+= length
                return
            }
            spill(f)
        }
        // Coalesce with the previous piece when contiguous: consecutive kept header lines of the
        // client's head become one iovec.
        if count > 0 {
            let last = bufs[count &- 1]
            if UnsafeRawPointer(last.base!) + last.len == base {
                bufs[count &- 1].len &+= length
                totalBytes &+= length
                return
            }
        }
        precondition(count < capacity, "IOVecList overflow")
        bufs[count] = uv_buf_t(base: UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: CChar.self), len: length)
        count &+= 1
        totalBytes &+= length
    }

    /// Flat mode ends: the bytes copied so far become the first piece.
    @inline(never)
    private mutating func spill(_ f: UnsafeMutableRawPointer) {
        flat = nil
        if totalBytes > 0 {
            bufs[0] = uv_buf_t(base: f.assumingMemoryBound(to: CChar.self), len: totalBytes)
            count = 1
        }
    }

    /// Ready to write (`UVStream.write` requires it): in flat mode, the bytes copied so far
    /// become the one piece. Appending after this adds pieces after them.
    @inline(__always)
    mutating func seal() {
        guard let f = flat else { return }
        flat = nil
        bufs[0] = uv_buf_t(base: f.assumingMemoryBound(to: CChar.self), len: totalBytes)
        count = totalBytes > 0 ? 1 : 0
    }

    /// Flat mode with bytes not yet made a piece (`seal`).
    var isSealed: Bool { flat == nil }

    @inline(__always)
    mutating func append(_ bytes: StaticBytes) { append(bytes.base, bytes.count) }

    /// Copies the pieces, in order, to `dst` (room for `totalBytes`): the small writes that go
    /// out as one piece (`UVStream.rawWrite`).
    func gather(into dst: UnsafeMutableRawPointer) -> Int {
        var out = dst
        var b = UnsafePointer(bufs)
        let end = b + count
        while b < end {
            let n = b.pointee.len
            Self.copyPiece(to: out, from: UnsafeRawPointer(b.pointee.base.unsafelyUnwrapped), count: n)
            out += n
            b += 1
        }
        return out - dst
    }

    /// Copies one piece (`n` > 0 bytes). Most pieces of a head are a few bytes (method, space,
    /// CRLF, prefixes): those are moved with one or two word loads and stores instead of a
    /// memcpy call each (callgrind: ~20 instructions per piece less).
    @inline(__always)
    static func copyPiece(to out: UnsafeMutableRawPointer, from src: UnsafeRawPointer, count n: Int) {
        if n >= 16 {
            // (Word copies up to 31 bytes measured the same as this call: callgrind.)
            out.copyMemory(from: src, byteCount: n)
        } else if n >= 8 {
            out.storeBytes(of: src.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (out + n - 8).storeBytes(of: (src + n - 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
        } else if n >= 4 {
            out.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
            (out + n - 4).storeBytes(of: (src + n - 4).loadUnaligned(as: UInt32.self), as: UInt32.self)
        } else {
            // 1 to 3 bytes (`append` keeps no empty piece)
            out.storeBytes(of: src.load(as: UInt8.self), as: UInt8.self)
            (out + n - 1).storeBytes(of: (src + n - 1).load(as: UInt8.self), as: UInt8.self)
            (out + n / 2).storeBytes(of: (src + n / 2).load(as: UInt8.self), as: UInt8.self)
        }
    }

    @inline(__always)
    mutating func append(_ span: ByteSpan) { append(span.base, span.count) }
}

/// A borrowed run of bytes (pointer + length) inside a buffer that outlives its use.
struct ByteSpan {
    var base: UnsafeRawPointer
    var count: Int

    static var empty: ByteSpan { ByteSpan(base: UnsafeRawPointer(bitPattern: 1)!, count: 0) }

    var end: UnsafeRawPointer { base + count }
    var isEmpty: Bool { count == 0 }
    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    subscript(i: Int) -> UInt8 { base.load(fromByteOffset: i, as: UInt8.self) }

    /// Case-insensitive comparison of a header name (an HTTP token, as llhttp validated it) with
    /// a lowercase literal, a word at a time. Setting bit 0x20 lowercases letters and leaves
    /// the other token characters that literals use (`-`, digits) unchanged; no token character
    /// becomes another one this way, so the comparison is exact for tokens. Inlined: with a
    /// literal of known length, most calls (header classification, `Transfer-Encoding` checks)
    /// end at the length comparison, and the rest are one to three word comparisons.
    ///
    /// The last word ends at the last byte and may overlap the one before it (a 10-byte name is
    /// the words at 0 and 2; a 6-byte one two 4-byte words at 0 and 2): a byte compared twice
    /// is compared the same way twice, so this is the byte-wise test without a byte loop
    /// (callgrind: a 14-byte name cost six byte steps after its first word).
    @inline(__always)
    func equalsLowercase(_ lower: StaticString) -> Bool {
        let n = count
        guard n == lower.utf8CodeUnitCount else { return false }
        let l = UnsafeRawPointer(lower.utf8Start)
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) | 0x2020_2020_2020_2020
                    != l.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            return base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) | 0x2020_2020_2020_2020
                == l.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return base.loadUnaligned(as: UInt32.self) | 0x2020_2020 == l.loadUnaligned(as: UInt32.self)
                && base.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) | 0x2020_2020
                == l.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        if n >= 2 {
            return base.loadUnaligned(as: UInt16.self) | 0x2020 == l.loadUnaligned(as: UInt16.self)
                && base.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self) | 0x2020
                == l.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)
        }
        return n == 0 || base.load(as: UInt8.self) | 0x20 == l.load(as: UInt8.self)
    }

    func equalsLowercase(_ lower: UnsafeRawBufferPointer) -> Bool {
        guard count == lower.count else { return false }
        for i in 0..<count where asciiLower(self[i]) != lower[i] { return false }
        return true
    }

    /// Whether `needle` (ASCII) occurs in these bytes.
    func contains(_ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard n > 0, count >= n else { return n == 0 }
        let p = needle.utf8Start
        var i = 0
        while i + n <= count {
            var j = 0
            while j < n && self[i + j] == p[j] { j += 1 }
            if j == n { return true }
            i += 1
        }
        return false
    }

    /// Index of the first `byte`, or `count` when there is none; eight bytes at a time (the
    /// request target is scanned per request). From 8 bytes on, the tail is the last word,
    /// overlapping bytes already found free of `byte`, so its lowest match is the first one
    /// (no byte loop: callgrind).
    func firstIndex(of byte: UInt8) -> Int {
        let pattern = 0x0101_0101_0101_0101 &* UInt64(byte)
        let n = count
        guard n >= 8 else {
            var i = 0
            while i < n, self[i] != byte { i += 1 }
            return i
        }
        var i = 0
        while true {
            let m = Self.zeroBytes(base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern)
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            if i == n - 8 { return n }
            i = min(i + 8, n - 8)
        }
    }

    /// Whether any byte is `a`, `b` or `c`: `containsEither` for three bytes (the request
    /// target's `?`, `.` and `%`, which most targets have none of: one scan instead of two).
    @inline(__always)
    func containsAny(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
        let pa = 0x0101_0101_0101_0101 &* UInt64(a)
        let pb = 0x0101_0101_0101_0101 &* UInt64(b)
        let pc = 0x0101_0101_0101_0101 &* UInt64(c)
        let n = count
        guard n >= 8 else {
            for i in 0..<n where self[i] == a || self[i] == b || self[i] == c { return true }
            return false
        }
        var i = 0
        while true {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if Self.zeroBytes(w ^ pa) | Self.zeroBytes(w ^ pb) | Self.zeroBytes(w ^ pc) != 0 { return true }
            if i == n &- 8 { return false }
            i = min(i &+ 8, n &- 8)
        }
    }

    /// Whether any byte is `a` or `b`, eight bytes at a time (from 8 bytes on, the last word
    /// overlaps the one before instead of a byte loop).
    func containsEither(_ a: UInt8, _ b: UInt8) -> Bool {
        let pa = 0x0101_0101_0101_0101 &* UInt64(a)
        let pb = 0x0101_0101_0101_0101 &* UInt64(b)
        let n = count
        guard n >= 8 else {
            for i in 0..<n where self[i] == a || self[i] == b { return true }
            return false
        }
        var i = 0
        while true {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if Self.zeroBytes(w ^ pa) | Self.zeroBytes(w ^ pb) != 0 { return true }
            if i == n - 8 { return false }
            i = min(i + 8, n - 8)
        }
    }

    /// Bit 7 of each byte that is zero in `v`, exactly up to the lowest zero byte (a borrow can
    /// flag a 0x01 byte above a zero one, never a byte below it): nonzero iff `v` has a zero
    /// byte, and its lowest set bit marks the first one.
    @inline(__always)
    private static func zeroBytes(_ v: UInt64) -> UInt64 {
        (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080
    }

    func slice(from: Int, to: Int) -> ByteSpan { ByteSpan(base: base + from, count: to - from) }

    /// Removes leading and trailing spaces and tabs.
    func trimmed() -> ByteSpan {
        var s = 0, e = count
        while s < e, self[s] == 0x20 || self[s] == 0x09 { s += 1 }
        while e > s, self[e - 1] == 0x20 || self[e - 1] == 0x09 { e -= 1 }
        return slice(from: s, to: e)
    }

    /// Only for logs and error paths, never per request.
    func makeString() -> String { String(decoding: buffer, as: UTF8.self) }
}

@inline(__always)
func asciiLower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }
