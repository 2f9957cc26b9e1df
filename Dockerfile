# One image for the web service and the Celery worker.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app:/app/platform \
    VOICEGATE_VAR_DIR=/var/lib/voicegate
# The CPU build of torch 2.13.0 (requirements.txt pins it); the default wheel index would
# pull CUDA packages instead.
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg espeak-ng sox curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0
COPY . .
RUN mkdir -p /var/lib/voicegate && SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["gunicorn", "voicegate.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "120"]
