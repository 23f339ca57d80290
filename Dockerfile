# One image for every django-res process: the gateway, the RES service, and the migrate step.

# The demo page's ResClient bundle, from the pinned npm package.
FROM node:20-slim AS assets
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_DEBUG=0
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
COPY --from=assets /app/frontend/node_modules/resclient/dist frontend/node_modules/resclient/dist
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --no-create-home django-res \
    && install -d -o django-res -m 700 /var/lib/django-res
USER django-res
EXPOSE 8080
CMD ["python", "manage.py", "rungateway", "--addr", "0.0.0.0", "--port", "8080"]
