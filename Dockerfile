# syntax=docker/dockerfile:1
# m2m-proxy image: build with the Swift toolchain, run on debian:bookworm-slim as a non-root user.
# System packages come from scripts/install-deps.sh in both stages (group build, then runtime).
#   docker build -t m2m-proxy .
#   docker run --rm -v "$PWD/proxy.conf:/etc/m2m-proxy/proxy.conf:ro" -p 127.0.0.1:8080:8080 m2m-proxy
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
# Dependencies first (a cached layer unless Package.swift changes); Package.resolved is not
# committed, so it is copied only when present in the build context.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources Sources
COPY Tests Tests
# --static-swift-stdlib: the runtime stage has no Swift toolchain; the binary then needs only
# libc, libstdc++, libuv and libllhttp (installed there by the runtime group).
RUN swift build -c release --static-swift-stdlib --product m2m-proxy \
 && install -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/m2m-proxy" /usr/local/bin/m2m-proxy

FROM debian:bookworm-slim AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin m2m \
 && mkdir -p /etc/m2m-proxy
COPY --from=build /usr/local/bin/m2m-proxy /usr/local/bin/m2m-proxy
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["m2m-proxy"]
CMD ["--config", "/etc/m2m-proxy/proxy.conf"]
