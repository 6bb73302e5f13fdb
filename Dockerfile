# One image recipe for the four services: docker build --build-arg SERVICE=intake .
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -c constraints.txt -r requirements.txt
COPY shared ./shared
COPY services ./services
ARG SERVICE
ENV SERVICE=${SERVICE} PYTHONPATH=/app:/app/services/${SERVICE} PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 app
USER app
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[os.environ[\"SERVICE\"].upper() + \"_PORT\"]}/readyz', timeout=2)"
CMD ["sh", "-c", "exec python -m \"$SERVICE\""]
