import CNGHTTP2
import Testing
@testable import M2MProxy

/// `H2FieldSyntax` takes exactly what nghttp2 1.52's HTTP messaging took (the checks it makes
/// in its place, with HTTP messaging off): every byte value at every position of short and
/// word-sized strings, against nghttp2's own exported checks.
@Suite struct H2FieldSyntaxTests {
    typealias Check = (UnsafeRawBufferPointer) -> Bool

    /// nghttp2's check for `bytes`.
    static func nghttp2(_ f: (UnsafePointer<UInt8>?, Int) -> Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { f($0.baseAddress, $0.count) } != 0
    }

    /// `ours` agrees with `theirs` on `base` with byte `b` at each position, for every `b`.
    /// `pseudoColon`: nghttp2's name check also takes a leading ':' (a pseudo-header's), which
    /// `H2RequestHead` matches by exact name instead (`isName` is for regular names only).
    static func agree(
        _ ours: Check, _ theirs: (UnsafePointer<UInt8>?, Int) -> Int32, base: [UInt8], _ what: String, pseudoColon: Bool = false
    ) {
        for at in 0..<base.count {
            for b in 0...255 {
                var bytes = base
                bytes[at] = UInt8(b)
                let mine = bytes.withUnsafeBytes { ours($0) }
                let colonFirst = pseudoColon && at == 0 && b == UInt8(ascii: ":") && base.count > 1
                #expect(mine == (nghttp2(theirs, bytes) && !colonFirst), "\(what): byte \(b) at \(at) of \(base.count)")
            }
        }
    }

    static let lengths = [1, 2, 3, 7, 8, 9, 15, 16, 17, 23]

    @Test func namesAreNghttp2s() {
        for n in Self.lengths {
            Self.agree(H2FieldSyntax.isName, nghttp2_check_header_name, base: Array(repeating: UInt8(ascii: "a"), count: n), "name", pseudoColon: true)
        }
        #expect(!H2FieldSyntax.isName(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    /// nghttp2 checks values with RFC 9113's ends rule (`nghttp2_check_header_value_rfc9113`).
    @Test func valuesAreNghttp2s() {
        for n in Self.lengths {
            Self.agree(H2FieldSyntax.isValue, nghttp2_check_header_value_rfc9113, base: Array(repeating: UInt8(ascii: "v"), count: n), "value")
            // Inner SP and HTAB are allowed: a word holding an HTAB is looked at byte by byte.
            if n >= 3 {
                var tabbed = Array(repeating: UInt8(ascii: "v"), count: n)
                tabbed[n / 2] = 9
                Self.agree(H2FieldSyntax.isValue, nghttp2_check_header_value_rfc9113, base: tabbed, "tabbed value")
            }
        }
        #expect(H2FieldSyntax.isValue(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    @Test func methodsPathsAndAuthoritiesAreNghttp2s() {
        for n in Self.lengths {
            Self.agree(H2FieldSyntax.isMethod, nghttp2_check_method, base: Array(repeating: UInt8(ascii: "G"), count: n), "method")
            Self.agree(H2FieldSyntax.isPath, nghttp2_check_path, base: Array(repeating: UInt8(ascii: "/"), count: n), "path")
            Self.agree(H2FieldSyntax.isAuthority, nghttp2_check_authority, base: Array(repeating: UInt8(ascii: "h"), count: n), "authority")
        }
        #expect(!H2FieldSyntax.isMethod(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    /// nghttp2 does not export its scheme check (`check_scheme` in nghttp2_http.c): RFC 3986
    /// §3.1 written out here.
    @Test func schemesAreRFC3986s() {
        func rfc(_ s: [UInt8]) -> Bool {
            guard let f = s.first, (f | 0x20) >= 0x61 && (f | 0x20) <= 0x7a else { return false }
            return s.allSatisfy { b in
                (b | 0x20 >= 0x61 && b | 0x20 <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2b || b == 0x2d || b == 0x2e
            }
        }
        for n in [1, 2, 5, 9] {
            for at in 0..<n {
                for b in 0...255 {
                    var s = Array("https0000".utf8.prefix(n))
                    s[at] = UInt8(b)
                    #expect(s.withUnsafeBytes { H2FieldSyntax.isScheme($0) } == rfc(s), "byte \(b) at \(at) of \(n)")
                }
            }
        }
        #expect(!H2FieldSyntax.isScheme(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    /// CR, LF and NUL never pass anywhere: what would split a line of the HTTP/1.1 head.
    @Test func lineBreaksNeverPass() {
        let checks: [Check] = [H2FieldSyntax.isName, H2FieldSyntax.isValue, H2FieldSyntax.isMethod, H2FieldSyntax.isPath,
                               H2FieldSyntax.isAuthority, H2FieldSyntax.isScheme]
        for check in checks {
            for bad in ["a\rb", "a\nb", "a\u{0}b", "abcdefgh\r\nx-injected: 1"] {
                #expect(!Array(bad.utf8).withUnsafeBytes { check($0) }, "\(bad.debugDescription)")
            }
        }
    }
}
