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
  database holds whether activity is waiting and when the last email went. Every
  process records activity there, whether or not it has SMTP settings; a process that
  has them sends, claiming the row with one conditional UPDATE (``pending`` and the
  interval elapsed), so two workers never both send. Activity within the interval
  leaves ``pending`` set; every sending process looks again every :data:`POLL`
  seconds, so it is announced soon after the interval ends, and activity recorded by
  another process (the public side, which need not reach any mail server) is
  announced by the inbox's.
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
#: seconds between two looks at the notification row in a process that sends
POLL = 60
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
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._lock = threading.Lock()
        #: background threads started for sending, for tests to wait on
        self.threads: list[threading.Thread] = []

    @property
    def enabled(self) -> bool:
        return bool(self.settings.smtp_host)

    def activity(self) -> None:
        """Something arrived (call after its commit): note it for whichever process
        sends, and, if this one does, send in the background if the interval allows."""
        try:
            _mark_pending()
        except Exception as exc:  # the tip is filed; a notice is not worth a 500
            db.session.rollback()
            log.error("could not record activity for notification: %s", type(exc).__name__)
            return
        if self.enabled:
            self.start_polling()
            thread = threading.Thread(target=self.try_send, name="portal-notify", daemon=True)
            self.threads.append(thread)
            thread.start()

    def start_polling(self) -> None:
        """Look at the notification row every :data:`POLL` seconds, in a daemon
        thread of this process, until :meth:`cancel` (once per process)."""
        with self._lock:
            if not self.enabled or self._poller is not None or self._stop.is_set():
                return
            self._poller = threading.Thread(
                target=self._poll, name="portal-notify-poll", daemon=True
            )
            self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.try_send()
            except Exception as exc:  # a database hiccup: look again next time
                log.error("notification check failed: %s", type(exc).__name__)

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
                return False
            try:
                self._send()
            except Exception as exc:
                log.error("notification not sent: %s", type(exc).__name__)
                _mark_pending()
                return False
            return True

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
        """Stop looking (the app is going away)."""
        self._stop.set()


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
    notifier = Notifier(app, settings)
    app.extensions["portal_notifier"] = notifier
    if notifier.enabled:
        # A process that sends looks at the row from its first request on (not at
        # start: `flask` commands build the app too, and send nothing).
        app.before_request(notifier.start_polling)
