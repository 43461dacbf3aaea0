# The production image: one image, two processes (compose.yaml runs both, README "Docker"):
#   gunicorn serving the app (the default command), and `flask --app app scheduler`.
# The SQLite file lives on a volume at /data. FLASK_SECRET_KEY comes from the environment at run
# time, never from the image: gunicorn refuses to start without it.
#   docker build -t spine-pro .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PORT=8000 \
    FLASK_DATABASE=/data/spine-pro.sqlite3 \
    FLASK_SMS_OUTBOX=/data/sms-outbox.jsonl

# A user of its own, with a home (gunicorn keeps its control socket there, matplotlib its cache),
# and /data owned by it, with the backups folder `flask --app app backup` writes into (README,
# Docker): a new named volume takes this content and owner when first mounted.
RUN useradd --system --user-group --create-home --home-dir /home/app app \
 && mkdir -p /data/backups \
 && chown -R app:app /data

WORKDIR /app

# The dependencies first, read from pyproject.toml alone (no test extras), so that a change to
# the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY README.md app.py ./
COPY questionnaires/ questionnaires/
COPY randomization/ randomization/
COPY scheduler/ scheduler/
COPY sms/ sms/
COPY storage/ storage/
COPY services/ services/
COPY reports/ reports/
COPY web/ web/
COPY deploy/ deploy/
COPY templates/ templates/
COPY static/ static/
COPY translations/ translations/

# The project itself, editable as scripts/serve installs it (app.py finds its templates, static
# files and translations beside it), and the catalogues compiled: .mo files are never committed.
RUN pip install --no-deps -e . \
 && pybabel -q compile -d translations \
 && mkdir -p instance \
 && chown app:app instance

USER app
VOLUME ["/data"]
EXPOSE 8000

# 200 while the database answers ("degraded" too: the web side works, the scheduler's staleness is
# in the body), 503 when it cannot be read. No curl in the slim image: Python's urllib.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4).close()"]

CMD ["gunicorn", "--config", "python:deploy.gunicorn_conf", "app:create_app()"]
