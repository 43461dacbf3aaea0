"""Blueprints per audience, error pages, security headers, i18n and the CLI."""
from __future__ import annotations

from flask import Flask, render_template
from flask.logging import default_handler
from werkzeug.middleware.proxy_fix import ProxyFix

from web import cli, compression, csrf, database, errors, health, i18n, labels, log_format, reminders, security
from web.auth import bp as auth_bp
from web.auth.access import form_expired
from web.patient import bp as patient_bp
from web.sessions import CookieSessions
from web.staff import bp as staff_bp
from web.webhooks import bp as webhooks_bp


def init_app(app: Flask) -> None:
    if log_format.configure(app.config.get("LOG_JSON")):   # FLASK_LOG_JSON: logs as JSON lines
        app.logger.removeHandler(default_handler)           # and no second, plain copy of a line
    database.init_app(app)
    app.session_interface = CookieSessions()    # no work for a request with no session (a patient's)
    security.init_app(app, patient_blueprint=patient_bp.name)
    compression.init_app(app)
    i18n.init_app(app)
    reminders.check_whatsapp(app)   # WhatsApp's templates, one per language offered (FLASK_WHATSAPP_TEMPLATES)
    labels.init_app(app)
    errors.init_app(app)
    app.register_blueprint(patient_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    csrf.init_app(app, exempt=[patient_bp, webhooks_bp])
    app.register_error_handler(csrf.CSRFError, form_expired)
    if app.config.get("BEHIND_PROXY"):
        # Trust one proxy's X-Forwarded-* so request.url is the URL Twilio signed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
    cli.init_app(app)

    @app.get("/")
    def index():
        # Patients arrive on their own link; this says so, and shows the care team the way in.
        return render_template("home.html")
