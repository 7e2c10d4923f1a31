# One image for every leadstream service: `leadstream run <service>` picks which.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY services ./services
COPY localinfra ./localinfra
RUN pip install . && useradd --system --uid 10001 leadstream
USER leadstream
ENTRYPOINT ["leadstream"]
CMD ["--help"]
