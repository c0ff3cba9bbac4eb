# Territorialité: one stateless process per container; scale out with replicas.
# Build: docker build -t territorialite .   Run: docker run -p 8000:8000 territorialite
FROM python:3.11-slim-bookworm AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin territorialite
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /srv
# The package runs from /srv (not installed), so openapi.yaml and geodata/ sit where it looks for them.
COPY --chown=root:root openapi.yaml ./
COPY --chown=root:root geodata ./geodata
COPY --chown=root:root app ./app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TERRITORIALITE_HOST=0.0.0.0 \
    TERRITORIALITE_PORT=8000 \
    TERRITORIALITE_PROBE_PORT=8001 \
    TERRITORIALITE_WORKERS=1
USER 10001
# The probe port, 8001, answers only /healthz and /readyz, for the HEALTHCHECK below and the
# orchestrator's probes, in a listen queue of its own (README, Reliability). Not exposed: keep it
# private (`docker run -P` publishes what is exposed).
EXPOSE 8000
# Timeouts fit figures measured by `make container-test` (1 CPU): this command takes 0.2-0.45 s idle
# (a Python start), up to 2.5 s while heavy rankings run, up to 7.4 s while the heaviest legal
# request (a 2 MB audit) holds the worker. Unhealthy after 3 checks unanswered within 10 s.
HEALTHCHECK --interval=10s --timeout=10s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8001/readyz', timeout=8).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app.cli", "serve"]
