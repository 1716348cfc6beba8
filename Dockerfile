# One image for gateway and worker processes: `sluice gateway` or `sluice worker`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sluice ./sluice
COPY gateway ./gateway
COPY workers ./workers
COPY schemas ./schemas
RUN pip install --no-cache-dir . && useradd --system --uid 10001 sluice
USER 10001
ENV SLUICE_LOCAL_BROKER=false \
    SLUICE_GATEWAY_HOST=0.0.0.0 \
    SLUICE_WORKER_HOST=0.0.0.0 \
    SLUICE_STATE_DIR=/tmp/sluice
ENTRYPOINT ["sluice"]
