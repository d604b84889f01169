import Testing
@testable import M2MProxy

/// `OwnedRef`: one strong reference, set with a retain or adopted already retained.
@Suite struct OwnedRefTests {
    final class Thing {}

    /// An adopted reference (retained once for the owner, as `UpstreamPool.takeIdle` hands one
    /// over) keeps the object alive with no other reference, and exactly one release ends it.
    @Test func adoptedReferenceIsOwnedAndReleasedOnce() {
        var ref = OwnedRef<Thing>()
        weak var weakThing: Thing?
        do {
            let t = Thing()
            weakThing = t
            ref.adopt(Unmanaged.passRetained(t))
        }
        #expect(weakThing != nil)
        // (`#expect` cannot capture the noncopyable `ref`.)
        let held = ref.holds(weakThing!)
        #expect(held)
        ref.object = nil
        #expect(weakThing == nil)
    }

    /// Adopting over a held reference releases the old one.
    @Test func adoptReleasesThePreviousReference() {
        var ref = OwnedRef<Thing>()
        weak var first: Thing?
        weak var second: Thing?
        do {
            let a = Thing(), b = Thing()
            first = a
            second = b
            ref.object = a
            ref.adopt(Unmanaged.passRetained(b))
        }
        #expect(first == nil)
        #expect(second != nil)
        ref.object = nil
        #expect(second == nil)
    }
}
