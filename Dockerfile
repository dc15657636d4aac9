# syntax=docker/dockerfile:1
#
# Vitrina: release image.
#   docker build -t vitrina .
#   docker run --rm -p 3000:3000 -v vitrina-data:/data vitrina            # embedded store
#   docker run --rm vitrina seed --products 2000                           # any CLI subcommand
#   docker run ... -e MONGODB_URI=... -e REDIS_URL=... vitrina             # external services

############################ builder ############################
FROM rust:1-bookworm AS builder

# Node + npm only for the root devDependencies (binaryen@132 for wasm-opt:
# Debian's binaryen v108 emits WASM that fails to hydrate).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

RUN rustup target add wasm32-unknown-unknown

# Build tools, pinned. wasm-bindgen-cli must match the `wasm-bindgen = "=0.2.130"`
# pin in Cargo.toml exactly; no --locked for it (its lock names a crate version
# the registry no longer serves). Pass --build-arg CARGO_LEPTOS_FLAGS=--debug for
# a much faster (about 4x) install of cargo-leptos that builds the same output.
ARG CARGO_LEPTOS_FLAGS=""
RUN cargo install cargo-leptos --version 0.3.10 --locked ${CARGO_LEPTOS_FLAGS} \
 && cargo install wasm-bindgen-cli --version 0.2.130 \
 && rm -rf /usr/local/cargo/registry /usr/local/cargo/git

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && node_modules/.bin/wasm-opt --version

COPY . .

# The registry cache survives between builds; the target dir stays in the layer
# so the artifacts can be copied out below.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo leptos build --release --precompress \
 && LEPTOS_SITE_ROOT=target/site-admin LEPTOS_HASH_FILE_NAME=hash-admin.txt \
    cargo leptos build --release --precompress --frontend-only --lib-features admin-client \
 && for f in target/site-admin/pkg/vitrina.*; do cp "$f" "target/site/pkg/vitrina-admin.${f##*/vitrina.}"; done \
 && test -x target/release/vitrina \
 && test -d target/site/pkg

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vitrina \
 && useradd --system --uid 10001 --gid vitrina --home-dir /app --no-create-home --shell /usr/sbin/nologin vitrina \
 && mkdir -p /data \
 && chown vitrina:vitrina /data

WORKDIR /app
COPY --from=builder /app/target/release/vitrina /app/vitrina
# the content hashes of the JS, WASM and CSS names (the shop's and the panel's clients), read next to the binary
COPY --from=builder /app/target/release/hash.txt /app/target/release/hash-admin.txt /app/
COPY --from=builder /app/target/site /app/site

ENV LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_OUTPUT_NAME=vitrina \
    LEPTOS_ENV=PROD \
    VITRINA_ADDR=0.0.0.0:3000 \
    VITRINA_DATA_DIR=/data \
    RUST_LOG=info

USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000

# No curl in the slim image: ask /readyz over bash's /dev/tcp (port as in VITRINA_ADDR above).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["/app/vitrina"]
CMD ["serve"]
