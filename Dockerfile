# Build: a static-ish release binary on Debian, then a small runtime image.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin nudge

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app nudge \
    && mkdir -p /data && chown nudge /data
WORKDIR /app
COPY --from=build /src/target/release/nudge /usr/local/bin/nudge
COPY config ./config
COPY content ./content
USER nudge
# The store lives on a volume; the token comes from the environment (never baked in).
VOLUME ["/data"]
ENV NUDGE_STORE_PATH=/data/nudge.sled
ENTRYPOINT ["nudge"]
CMD ["serve"]
