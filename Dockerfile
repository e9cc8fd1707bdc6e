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
CMD ["python", "-m", "bot"]
