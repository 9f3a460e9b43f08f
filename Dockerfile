# The leadflow image: one image for the worker, the ingest service and one-off commands
# (`docker compose run --rm worker setup hubspot`). The command picks the role.
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/leadflow
# The whole project (see .dockerignore), so packages added later need no change here.
COPY . /src
RUN /opt/leadflow/bin/pip install --no-cache-dir /src

FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="leadflow" \
      org.opencontainers.image.description="Lead lifecycle workers and ingest on Temporal"
ENV PATH=/opt/leadflow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LEADFLOW_LOG_FORMAT=json \
    LEADFLOW_DATA_DIR=/var/lib/leadflow \
    LEADFLOW_METRICS_HOST=0.0.0.0
RUN groupadd --system --gid 10001 leadflow \
    && useradd --system --uid 10001 --gid leadflow --home-dir /var/lib/leadflow --create-home leadflow
COPY --from=build /opt/leadflow /opt/leadflow
USER 10001:10001
WORKDIR /var/lib/leadflow
EXPOSE 8080 9464
ENTRYPOINT ["leadflow"]
CMD ["worker"]
