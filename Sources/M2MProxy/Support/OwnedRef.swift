/// A strong reference kept as `Unmanaged`: retained when set, released when replaced or when its
/// owner goes. The data path borrows it through `unmanaged` (`_withUnsafeGuaranteedRef`) without
/// the retain/release pair that every use of a strong optional field costs; `object` is for the
/// rest. Noncopyable, so that exactly one owner releases it.
struct OwnedRef<Object: AnyObject>: ~Copyable {
    private(set) var unmanaged: Unmanaged<Object>?

    init() {}

    deinit { unmanaged?.release() }

    var object: Object? {
        get { unmanaged?.takeUnretainedValue() }
        set {
            let old = unmanaged
            unmanaged = newValue.map { Unmanaged.passRetained($0) }
            old?.release()
        }
    }

    /// Holds `retained`, a reference already retained for this owner (which now releases it),
    /// and releases the one held before: a reference handed over without a retain/release pair.
    mutating func adopt(_ retained: Unmanaged<Object>) {
        let old = unmanaged
        unmanaged = retained
        old?.release()
    }

    /// Gives up the reference without releasing it: the caller now owns that retain (hands it
    /// on with `takeRetainedValue`, or releases it).
    @inline(__always)
    mutating func take() -> Unmanaged<Object>? {
        let held = unmanaged
        unmanaged = nil
        return held
    }

    /// Whether `o` is the object held (an identity check without ARC).
    @inline(__always)
    func holds(_ o: Object) -> Bool {
        unmanaged?.toOpaque() == Unmanaged.passUnretained(o).toOpaque()
    }
}
