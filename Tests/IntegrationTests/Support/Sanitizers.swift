import Foundation

/// Whether the proxy under test is a sanitizer build (`scripts/test.sh` sets these options for its
/// asan and tsan stages). ASan keeps freed memory in quarantine and TSan shadows every byte, so
/// resident-memory bounds meant for a normal build are scaled for them; behaviour is not.
enum Sanitizers {
    static let active: Bool = {
        let env = ProcessInfo.processInfo.environment
        return env["ASAN_OPTIONS"] != nil || env["TSAN_OPTIONS"] != nil
    }()

    /// A resident-memory bound: `bytes` normally, 4 × under a sanitizer.
    static func rssBound(_ bytes: Int) -> Int { active ? bytes * 4 : bytes }
}
