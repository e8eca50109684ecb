"""Sending mail over SMTP with the ``[email]`` settings (weekly report, alert digests).

Temporary failures (a 4xx answer, a refused or dropped connection, a timeout) are retried
a few times with a growing pause; a permanent one (5xx, bad login) is not. Either way the
caller gets one :class:`MailError` line naming the server and its answer. The password is
read only when logging in and is never logged or put in an error message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from content.errors import LoaError
from scheduler.config import Email

log = logging.getLogger("loa.mail")

#: Attempts per message, and the pause before the 2nd, 3rd, ... attempt (seconds).
ATTEMPTS = 4
BACKOFF = (5.0, 30.0, 120.0)
TIMEOUT_SECONDS = 30.0
#: Hosts where a login over an unencrypted connection never leaves the machine.
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class MailError(LoaError):
    """A message could not be handed to the SMTP server."""


class _Temporary(Exception):
    """An attempt failed in a way worth retrying; carries the server's answer."""


class Mailer:
    """Hands messages to the office's SMTP server.

    ``sleep`` is injectable so tests never wait; ``environ`` is passed to
    :meth:`SecretRef.resolve` (tests set the password without touching os.environ).
    """

    def __init__(
        self,
        settings: Email,
        *,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = ATTEMPTS,
        backoff: tuple[float, ...] = BACKOFF,
        timeout: float = TIMEOUT_SECONDS,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.sleep = sleep
        self.attempts = max(1, attempts)
        self.backoff = backoff or (0.0,)
        self.timeout = timeout
        self.environ = environ

    @property
    def server(self) -> str:
        """``host:port`` for messages."""
        return f"{self.settings.host}:{self.settings.port}"

    def new_message(self, subject: str, to: list[str] | None = None) -> EmailMessage:
        """An empty message with From, To (default: ``email.to``), Cc, Subject and Message-ID."""
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.settings.from_
        message["To"] = ", ".join(to if to is not None else self.settings.to)
        if to is None and self.settings.cc:
            message["Cc"] = ", ".join(self.settings.cc)
        domain = self.settings.from_.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        return message

    def send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send ``message`` to its To and Cc; retries temporary failures.

        Returns the recipients the server refused while accepting others (usually empty).
        Raises :class:`MailError` when the message could not be sent at all.
        """
        if "Date" not in message:
            message["Date"] = formatdate(localtime=False, usegmt=True)
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                refused = self._send_once(message)
            except _Temporary as exc:
                last = str(exc)
                log.warning("mail to %s: attempt %d failed: %s", self.server, attempt, last)
                if attempt < self.attempts:
                    self.sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
                continue
            if refused:
                log.warning("mail to %s: recipients refused: %s", self.server, sorted(refused))
            return refused
        raise MailError("smtp_gave_up", server=self.server, n=self.attempts, answer=last)

    def _send_once(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        try:
            with self._connect() as smtp:
                self._login(smtp)
                return smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = list(exc.recipients.values())
            text = "; ".join(f"{addr}: {_answer(c, m)}" for addr, (c, m) in exc.recipients.items())
            if answers and all(400 <= code < 500 for code, _ in answers):
                raise _Temporary(text) from None
            raise MailError("smtp_recipients", server=self.server, answer=text) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                "smtp_login",
                server=self.server,
                user=self.settings.user,
                answer=_answer(exc.smtp_code, exc.smtp_error),
            ) from None
        except smtplib.SMTPResponseException as exc:
            answer = _answer(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise _Temporary(answer) from None
            raise MailError("smtp_answer", server=self.server, answer=answer) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError("smtp_other", server=self.server, answer=str(exc)) from None
        except ssl.SSLError as exc:
            # A certificate or protocol mismatch does not heal by itself.
            raise MailError("smtp_tls", server=self.server, answer=str(exc)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # Refused, reset, timed out, DNS failure: all may pass.
            raise _Temporary(f"{type(exc).__name__}: {exc}") from None

    def _connect(self) -> smtplib.SMTP:
        host, port, security = self.settings.host, self.settings.port, self.settings.security
        if security == "tls":
            return smtplib.SMTP_SSL(
                host, port, timeout=self.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(host, port, timeout=self.timeout)
        if security == "starttls":
            try:
                smtp.ehlo()
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not (self.settings.user and self.settings.password):
            return
        if self.settings.security == "none" and self.settings.host not in _LOOPBACK:
            raise MailError("smtp_plain_password", server=self.server)
        # Resolved here, used once, never stored on self or logged.
        password = self.settings.password.resolve(self.environ)
        if not password.isascii():
            # smtplib encodes AUTH PLAIN/LOGIN as ASCII and would fail with a traceback.
            raise MailError(
                "smtp_password_ascii",
                server=self.server,
                source=self.settings.password.describe(),
            )
        smtp.login(self.settings.user, password)


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"
