FROM python:3.11-slim-bookworm

# WeasyPrint's system libraries (pango/harfbuzz) and fonts; libpq comes with psycopg[binary].
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
       libharfbuzz-subset0 fonts-dejavu-core shared-mime-info \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# A throwaway key only for this build step: the image holds no key, compose passes the real one at start.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" DEBUG=False \
       EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend python manage.py collectstatic --noinput -v0 \
    && useradd --create-home --uid 10001 app && mkdir -p /app/media && chown -R app /app/media
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "cvimprover/gunicorn.py", "--bind", "0.0.0.0:8000"]
