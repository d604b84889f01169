/// Renders a `MetricsSnapshot` in the Prometheus text exposition format 0.0.4
/// (`text/plain; version=0.0.4`): HELP and TYPE for every family, then its samples.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every metric the proxy exports, declared once (Envoy's `ALL_*_STATS` habit, STYLE.md §9).
    enum Family: CaseIterable {
        case requests, requestDuration, upstreamErrors, tokenRequests, tokenCacheWaits, tokenExpiry
        case tokenFetchDuration, openConnections, activeRequests, workerRequests, bufferPoolBytes, upstreamTLSHandshakes
        case endpointUp, endpointRequests, endpointEjections
        case tokenStoreOperations, tokenStoreErrors

        var name: String {
            switch self {
            case .requests: "m2m_requests_total"
            case .requestDuration: "m2m_request_duration_seconds"
            case .upstreamErrors: "m2m_upstream_errors_total"
            case .tokenRequests: "m2m_token_requests_total"
            case .tokenCacheWaits: "m2m_token_cache_waits_total"
            case .tokenExpiry: "m2m_token_expiry_seconds"
            case .tokenFetchDuration: "m2m_token_fetch_duration_seconds"
            case .openConnections: "m2m_open_connections"
            case .activeRequests: "m2m_active_requests"
            case .workerRequests: "m2m_worker_requests_total"
            case .bufferPoolBytes: "m2m_buffer_pool_bytes"
            case .upstreamTLSHandshakes: "m2m_upstream_tls_handshakes_total"
            case .endpointUp: "m2m_upstream_endpoint_up"
            case .endpointRequests: "m2m_upstream_endpoint_requests_total"
            case .endpointEjections: "m2m_upstream_ejections_total"
            case .tokenStoreOperations: "m2m_token_store_operations_total"
            case .tokenStoreErrors: "m2m_token_store_errors_total"
            }
        }

        var type: String {
            switch self {
            case .requests, .upstreamErrors, .tokenRequests, .tokenCacheWaits, .workerRequests, .upstreamTLSHandshakes,
                 .endpointRequests, .endpointEjections, .tokenStoreOperations, .tokenStoreErrors: "counter"
            case .requestDuration, .tokenFetchDuration: "histogram"
            case .tokenExpiry, .openConnections, .activeRequests, .bufferPoolBytes, .endpointUp: "gauge"
            }
        }

        var help: String {
            switch self {
            case .requests: "Requests answered, by route (\"none\" = no route matched), status code (499 = ended before a response was sent) and protocol (http/1.1, h2)."
            case .requestDuration: "Time from a request's first byte to the end of its response, by route."
            case .upstreamErrors: "Requests that failed because of the upstream, by route and kind."
            case .tokenRequests: "Token endpoint requests, by credential, resource and outcome."
            case .tokenCacheWaits: "Requests that had to wait for a token."
            case .tokenExpiry: "Seconds until the held token expires (0 = none held), by credential and resource."
            case .tokenFetchDuration: "Token endpoint request latency, by credential and resource."
            case .openConnections: "Open client connections."
            case .activeRequests: "Requests in progress."
            case .workerRequests: "Requests answered, by worker loop (how SO_REUSEPORT spread the connections)."
            case .bufferPoolBytes: "Bytes of free buffers kept for reuse by the worker loops (released when unused for a few seconds)."
            case .upstreamTLSHandshakes: "Completed TLS handshakes of new upstream connections, by upstream and whether a session was resumed."
            case .endpointUp: "1 while an upstream endpoint takes requests, 0 while it is ejected, by route and endpoint (ip:port)."
            case .endpointRequests: "Requests sent to an upstream endpoint (each failover attempt counts), by route and endpoint."
            case .endpointEjections: "Ejections of an upstream endpoint after max_fails consecutive connection failures, by route and endpoint."
            case .tokenStoreOperations: "Token store ([token_store]) operations, by operation and outcome."
            case .tokenStoreErrors: "Token store operations that failed or timed out (the replica then fetched on its own)."
            }
        }
    }

    static func render(_ s: MetricsSnapshot) -> String {
        var out = ""
        for family in Family.allCases {
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            let n = family.name
            switch family {
            case .requests:
                for r in s.requests {
                    out += "\(n){route=\"\(escapeLabel(r.route))\",code=\"\(r.code)\",protocol=\"\(r.protocolLabel)\"} \(r.count)\n"
                }
            case .requestDuration:
                for d in s.durations {
                    histogram(d.histogram, name: n, labels: "route=\"\(escapeLabel(d.route))\"", into: &out)
                }
            case .upstreamErrors:
                for e in s.upstreamErrors {
                    out += "\(n){route=\"\(escapeLabel(e.route))\",kind=\"\(escapeLabel(e.kind))\"} \(e.count)\n"
                }
            case .tokenRequests:
                for t in s.tokens {
                    for outcome in t.outcomes.keys.sorted() {
                        out += "\(n){\(tokenLabels(t)),outcome=\"\(escapeLabel(outcome))\"} \(t.outcomes[outcome]!)\n"
                    }
                }
            case .tokenCacheWaits:
                out += "\(n) \(s.tokenCacheWaits)\n"
            case .tokenExpiry:
                for t in s.tokens {
                    out += "\(n){\(tokenLabels(t))} \(t.expirySeconds ?? 0)\n"
                }
            case .tokenFetchDuration:
                for t in s.tokens {
                    histogram(t.fetchDurations, name: n, labels: tokenLabels(t), into: &out)
                }
            case .openConnections:
                out += "\(n) \(s.openConnections)\n"
            case .activeRequests:
                out += "\(n) \(s.activeRequests)\n"
            case .workerRequests:
                for (worker, count) in s.workerRequests.enumerated() {
                    out += "\(n){worker=\"\(worker)\"} \(count)\n"
                }
            case .bufferPoolBytes:
                out += "\(n) \(s.bufferPoolBytes)\n"
            case .upstreamTLSHandshakes:
                for h in s.tlsHandshakes {
                    let upstream = escapeLabel(h.upstream)
                    out += "\(n){upstream=\"\(upstream)\",resumed=\"false\"} \(h.full)\n"
                    out += "\(n){upstream=\"\(upstream)\",resumed=\"true\"} \(h.resumed)\n"
                }
            case .endpointUp, .endpointRequests, .endpointEjections:
                for e in s.endpoints {
                    let value: UInt64 = family == .endpointUp ? (e.ejectedForMs > 0 ? 0 : 1)
                        : family == .endpointRequests ? e.requests : e.ejections
                    out += "\(n){route=\"\(escapeLabel(e.route))\",endpoint=\"\(escapeLabel(e.endpoint))\"} \(value)\n"
                }
            case .tokenStoreOperations:
                for key in s.tokenStore.operations.keys.sorted() {
                    let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { continue }
                    out += "\(n){op=\"\(escapeLabel(parts[0]))\",outcome=\"\(escapeLabel(parts[1]))\"} \(s.tokenStore.operations[key]!)\n"
                }
            case .tokenStoreErrors:
                out += "\(n) \(s.tokenStore.errors)\n"
            }
        }
        return out
    }

    private static func tokenLabels(_ t: MetricsSnapshot.TokenGroup) -> String {
        "credential=\"\(escapeLabel(t.credential))\",resource=\"\(escapeLabel(t.resource))\""
    }

    private static func histogram(_ h: Histogram, name: String, labels: String, into out: inout String) {
        let cumulative = h.cumulative
        for (i, bound) in h.bounds.enumerated() {
            out += "\(name)_bucket{\(labels),le=\"\(formatNumber(bound))\"} \(cumulative[i])\n"
        }
        out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(h.count)\n"
        out += "\(name)_sum{\(labels)} \(formatNumber(h.sum))\n"
        out += "\(name)_count{\(labels)} \(h.count)\n"
    }

    /// Label values: backslash, double quote and line feed are escaped (text format 0.0.4).
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Integral values without a fraction ("1", not "1.0"); others as Swift prints them
    /// (shortest round-trip form, which Go's ParseFloat reads).
    static func formatNumber(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(.towardZero), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
