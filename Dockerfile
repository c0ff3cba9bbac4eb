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
# Compiled here, once: /srv is read-only at run time, so each start compiled app/ again (60 ms).
# By timestamp even where SOURCE_DATE_EPOCH is set (hash-based otherwise): make container-test checks them so.
RUN python -m compileall -q --invalidation-mode timestamp app
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
# Timeouts fit figures measured by `make container-test` (1 CPU): this command (a Python start)
# takes 0.12-0.2 s idle, at most 0.31 s while 10,000-physician rankings or 2 MB audits run (heavy
# work runs off the event loop). Unhealthy after 3 checks unanswered within 5 s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8001/readyz', timeout=3).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app.cli", "serve"]
