#!/usr/bin/env bash
# Builds the libFuzzer harnesses outside SwiftPM, so that `swift build` / `swift test` never see
# fuzzer flags or a second entry point.
#
#   Fuzz/build.sh [TARGET...]      default: all of Fuzz/Harnesses/*.swift
#
# Output: .build-fuzz/fuzz-<target> (".build-*/" is git-ignored). Environment:
#   FUZZ_OPT        optimisation for our code (default -O; -Onone keeps assert())
#   FUZZ_SANITIZE   sanitizers besides fuzzer (default address; "" for coverage only)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/.build-fuzz"
opt=${FUZZ_OPT:--O}
san=${FUZZ_SANITIZE-address}
swift_san="fuzzer${san:+,$san}"
mkdir -p "$out"

# Rebuild the libraries only when an input is newer than the output.
newer() { # output inputs...
    local o=$1; shift
    [ ! -e "$o" ] && return 0
    [ -n "$(find "$@" -newer "$o" -print -quit 2>/dev/null)" ]
}

# 1. M2MProxy with -enable-testing, so harnesses can `@testable import` its internal types. The
#    upcoming features match Package.swift; CLibUV/CLLHTTP/COpenSSL/CHiredis/CNGHTTP2 are found
#    through their module maps.
common_i=(-I "$out" -I "$root/Sources/CLibUV" -I "$root/Sources/CLLHTTP" -I "$root/Sources/COpenSSL"
    -I "$root/Sources/CHiredis" -I "$root/Sources/CNGHTTP2")
if newer "$out/libM2MProxy.a" "$root/Sources/M2MProxy" "$0"; then
    echo "fuzz: swiftc M2MProxy"
    find "$root/Sources/M2MProxy" -name '*.swift' -print0 | xargs -0 swiftc \
        -module-name M2MProxy -parse-as-library -wmo "$opt" -g -enable-testing -sanitize="$swift_san" \
        -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
        "${common_i[@]}" \
        -emit-module -emit-module-path "$out/M2MProxy.swiftmodule" \
        -emit-library -static -o "$out/libM2MProxy.a"
fi

# 2. One executable per harness. libFuzzer supplies main(); the harness only exports
#    LLVMFuzzerTestOneInput (-parse-as-library: no Swift top-level code, no @main).
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for h in "$root"/Fuzz/Harnesses/*.swift; do targets+=("$(basename "$h" .swift)"); done
fi
for t in "${targets[@]}"; do
    h="$root/Fuzz/Harnesses/$t.swift"
    [ -f "$h" ] || { echo "fuzz: no harness $h" >&2; exit 1; }
    exe="$out/fuzz-$t"
    if newer "$exe" "$h" "$out/libM2MProxy.a" "$0"; then
        echo "fuzz: link fuzz-$t"
        swiftc -module-name "fuzz_$t" -parse-as-library "$opt" -g -sanitize="$swift_san" \
            "${common_i[@]}" "$h" \
            "$out/libM2MProxy.a" \
            -use-ld=lld -luv -lllhttp -lssl -lcrypto -lhiredis -lnghttp2 -o "$exe"
    fi
done
