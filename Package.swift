// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "m2m-proxy",
    products: [
        .executable(name: "m2m-proxy", targets: ["m2m-proxy"]),
    ],
    // No package dependencies: the TOML parser and the command line are the project's own, so
    // the binary links no Foundation (DESIGN.md's data path has none; neither does start-up).
    dependencies: [],
    targets: [
        // System libraries: module maps over Debian's libuv1-dev and libllhttp-dev
        // (the latter from trixie; see scripts/install-deps.sh). Nothing is vendored.
        .systemLibrary(name: "CLibUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CLLHTTP", providers: [.apt(["libllhttp-dev"])]),
        // OpenSSL 3 (Debian's libssl-dev) for TLS to upstreams, token endpoints and the optional
        // TLS listener. Macros are called through the functions they expand to: no C shim.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // hiredis 0.14 (Debian's libhiredis-dev) for RESP encoding and decoding only: the token
        // store's connections are the proxy's own libuv streams (and its TLS).
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a warning
        // on every build; the headers are found as <hiredis/hiredis.h> in /usr/include.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        // nghttp2 (Debian's libnghttp2-dev 1.52) for HTTP/2 on the client side (DESIGN.md §7).
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .target(
            name: "M2MProxy",
            dependencies: [
                "CLibUV", "CLLHTTP", "COpenSSL", "CHiredis", "CNGHTTP2",
            ],
            swiftSettings: [
                .enableUpcomingFeature("InternalImportsByDefault"),
                .enableUpcomingFeature("ExistentialAny"),
                // Dynamic exclusivity checks on class properties cost ~800 instructions per
                // proxied request in release builds (swift_beginAccess + its TLS access set,
                // measured with callgrind). Debug builds, which the tests run, keep them on.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "m2m-proxy",
            dependencies: ["M2MProxy"]
        ),
        .testTarget(name: "M2MProxyTests", dependencies: ["M2MProxy"]),
        .testTarget(name: "IntegrationTests", dependencies: []),
    ]
)
