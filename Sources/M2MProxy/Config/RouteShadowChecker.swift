/// Finds routes that can never match because an earlier route takes all of their requests
/// (routes are tried in file order, first match wins), for `m2m-proxy check` warnings.
///
/// Route `b` is shadowed by an earlier route `a` when `a`'s host pattern covers `b`'s, `a`'s path
/// prefix is a segment prefix of `b`'s, and `a` accepts every method `b` does. Only the first
/// shadowing route is reported.
enum RouteShadowChecker {
    static func warnings(for routes: [RouteConfig]) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        for (laterIndex, later) in routes.enumerated() {
            guard let earlierIndex = routes[..<laterIndex].firstIndex(where: { shadows($0, later) }) else { continue }
            problems.append(
                ConfigProblem(
                    keyPath: RouteKeyPath.of(index: laterIndex, route: later),
                    message: "never matches: shadowed by route[\(earlierIndex)] (\"\(routes[earlierIndex].name)\")"))
        }
        return problems
    }

    /// Whether every request `later` matches is matched by `earlier`.
    static func shadows(_ earlier: RouteConfig, _ later: RouteConfig) -> Bool {
        hostCovers(earlier.host, later.host)
            && pathCovers(earlier.pathPrefix, later.pathPrefix)
            && methodsCover(earlier.methods, later.methods)
    }

    static func hostCovers(_ earlier: HostMatch, _ later: HostMatch) -> Bool {
        switch (earlier, later) {
        case (.any, _):
            return true
        case (_, .any):
            return false
        case (.exact(let a), .exact(let b)):
            return a == b
        case (.exact, .suffix):
            return false
        case (.suffix(let a), .exact(let b)), (.suffix(let a), .suffix(let b)):
            // ".example.com" covers "x.example.com" and ".x.example.com", not "example.com".
            return b.hasSuffix(a)
        }
    }

    /// Segment-aware: "/api" covers "/api" and "/api/v1", not "/apiv1".
    static func pathCovers(_ earlier: String, _ later: String) -> Bool {
        earlier == "/" || earlier == later || later.hasPrefix(earlier + "/")
    }

    static func methodsCover(_ earlier: [String]?, _ later: [String]?) -> Bool {
        guard let earlier else { return true }
        guard let later else { return false }
        return Set(later).isSubset(of: Set(earlier))
    }
}
