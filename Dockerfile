FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/app/data/numba-cache
WORKDIR /app

RUN useradd --create-home --uid 10001 tradingboost

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY engine ./engine
COPY db ./db
COPY locales ./locales
RUN pip install . && mkdir -p /app/data && chown tradingboost:tradingboost /app/data

USER tradingboost
# The container serves its probes on HEALTH_PORT inside the container only (HEALTH_HOST 127.0.0.1 by default).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/ready' % os.environ.get('HEALTH_PORT', '8081'), timeout=2)"
CMD ["python", "-m", "bot"]
