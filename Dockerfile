# mesh-audit image, run by deploy/cronjob.yaml. From a checkout to a scheduled audit in three steps
# (docs/deployment.md):
#   1. docker build -t mesh-audit:0.1.0 .
#      docker tag mesh-audit:0.1.0 REGISTRY/mesh-audit:0.1.0 && docker push REGISTRY/mesh-audit:0.1.0
#   2. set it once in the kustomization's images: (newName: REGISTRY/mesh-audit, newTag: 0.1.0);
#      `kubectl kustomize deploy/` renders mesh-audit:0.1.0, the tag step 1 builds
#   3. kubectl apply -k deploy/        (or an overlay of examples/)
# Entrypoint `mesh-audit`; the CronJob runs `mesh-audit-scheduled` (deploy/mesh-audit-scheduled.sh).
# tests/project/test_image.py holds this file, the wheel and deploy/ to each other.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# The package and its templates (.dockerignore leaves out tests, fixtures and local state).
COPY . .
# `[upload]`: boto3, for `--upload s3://...` from the CronJob
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[upload]'

FROM python:3.11-slim-bookworm
# WeasyPrint (PDF) needs Pango with FreeType and HarfBuzz subsetting; fonts for the reports.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'mesh-audit[upload]' \
 && rm -rf /wheels \
 && groupadd --system --gid 10001 mesh-audit \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin mesh-audit
COPY --chmod=0755 deploy/mesh-audit-scheduled.sh /usr/local/bin/mesh-audit-scheduled
# The root filesystem is read-only in the CronJob: caches go to /tmp (an emptyDir there).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache
USER 10001:10001
WORKDIR /reports
ENTRYPOINT ["mesh-audit"]
CMD ["--help"]
