# Build: a release binary on Debian, then a small runtime image. The binary is linked
# dynamically against glibc (and nothing else: TLS is rustls), which the runtime image has.
FROM rust:1.95-slim-bookworm AS build
# `--build-arg FEATURES=postgres` builds the PostgreSQL engine in (README: Running on PostgreSQL).
ARG FEATURES=""
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when the manifests or the lock
# change, not at every edit of the code. The stand-in sources are replaced below.
COPY Cargo.toml Cargo.lock ./
COPY crates/fake-telegram/Cargo.toml crates/fake-telegram/Cargo.toml
COPY crates/proof/Cargo.toml crates/proof/Cargo.toml
RUN mkdir -p src benches crates/fake-telegram/src crates/proof/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && for bench in planner content agenda tune; do echo 'fn main() {}' > benches/$bench.rs; done \
    && touch crates/fake-telegram/src/lib.rs crates/proof/src/lib.rs \
    && echo 'fn main() {}' > crates/fake-telegram/src/main.rs \
    && echo 'fn main() {}' > crates/proof/src/main.rs \
    && cargo build --release --locked --bin nudge --features "$FEATURES" \
    && rm -rf src benches crates
COPY crates ./crates
COPY src ./src
COPY benches ./benches
COPY migrations ./migrations
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin nudge --features "$FEATURES"

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app nudge \
    && mkdir -p /data && chown nudge /data
WORKDIR /app
# Only the binary: its line tables for profiling (nudge.dwp) stay in the build stage.
COPY --from=build /src/target/release/nudge /usr/local/bin/nudge
COPY config ./config
COPY content ./content
USER nudge
# The store lives on a volume; the token comes from the environment (never baked in).
VOLUME ["/data"]
ENV NUDGE_STORE_PATH=/data/nudge.sled
# `/healthz` and `/metrics`. Inside a container the ops endpoint must listen on 0.0.0.0 to be
# reached from outside it (`[http] listen`, or this variable); it serves no learners' data, but
# publish the port only to your monitoring.
ENV NUDGE_HTTP_LISTEN=0.0.0.0:9184
EXPOSE 9184
# No curl in the image: bash's /dev/tcp asks /healthz, which answers "ok" when the store reads.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9184 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '^ok' <&3"]
ENTRYPOINT ["nudge"]
CMD ["serve"]
