# One image for gateway and worker processes: `sluice gateway` or `sluice worker`.

# The worker's hot path (hotpath/, Rust) becomes a wheel in a stage of its own: the image carries
# the extension, not the compiler. Both stages are Debian bookworm with CPython 3.11.
FROM rust:1-slim-bookworm AS hotpath
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
    && python3 -m venv /opt/maturin && /opt/maturin/bin/pip install --no-cache-dir 'maturin>=1.7,<2'
COPY hotpath /src/hotpath
RUN /opt/maturin/bin/maturin build --release --manifest-path /src/hotpath/Cargo.toml -i python3 -o /wheels

FROM python:3.11-slim
WORKDIR /app
COPY --from=hotpath /wheels /wheels
COPY pyproject.toml README.md ./
COPY sluice ./sluice
COPY gateway ./gateway
COPY workers ./workers
COPY schemas ./schemas
RUN pip install --no-cache-dir . /wheels/*.whl && rm -rf /wheels && useradd --system --uid 10001 sluice
USER 10001
ENV SLUICE_LOCAL_BROKER=false \
    SLUICE_GATEWAY_HOST=0.0.0.0 \
    SLUICE_LOGSTASH_HOST=0.0.0.0 \
    SLUICE_WORKER_HOST=0.0.0.0 \
    SLUICE_STATE_DIR=/tmp/sluice
# Gateway: HTTP(S) 8080, Logstash json_lines 5000 TCP (TLS when configured) and UDP; worker: 6066.
EXPOSE 8080 5000/tcp 5000/udp 6066
ENTRYPOINT ["sluice"]
