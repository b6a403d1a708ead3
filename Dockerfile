# syntax=docker/dockerfile:1
# One image for every Lifeboat process: web (default CMD), worker, beat and Flower
# (docker-compose.yml sets their commands). Build: docker build -t lifeboat:0.1.0 .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIFEBOAT_STORAGE_ROOT=/data \
    LIFEBOAT_MODELS_DIR=/app/models \
    LIFEBOAT_METRICS_DIR=/tmp/lifeboat-metrics \
    LIFEBOAT_WEB_HOST=0.0.0.0 \
    LIFEBOAT_WEB_PORT=8000 \
    LIFEBOAT_WORKER_METRICS_PORT=9101

# Unprivileged user with a fixed uid, so volume ownership is predictable.
RUN groupadd --system --gid 10001 lifeboat \
 && useradd --system --uid 10001 --gid lifeboat --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin lifeboat

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
# Every pinned package ships a manylinux wheel, so no compiler is needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code (see .dockerignore for what stays out), owned by root and read-only
# for the lifeboat user.
COPY . .

# Train at build time so the image carries a model version under /app/models.
RUN python -m ml.train --models-dir "$LIFEBOAT_MODELS_DIR" \
 && test -n "$(ls -A "$LIFEBOAT_MODELS_DIR")"

# The storage root (uploads, results, reports) is a volume in docker-compose.yml;
# a fresh named volume takes this directory's ownership.
RUN mkdir -p /data && chown lifeboat:lifeboat /data

USER lifeboat

EXPOSE 8000 9101 5555

# Liveness of the web process; worker, beat and Flower override it in
# docker-compose.yml. python:slim has neither curl nor wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('LIFEBOAT_WEB_PORT', '8000'), timeout=4)"]

CMD ["gunicorn", "-c", "web/gunicorn_conf.py", "web.app:create_app()"]
