#!/usr/bin/env bash
# Builds the libFuzzer harnesses outside SwiftPM, so that `swift build` / `swift test` never see
# fuzzer flags or a second entry point.
#
#   Fuzz/build.sh [TARGET...]      default: all of Fuzz/Harnesses/*.swift
#
# Output: .build-fuzz/fuzz-<target> (".build-*/" is git-ignored). Environment:
#   FUZZ_OPT        optimisation for our code and TOMLKit (default -O; -Onone keeps assert())
#   FUZZ_SANITIZE   sanitizers besides fuzzer (default address; "" for coverage only)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/.build-fuzz"
opt=${FUZZ_OPT:--O}
san=${FUZZ_SANITIZE-address}
swift_san="fuzzer${san:+,$san}"
c_san="fuzzer-no-link${san:+,$san}"
mkdir -p "$out/ctoml"

# TOMLKit comes from the normal SwiftPM checkout (same pinned version as the product).
toml=$(swift package show-dependencies --format json \
    | python3 -c 'import json,sys
def walk(d):
    for x in d.get("dependencies", []):
        if x["identity"].lower() == "tomlkit": print(x["path"]); sys.exit()
        walk(x)
walk(json.load(sys.stdin))')
[ -d "$toml/Sources/CTOML" ] || { echo "fuzz: TOMLKit checkout not found (run swift package resolve)" >&2; exit 1; }

# Rebuild the libraries only when an input is newer than the output.
newer() { # output inputs...
    local o=$1; shift
    [ ! -e "$o" ] && return 0
    [ -n "$(find "$@" -newer "$o" -print -quit 2>/dev/null)" ]
}

# 1. CTOML (toml++ behind a C API), instrumented: the config target explores its parser too.
ctoml_objs=()
for src in "$toml"/Sources/CTOML/Sources/*.cpp; do
    obj="$out/ctoml/$(basename "$src" .cpp | tr -c 'A-Za-z0-9_\n' '_').o"
    ctoml_objs+=("$obj")
    if newer "$obj" "$src" "$0"; then
        echo "fuzz: cc $(basename "$src")"
        clang++ -std=c++17 -O1 -g -fsanitize="$c_san" -DTOML_EXCEPTIONS=1 \
            -I "$toml/Sources/CTOML/include" -c "$src" -o "$obj"
    fi
done

# 2. TOMLKit (Swift).
ctoml_map="$toml/Sources/CTOML/include/CTOML/module.modulemap"
if newer "$out/libTOMLKit.a" "$toml/Sources/TOMLKit" "$0"; then
    echo "fuzz: swiftc TOMLKit"
    find "$toml/Sources/TOMLKit" -name '*.swift' -print0 | xargs -0 swiftc \
        -module-name TOMLKit -parse-as-library -wmo "$opt" -g -sanitize="$swift_san" \
        -Xcc -fmodule-map-file="$ctoml_map" -Xcc -I"$toml/Sources/CTOML/include" \
        -emit-module -emit-module-path "$out/TOMLKit.swiftmodule" \
        -emit-library -static -o "$out/libTOMLKit.a"
fi

# 3. M2MProxy with -enable-testing, so harnesses can `@testable import` its internal types. The
#    upcoming features match Package.swift; CLibUV/CLLHTTP/COpenSSL/CHiredis/CNGHTTP2 are found
#    through their module maps.
common_i=(-I "$out" -I "$root/Sources/CLibUV" -I "$root/Sources/CLLHTTP" -I "$root/Sources/COpenSSL"
    -I "$root/Sources/CHiredis" -I "$root/Sources/CNGHTTP2"
    -Xcc -fmodule-map-file="$ctoml_map" -Xcc -I"$toml/Sources/CTOML/include")
if newer "$out/libM2MProxy.a" "$root/Sources/M2MProxy" "$out/libTOMLKit.a" "$0"; then
    echo "fuzz: swiftc M2MProxy"
    find "$root/Sources/M2MProxy" -name '*.swift' -print0 | xargs -0 swiftc \
        -module-name M2MProxy -parse-as-library -wmo "$opt" -g -enable-testing -sanitize="$swift_san" \
        -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
        "${common_i[@]}" \
        -emit-module -emit-module-path "$out/M2MProxy.swiftmodule" \
        -emit-library -static -o "$out/libM2MProxy.a"
fi

# 4. One executable per harness. libFuzzer supplies main(); the harness only exports
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
            "$out/libM2MProxy.a" "$out/libTOMLKit.a" "${ctoml_objs[@]}" \
            -use-ld=lld -luv -lllhttp -lssl -lcrypto -lhiredis -lnghttp2 -lstdc++ -o "$exe"
    fi
done
