/// The worker is what the phases run on (`ProxyEnvironment`): its settings, route table and
/// clock. Everything else of the loop stays out of their reach.
extension Worker: ProxyEnvironment {
    @inline(__always) var slash: ByteSpan { statics.slash.span }
}
