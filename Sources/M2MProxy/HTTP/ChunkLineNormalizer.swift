/// Chunk extensions with optional whitespace (RFC 9112 §7.1.1: `chunk-ext = *( BWS ";" BWS
/// chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`, e.g. `5 ; q=a`), which llhttp refuses.
///
/// llhttp's `llhttp_set_lenient_spaces_after_chunk_size` is not enough (checked against 9.2.1):
/// it takes whitespace only between the size and `;`, still refuses `5 ; q=a` and `5;q = a`,
/// and also takes a bare `5 \r\n`, which the RFC does not allow. So the lenient flags stay off
/// (STYLE.md §3) and this scanner runs first over a chunked request body: it deletes, in place,
/// the whitespace next to a `;` or `=` of a chunk line (outside quoted values). llhttp then
/// parses the cleaned bytes, and exactly those bytes are forwarded: the upstream gets the clean
/// line `5;q=a` and nothing it could read differently. Whitespace anywhere else in a chunk line
/// (`5 5`, `5 \r\n`, ` 5`) marks the body `failed` (400), as before.
///
/// It tracks the chunked framing (size lines, data, trailers) only to know which bytes are chunk
/// lines; llhttp stays the judge of validity. Where the two could disagree the stream is
/// invalid anyway: this stops (`done`) and llhttp refuses what follows.
struct ChunkLineNormalizer {
    private enum State {
        case line, lineLF, data, dataCR, dataLF, trailerStart, trailer, trailerLF, finalLF, done
    }

    private var state = State.line
    /// Data bytes left in the current chunk (its size, parsed from the line).
    private var remaining: UInt64 = 0
    private var inSize = true
    private var sizeDigits = 0
    private var inQuotes = false
    private var escaped = false
    /// The last byte kept in the current line, and whether whitespace was dropped after it.
    private var last: UInt8 = 0
    private var pendingSpace = false
    /// Whitespace where the RFC allows none: the body must be refused.
    private(set) var failed = false

    var isDone: Bool { state == .done }

    mutating func reset() { self = ChunkLineNormalizer() }

    /// Cleans `count` bytes at `base` in place; returns how many remain (bytes after the end of
    /// the chunked body move up with the rest and are never changed).
    mutating func normalize(_ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var r = 0
        var w = 0
        @inline(__always) func keep(_ c: UInt8) {
            if w != r { base.storeBytes(of: c, toByteOffset: w, as: UInt8.self) }
            w += 1
        }
        while r < count && state != .done && !failed {
            if state == .data {
                let n = Int(min(remaining, UInt64(count - r)))
                if w != r { (base + w).copyMemory(from: base + r, byteCount: n) }
                w += n
                r += n
                remaining -= UInt64(n)
                if remaining == 0 { state = .dataCR }
                continue
            }
            let c = base.load(fromByteOffset: r, as: UInt8.self)
            switch state {
            case .line:
                if !lineByte(c) { r += 1; continue }
            case .lineLF:
                state = c == 0x0A ? (remaining == 0 ? .trailerStart : .data) : .done
            case .dataCR:
                state = c == 0x0D ? .dataLF : .done
            case .dataLF:
                if c == 0x0A { startLine() } else { state = .done }
            case .trailerStart:
                state = c == 0x0D ? .finalLF : .trailer
            case .trailer:
                if c == 0x0D { state = .trailerLF }
            case .trailerLF:
                state = c == 0x0A ? .trailerStart : .done
            case .finalLF:
                state = .done
            case .data, .done:
                break
            }
            keep(c)
            r += 1
        }
        if w != r && r < count {
            (base + w).copyMemory(from: base + r, byteCount: count - r)
        }
        return w + (count - r)
    }

    private mutating func startLine() {
        state = .line
        remaining = 0
        inSize = true
        sizeDigits = 0
        inQuotes = false
        escaped = false
        last = 0
        pendingSpace = false
    }

    /// One byte of a chunk line: false when it is dropped (whitespace next to `;` or `=`).
    private mutating func lineByte(_ c: UInt8) -> Bool {
        if inQuotes {
            if escaped {
                escaped = false
            } else if c == UInt8(ascii: "\\") {
                escaped = true
            } else if c == UInt8(ascii: "\"") {
                inQuotes = false
            }
            last = c
            return true
        }
        if c == 0x20 || c == 0x09 {
            inSize = false
            pendingSpace = true
            return false
        }
        let separator = c == UInt8(ascii: ";") || c == UInt8(ascii: "=")
        if pendingSpace && !separator && last != UInt8(ascii: ";") && last != UInt8(ascii: "=") {
            // `5 5`, ` 5`, `5 \r\n`, `a b`: not BWS around a separator.
            failed = true
            return true
        }
        pendingSpace = false
        if c == 0x0D {
            state = .lineLF
        } else if c == UInt8(ascii: "\"") {
            inQuotes = true
        } else if inSize {
            if let v = Self.hexValue(c), sizeDigits < 16 {
                remaining = remaining << 4 | UInt64(v)
                sizeDigits += 1
            } else {
                inSize = false
            }
        }
        last = c
        return true
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
