"""Optional email notifications: "There is new activity in the inbox."

When ``PORTAL_SMTP_HOST`` is set, a tip or a tipster's later message makes the
portal send one email to ``PORTAL_SMTP_TO``, at most once every
``PORTAL_SMTP_INTERVAL`` minutes. The email says nothing else: no count, no time of
arrival, no language, nothing that tells one tipster from another or one tip from
many. It is the same text every time.

Invariants:

* **A mail never delays or loses a tip.** :meth:`Notifier.activity` is called after
  the tip's commit; it records that activity is waiting (one UPDATE) and hands the
  sending to a background thread. The request returns without waiting for SMTP; a
  mail server that is down, slow or refusing only costs the notification (logged by
  the exception's type, never its text).
* **One clock for every worker and host.** The ``notification`` row in the shared
  database holds whether activity is waiting and when the last email went. Whoever
  sends first claims the row with one conditional UPDATE (``pending`` and the
  interval elapsed), so two workers never both send; activity within the interval
  leaves ``pending`` set, and a timer in the process that saw it sends when the
  interval ends. Activity left waiting by a process that stopped is sent with the
  next activity.
* A failed send leaves ``pending`` set: the next attempt comes after the interval.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from portal.config import Settings
from portal.models import Notification, db

log = logging.getLogger(__name__)

#: seconds SMTP may take to answer (in the background; never in a request)
SMTP_TIMEOUT = 20
_ROW = 1


def now() -> datetime:
    """The time (a function, so that tests can move it)."""
    return datetime.now(UTC)


class Notifier:
    """The app's notifier (``app.extensions["portal_notifier"]``)."""

    def __init__(self, app: Flask, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.interval = timedelta(minutes=settings.smtp_interval)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        #: background threads started, for tests to wait on
        self.threads: list[threading.Thread] = []

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def activity(self) -> None:
        """Something arrived (call after its commit): note it, and send in the
        background if the interval allows."""
        if not self.enabled:
            return
        try:
            _mark_pending()
        except Exception as exc:  # the tip is filed; a notice is not worth a 500
            db.session.rollback()
            log.error("could not record activity for notification: %s", type(exc).__name__)
            return
        self._start(self.try_send)

    def _start(self, work: object) -> None:
        thread = threading.Thread(target=work, name="portal-notify", daemon=True)  # type: ignore[arg-type]
        self.threads.append(thread)
        thread.start()

    def try_send(self) -> bool:
        """Send if activity is waiting and the interval has passed (in a background
        thread); otherwise make sure a timer will look again. True if sent."""
        with self.app.app_context():
            moment = now()
            claimed = db.session.execute(
                update(Notification)
                .where(
                    Notification.id == _ROW,
                    Notification.pending.is_(True),
                    or_(
                        Notification.last_sent_at.is_(None),
                        Notification.last_sent_at <= moment - self.interval,
                    ),
                )
                .values(pending=False, last_sent_at=moment)
            )
            db.session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                self._wake_after(self.interval)
                return False
            try:
                self._send()
            except Exception as exc:
                log.error("notification not sent: %s", type(exc).__name__)
                _mark_pending()
                self._wake_after(self.interval)
                return False
            return True

    def _wake_after(self, delay: timedelta) -> None:
        pending = db.session.get(Notification, _ROW)
        if pending is None or not pending.pending:
            return
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Timer(delay.total_seconds() + 1, self.try_send)
            self._timer.daemon = True
            self._timer.start()

    def message(self) -> EmailMessage:
        """The notification, in the portal's default language; always the same."""
        with force_locale(self.settings.default_locale):
            subject = _("New activity in the inbox")
            body = _(
                "There is new activity in the inbox. Sign in to read it. This message "
                "says nothing else on purpose."
            )
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.settings.smtp_from
        message["To"] = ", ".join(self.settings.notify_to)
        message.set_content(body + "\n")
        return message

    def _send(self) -> None:
        settings = self.settings
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if settings.smtp_security == "tls":
            client = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=context)
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password)
            client.send_message(self.message())

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


def _mark_pending() -> None:
    done = db.session.execute(
        update(Notification).where(Notification.id == _ROW).values(pending=True)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        db.session.add(Notification(id=_ROW, pending=True, last_sent_at=None))
        try:
            db.session.commit()
            return
        except IntegrityError:  # another worker made the row meanwhile
            db.session.rollback()
            db.session.execute(
                update(Notification).where(Notification.id == _ROW).values(pending=True)
            )
    db.session.commit()


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["portal_notifier"] = Notifier(app, settings)
