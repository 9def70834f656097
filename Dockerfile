# Build stage: compile the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src src
# The workspace manifest names the bench crate, so cargo needs it to load.
COPY crates crates
COPY migrations migrations
RUN cargo build --release --locked --package livechat-server --bin livechat-server

# Runtime stage: the binary alone, run by an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/livechat --create-home livechat
COPY --from=build /src/target/release/livechat-server /usr/local/bin/livechat-server
USER livechat
WORKDIR /var/lib/livechat
ENV LIVECHAT_LISTEN=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///var/lib/livechat/data/livechat.db
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:3000/health || exit 1
ENTRYPOINT ["livechat-server"]
CMD ["serve"]
