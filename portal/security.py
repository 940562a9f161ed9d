"""Security headers, set by the app itself so that tests see exactly what browsers get;
and, when the portal has an onion service, the ``Onion-Location`` header on public
pages."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)

log = logging.getLogger(__name__)

BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie marked Secure whenever the
    request came over HTTPS (directly, or through a proxy gunicorn trusts), not only
    when ``PORTAL_SECURE_COOKIES`` says so: a forgotten setting must not let the
    session cookie travel in clear text later."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def session_cookie_missing() -> bool:
    """Whether this POST carries a form's CSRF token but not the session cookie that
    the form's page set: the browser did not keep it or did not send it back. Says
    why in the log (without anything about the visitor) when the reason is ours."""
    if not request.form.get("csrf_token"):
        return False
    if current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        return False
    if current_app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
        log.warning(
            "a form came back without its session cookie: the cookie is marked Secure "
            "(PORTAL_SECURE_COOKIES) but the request arrived over plain HTTP, and "
            "browsers do not keep Secure cookies from such pages"
        )
    else:
        log.info("a form came back without its session cookie")
    return True


def init_app(app: Flask) -> None:
    app.session_interface = HttpsAwareSessionInterface()

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        for name, value in BASE_HEADERS.items():
            # A view may tighten its own policy (file downloads use a sandbox CSP).
            response.headers.setdefault(name, value)
        # Only a static file itself may be cached; its error pages (a translated 404)
        # are pages like any other.
        if request.endpoint != "static" or response.status_code not in {200, 206, 304}:
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=63072000"
        onion = app.config["PORTAL_SETTINGS"].onion_address
        if onion and request.blueprint == "public" and request.host.split(":")[0] != onion:
            # Tor Browser offers to open the same page at the onion service.
            response.headers["Onion-Location"] = f"http://{onion}{request.full_path.rstrip('?')}"
        return response
