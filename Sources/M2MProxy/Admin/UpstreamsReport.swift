private import Glibc

/// `GET /upstreams` (DESIGN.md §6) and the endpoint metrics: every route's endpoints with the
/// loops' views summed. Connections and counters add up; an endpoint is shown ejected when any
/// loop has it ejected (ejections travel to every loop through the control loop), until the
/// latest of their deadlines.
enum UpstreamsReport {
    /// Merges the loops' parts by (route, endpoint), in the order worker 0 lists them.
    static func merge(_ parts: [[EndpointStats]]) -> [EndpointStats] {
        var out: [EndpointStats] = []
        var index: [String: Int] = [:]
        for part in parts {
            for e in part {
                let key = e.route + "\u{0}" + e.endpoint
                guard let i = index[key] else {
                    index[key] = out.count
                    out.append(e)
                    continue
                }
                out[i].resolved = out[i].resolved || e.resolved
                out[i].ejectedForMs = max(out[i].ejectedForMs, e.ejectedForMs)
                out[i].open += e.open
                out[i].idle += e.idle
                out[i].inFlight += e.inFlight
                out[i].requests &+= e.requests
                out[i].failures &+= e.failures
                out[i].ejections &+= e.ejections
                out[i].handoffs &+= e.handoffs
            }
        }
        return out
    }

    /// One object per route (file order) with its balance policy and endpoints.
    /// `nowUnixMs`: wall-clock now, for the `ejected_until` timestamps.
    static func json(_ endpoints: [EndpointStats], routes: [RouteConfig], nowUnixMs: Int) -> JSONValue {
        .array(routes.map { r in
            .object([
                "route": .string(r.name),
                "balance": .string(r.balance.rawValue),
                "endpoints": .array(endpoints.filter { $0.route == r.name }.map { e in
                    let ejected = e.ejectedForMs > 0
                    return .object([
                        "address": .string(e.endpoint),
                        "resolved": .bool(e.resolved),
                        "state": .string(ejected ? "ejected" : "healthy"),
                        "ejected_until": ejected ? .string(isoTime(unixMs: nowUnixMs + e.ejectedForMs)) : .null,
                        "ejected_for_ms": .number(Double(e.ejectedForMs)),
                        "open_connections": .number(Double(e.open)),
                        "idle_connections": .number(Double(e.idle)),
                        "in_flight": .number(Double(e.inFlight)),
                        "requests": .number(Double(e.requests)),
                        "failures": .number(Double(e.failures)),
                        "ejections": .number(Double(e.ejections)),
                        "handoffs": .number(Double(e.handoffs)),
                    ])
                }),
            ])
        })
    }

    static func nowUnixMs() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
    }

    /// `2026-12-06T20:01:02.345Z`.
    static func isoTime(unixMs: Int) -> String {
        var t = tm()
        var secs = time_t(unixMs / 1000)
        gmtime_r(&secs, &t)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(unixMs % 1000), 3))Z"
    }
}
