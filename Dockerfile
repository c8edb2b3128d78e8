# syntax=docker/dockerfile:1
# Image for hume-fleet workers, the producer CLI and the emulator.
#   build:   docker build -t hume-fleet .
#   worker:  docker run hume-fleet                      (default command)
#   other:   docker run hume-fleet producer --help | hume-emulator --help
# Both stages use the same pinned base, so the virtualenv built in the first stage runs
# unchanged in the second (its interpreter symlink points at the same /usr/local/bin/python).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: wheels for the project and every dependency, pinned by constraints.txt ---------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY hume_stream/ hume_stream/
COPY emulator/ emulator/
COPY worker/ worker/
COPY producer/ producer/

# Wheels first, then an install from those wheels only (--no-index): the virtualenv holds
# exactly the pinned set, and any dependency without a binary wheel is built here, in the
# stage that is thrown away, never in the runtime image.
RUN python -m pip wheel --wheel-dir /wheels -c constraints.txt . \
    && python -m venv /opt/hume-fleet \
    && /opt/hume-fleet/bin/python -m pip install --no-index --no-deps /wheels/*.whl \
    && /opt/hume-fleet/bin/python -m pip check

# --- runtime: the virtualenv, an unprivileged user, nothing else -------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="hume-fleet" \
      org.opencontainers.image.description="Celery workers, producer CLI and emulator for Hume's streaming Expression Measurement API" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric UID/GID, so Kubernetes can check runAsNonRoot and volumes can use fsGroup.
RUN groupadd --system --gid 10001 hume \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin hume \
    && install -d -o 10001 -g 10001 /var/lib/hume-fleet

COPY --from=build /opt/hume-fleet /opt/hume-fleet
COPY docker/start-worker.sh /usr/local/bin/hume-fleet-worker

# PROMETHEUS_MULTIPROC_DIR is left unset: the worker then makes a private directory under
# /tmp, and the chart sets it to a per-pod emptyDir.
ENV PATH=/opt/hume-fleet/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER 10001:10001
WORKDIR /var/lib/hume-fleet
EXPOSE 9808

# No HEALTHCHECK: the same image also runs the producer and the emulator, which serve no
# worker health endpoint; Kubernetes uses the chart's probes (/healthz, /readyz) instead.
# Celery runs as PID 1 (the script execs it) and does a warm shutdown on SIGTERM.
CMD ["hume-fleet-worker"]
