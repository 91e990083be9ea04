# syntax=docker/dockerfile:1.7
# One image for every gigcover service: `docker build --build-arg TARGET=pricing .` sets
# the service the container serves by default (serve.target); the command can still name
# another (`serve --target claims`), and `migrate` runs the migrations (the Helm hook Job).
#
# Stages: chef (cargo-chef) plans the dependency graph, builder cooks the dependencies in
# their own layer (cached until Cargo.lock changes), then builds the binary; the runtime is
# distroless (no shell, no package manager), non-root. SQL is checked at runtime, so no
# sqlx offline data is needed.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.71
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json --bin gigcover
COPY . .
RUN cargo build --release --bin gigcover && strip target/release/gigcover

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG TARGET=all
LABEL org.opencontainers.image.title="gigcover" \
      org.opencontainers.image.description="gigcover services (serve.target: ${TARGET})" \
      org.opencontainers.image.source="https://bitbucket.org/gigcover/gigcover"
COPY --from=builder /src/target/release/gigcover /usr/local/bin/gigcover
ENV GIGCOVER_SERVE__TARGET=${TARGET} \
    GIGCOVER_HTTP__HOST=0.0.0.0 \
    GIGCOVER_ENVIRONMENT=prod
USER 65532:65532
EXPOSE 8080 8081 8082 8083 8084 8085
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD ["/usr/local/bin/gigcover", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/gigcover"]
CMD ["serve"]
