# syntax=docker/dockerfile:1
# m2m-proxy image: build with the Swift 6.3 toolchain, run on debian:bookworm-slim as a non-root
# user. System packages come from scripts/install-deps.sh in both stages, the same script CI
# uses: group `build` in the build stage, group `runtime` in the runtime stage (exactly libuv1,
# libllhttp9.2, libssl3, libhiredis0.14, libnghttp2-14, ca-certificates;
# `scripts/install-deps.sh --list runtime` prints them).
#
#   docker build -t m2m-proxy .
#   docker run --rm -p 127.0.0.1:8080:8080 \
#     -v "$PWD/proxy.conf:/etc/m2m-proxy/proxy.conf:ro" \
#     -v "$PWD/app-secret.txt:/run/secrets/logto_app_secret:ro" m2m-proxy
#
# Config:  /etc/m2m-proxy/proxy.conf (mount it; `m2m-proxy check --config ...` validates it).
# Secrets: /run/secrets/<name>, as compose `secrets:` / swarm / Kubernetes mounts provide them;
#          point client_secret_file at them. They must be readable by uid 10001.
# Health:  HEALTHCHECK runs m2m-proxy-healthcheck (bash /dev/tcp, no curl in this image):
#          GET /healthz on server.admin_listen, 127.0.0.1:9901 by default; set
#          M2M_HEALTHCHECK_ADDR when admin_listen differs. With admin_listen = "" the container
#          reports unhealthy: keep the admin listener on (on loopback) when you use this image.
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
# Dependencies first (a cached layer unless Package.swift changes); Package.resolved is not
# committed, so it is copied only when present in the build context.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources Sources
# Package.swift declares the test targets, so their directories must exist to load the package.
COPY Tests Tests
# --static-swift-stdlib: the runtime stage has no Swift toolchain. The binary then needs only
# libc6, libstdc++6, libgcc-s1 (already in debian:bookworm-slim), libuv1, libllhttp9.2, libssl3
# and libhiredis0.14.
RUN swift build -c release --static-swift-stdlib --product m2m-proxy \
 && install -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/m2m-proxy" /usr/local/bin/m2m-proxy

FROM ${RUNTIME_IMAGE} AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin m2m \
 && mkdir -p /etc/m2m-proxy
COPY --from=build /usr/local/bin/m2m-proxy /usr/local/bin/m2m-proxy
COPY deploy/docker/healthcheck.sh /usr/local/bin/m2m-proxy-healthcheck
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/m2m-proxy-healthcheck"]
ENTRYPOINT ["m2m-proxy"]
CMD ["--config", "/etc/m2m-proxy/proxy.conf"]
