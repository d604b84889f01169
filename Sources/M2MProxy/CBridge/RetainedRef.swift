/// A strong reference kept by hand (+1 on `init`, -1 on `release`), so that reading the object
/// costs no retain/release pair: a struct holding these can sit in a raw buffer and be read on
/// the data path without ARC (the token views of the worker loops). Copyable on purpose, unlike `OwnedRef`: the holder
/// calls `release()` exactly once, when it is disposed of.
struct RetainedRef<Object: AnyObject> {
    private let ref: Unmanaged<Object>

    init(_ object: Object) { ref = .passRetained(object) }

    /// Calls `body` with the object borrowed (alive: this reference holds it).
    @inline(__always)
    func with<Result>(_ body: (Object) -> Result) -> Result { ref._withUnsafeGuaranteedRef(body) }

    func release() { ref.release() }
}
