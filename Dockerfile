# mockprovider as a container: the fake provider server (CMD serve) or, with another command, the chaos proxy
# (`proxy --host 0.0.0.0`) or the profile checker (`profiles /profiles/my.yaml`). See "Docker sidecar" in
# README.md and docker-compose.yml. PyAV's wheels bundle FFmpeg, so the slim image needs no system packages.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockprovider/ mockprovider/
COPY proxy/ proxy/
COPY profiles/ profiles/
# A regular (not editable) install without the dev extras.
RUN pip install . && rm -rf /src

# The bundled profiles, also as files: an editable copy lives in ./profiles, mounted over /profiles.
COPY profiles/ /profiles/

RUN useradd --system --uid 10001 --create-home --home-dir /home/mockprovider mockprovider
USER mockprovider
WORKDIR /home/mockprovider

ENV MOCKPROVIDER_HOST=0.0.0.0 \
    MOCKPROVIDER_PORT=8000 \
    MOCKPROVIDER_PROFILES_DIR=/profiles

# 8000: the provider server (every provider and /__mock/); 8474: the chaos proxy's Toxiproxy API.
EXPOSE 8000 8474

# Readiness: GET /__mock/health (open even with an admin token). The slim image has no curl, so Python.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MOCKPROVIDER_PORT', '8000') + '/__mock/health', timeout=2)"]

ENTRYPOINT ["mockprovider"]
CMD ["serve"]
