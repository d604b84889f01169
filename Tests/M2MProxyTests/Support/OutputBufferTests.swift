import Testing
@testable import M2MProxy

@Suite struct OutputBufferTests {
    private func text(_ b: OutputBuffer) -> String { String(decoding: b.bytes, as: UTF8.self) }

    @Test func numbers() {
        let b = OutputBuffer(capacity: 128)
        b.appendDecimal(0)
        b.append(" ")
        b.appendDecimal(UInt64.max)
        b.append(" ")
        b.appendMilliseconds(nanos: 1_234_567)
        b.append(" ")
        b.appendMilliseconds(nanos: 999)
        b.append(" ")
        b.appendPadded(7, width: 3)
        #expect(text(b) == "0 18446744073709551615 1.234 0.000 007")
    }
}
