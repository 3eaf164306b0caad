FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Production: DEBUG off; SECRET_KEY (at least 50 characters) must be given at run time,
# as docker-compose.yml does, or the server refuses to start.
ENV DEBUG=0
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
RUN pip install --no-cache-dir --no-deps .
EXPOSE 8000
CMD ["gunicorn", "funnel.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
