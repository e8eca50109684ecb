"""What Loa says to people, as data: a code, its parameters, and one catalogue of wordings.

Every error a user can cause (:class:`content.errors.LoaError`) and every warning the queue
gives (:class:`Notice`) carries a ``code`` and ``params``; the words come from
:data:`CATALOGUE` (English msgids with ``{placeholders}``) through gettext, so the CLI, the
TUI and the logs say the same thing, each in its language, and a reworded message cannot
silently stay English in the Vietnamese UI. ``str()`` of either is the English text.

Parameters are plain values (numbers, names, ids, lists), a :class:`Notice` or error (a
reason said in the same language), or one of the words in :data:`WORD_PARAMS` (a post
state, a role, an action), which are translated too. Platform errors (a delivery's
``last_error``) are not here: they stay as the platform said them.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any, Protocol

from content.i18n import N_, language, translation

#: code -> English msgid. Grouped by the module that raises it; codes are stable (tests
#: and faces may test them), wordings may change.
CATALOGUE: dict[str, str] = {
    # --- content.queue: validation
    "no_channel": N_("choose at least one channel or group"),
    "no_text": N_("the post has no text"),
    "not_http_url": N_("{url!r} is not an http(s) URL"),
    "variant_channel": N_("a text variant for {channel!r}, which is not among the post's channels"),
    "image_for_channel": N_("{name}: {reason} (channel {channel})"),
    "text_too_long": N_("{n} characters; {channel} ({kind}) takes at most {limit}"),
    "title_required": N_("{channel} ({kind}) needs a title of at most {limit} characters"),
    "title_too_long": N_("title of {n} characters; {channel} ({kind}) takes at most {limit}"),
    "too_many_images": N_("{n} images; {channel} ({kind}) takes at most {limit}"),
    "image_too_big": N_("{name}: {mb:.1f} MB; images may be at most {limit} MB"),
    "time_past": N_("{when} is in the past (now is {now})"),
    "repeat_no_start": N_("a repeating post needs a first time"),
    "repeat_rule": N_("give either every N days or weekdays"),
    "repeat_days": N_("every N days needs N >= 1"),
    "repeat_weekdays": N_("weekdays are 0 (Monday) to 6 (Sunday)"),
    "repeat_until_before": N_("until {date} is before the first post"),
    "repeat_too_many": N_("more than {n} occurrences; choose an earlier until date"),
    "comment_missing": N_("say what should change"),
    # --- content.queue: state and existence
    "post_missing": N_("post {id} does not exist"),
    "delivery_missing": N_("delivery {id} does not exist"),
    "post_hidden": N_("post {id} is not in {user}'s units"),
    "edit_state": N_("post {id} is {state}; only live posts can be edited"),
    "edit_sending": N_("post {id} is already being sent; it can no longer change"),
    "send_back_state": N_("post {id} is {state}, not in review"),
    "schedule_state": N_("post {id} is {state}; it cannot be scheduled"),
    "schedule_sending": N_("post {id} is already being sent; it can no longer move"),
    "cancel_state": N_("post {id} is {state}; there is nothing to cancel"),
    "cancel_sending": N_("post {id} is being sent right now; cancel it again in a moment"),
    "retry_state": N_("delivery {id} is {dstate}; only failed ones can be retried"),
    "post_cancelled": N_("post {id} is cancelled"),
    "review_state": N_("delivery {id} is {dstate}: it no longer needs checking"),
    "approve_state": N_("post {id} is {state}; only posts in review can be approved"),
    "transition": N_("post {id} is {state}; it cannot become {target}"),
    # --- content.queue: warnings (Notice; the change was made)
    "warn_back_to_review": N_("post {id} was edited after approval: it is back in review"),
    "warn_due_now": N_("post {id} was due at {when}: it will be published now"),
    "warn_same_queued": N_("the same text is already queued for {channel} (post {id})"),
    "warn_same_published": N_("the same text was published to {channel} on {when} (post {id})"),
    "warn_spacing": N_("{channel} already has post {id} at {when}, less than {n} min apart"),
    "warn_zalo_night": N_(
        "{channels}: Zalo refuses broadcasts from 22:00 to 06:00; the article is published "
        "on time and its broadcast waits until 06:00"
    ),
    # --- content.accounts
    "user_name": N_(
        "{name!r} is not a user name: use letters, digits, '.', '_', '-' or '@' "
        "(at most 64, no spaces)"
    ),
    "role_unknown": N_("{name!r} is not a role; expected one of: {roles}"),
    "role": N_(
        "{user} is {role} and may not {action}; that needs {needed} (an admin can change the role)"
    ),
    "admin_only": N_("only an admin may {action}; {user} is {role}"),
    "unit": N_(
        "{user} may not {action} for {channels}: outside his units (an admin can change them)"
    ),
    "own_post": N_(
        "post {id}: {user} wrote it and cannot approve it; the office requires a second approver"
    ),
    "session": N_("the web session has expired: sign in again"),
    "act_as": N_("only an admin may act for another account (--as); {user} is {role}"),
    "act_as_accounts": N_("accounts are changed in one's own name, not with --as"),
    "no_account": N_(
        "the OS user {os_user} has no Loa account; an admin adds it with: "
        "loa users add {user} --role author --unit GROUP"
    ),
    "no_account_named": N_("no Loa account named {user}"),
    "disabled": N_(
        "the account {user} is disabled; an admin re-enables it with: loa users enable {user}"
    ),
    "sign_in": N_("wrong user name or password"),
    "first_admin": N_(
        "the first account must be an admin (--role admin): "
        "once an account exists, only admins add others"
    ),
    "account_exists": N_("an account named {name} already exists"),
    "account_missing": N_("no account named {name} (see: loa users list)"),
    "password_short": N_("the password is too short: at least {n} characters"),
    "last_admin": N_("{name} is the last active admin: make another account admin first"),
    "unit_unknown": N_(
        "unknown unit {unit!r}; expected a group or channel of channels.toml ({known})"
    ),
    "none_configured": N_("none configured"),
    # --- content.times
    "time_empty": N_("empty time; expected {formats}"),
    "time_no_clock": N_("{text!r} has no time of day; add a time, e.g. {example}"),
    "time_format": N_("{text!r} is not a time; expected {formats} (office time)"),
    "time_impossible": N_("{text!r} is not a real date and time: {problems}"),
    "and": N_("{first} and {then}"),
    "no_month": N_("there is no month {month}"),
    "no_day": N_("{month:02d}/{year} has no day {day}"),
    "no_hour": N_("there is no hour {hour} (00 to 23)"),
    "no_minute": N_("there is no minute {minute} (00 to 59)"),
    "date_format": N_("{text!r} is not a date; expected DD/MM/YYYY or YYYY-MM-DD"),
    "slot_format": N_("{text!r} is not a time of day; expected HH:MM"),
    # --- scheduler.channels.credentials, scheduler.observability
    "key_unset": N_(
        "no credential key for this {backend} database: set LOA_CREDENTIAL_KEY, or "
        "LOA_CREDENTIAL_KEY_FILE (or credential_key_file in [office]) to a key file every "
        "host shares; Loa does not create one in the working directory"
    ),
    "key_invalid": N_(
        "{source}: not a valid key (expected 32 url-safe base64-encoded bytes, as made by "
        "Fernet.generate_key())"
    ),
    "key_file_mode": N_(
        "key file {path} is readable by group or others (mode {mode}); run: chmod 600 {path}"
    ),
    "key_file_create": N_("key file {path}: cannot create: {reason}"),
    "key_file_read": N_("key file {path}: cannot read: {reason}"),
    "key_mismatch": N_(
        "credential key mismatch: this database's secrets were encrypted with the key of "
        "fingerprint {recorded}, but the key from {source} has fingerprint {given}; set "
        "LOA_CREDENTIAL_KEY or LOA_CREDENTIAL_KEY_FILE to the database's key"
    ),
    "key_foreign": N_(
        "the Zalo tokens in this database were not encrypted with the key from {source} "
        "(fingerprint {given}); set LOA_CREDENTIAL_KEY or LOA_CREDENTIAL_KEY_FILE to the key "
        "they were stored with"
    ),
    "metrics_bind": N_(
        "cannot serve metrics on {host}:{port}: {reason}; choose another --metrics-port or "
        "--metrics-host"
    ),
    # --- files
    "file_unreadable": N_("{path}: cannot read: {reason}"),
    # --- operating-system errors (errno), said as a reason inside another message
    "os_enoent": N_("no such file or directory"),
    "os_eacces": N_("permission denied"),
    "os_eisdir": N_("it is a folder, not a file"),
    "os_enotdir": N_("not a folder"),
    "os_enospc": N_("no space left on the disk"),
    "os_erofs": N_("the disk is read-only"),
    "os_eexist": N_("it already exists"),
    "os_eaddrinuse": N_("the address is already in use"),
    "os_eaddrnotavail": N_("this machine has no such address"),
    "os_other": N_("{text}"),
}

_OS_CODES = {
    errno.ENOENT: "os_enoent",
    errno.EACCES: "os_eacces",
    errno.EPERM: "os_eacces",
    errno.EISDIR: "os_eisdir",
    errno.ENOTDIR: "os_enotdir",
    errno.ENOSPC: "os_enospc",
    errno.EROFS: "os_erofs",
    errno.EEXIST: "os_eexist",
    errno.EADDRINUSE: "os_eaddrinuse",
    errno.EADDRNOTAVAIL: "os_eaddrnotavail",
}

#: Parameters whose values are words to translate: value -> English msgid.
POST_STATE_WORDS = {
    "draft": N_("draft"),
    "in_review": N_("in review"),
    "approved": N_("approved"),
    "scheduled": N_("scheduled"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}
DELIVERY_STATE_WORDS = {
    "pending": N_("waiting"),
    "sending": N_("sending"),
    "published": N_("published"),
    "failed": N_("failed"),
    "needs_review": N_("check by hand"),
    "cancelled": N_("cancelled"),
}
ROLE_WORDS = {"author": N_("an author"), "approver": N_("an approver"), "admin": N_("an admin")}
ACTION_WORDS = {
    word: word
    for word in (
        N_("write posts"),
        N_("edit posts"),
        N_("submit posts"),
        N_("approve posts"),
        N_("send posts back"),
        N_("schedule posts"),
        N_("cancel posts"),
        N_("retry deliveries"),
        N_("settle deliveries"),
        N_("settle deliveries that need review"),
        N_("resume channels"),
        N_("add accounts"),
        N_("change accounts"),
        N_("read the audit log"),
    )
}
WORD_PARAMS: dict[str, Mapping[str, str]] = {
    "state": POST_STATE_WORDS,
    "target": POST_STATE_WORDS,
    "dstate": DELIVERY_STATE_WORDS,
    "role": ROLE_WORDS,
    "needed": ROLE_WORDS,
    "action": ACTION_WORDS,
}


class Said(Protocol):
    """Anything with a code and parameters: a :class:`Notice` or a LoaError."""

    code: str
    params: dict[str, Any]


class Notice(str):
    """A message as data that still reads as its English text.

    A ``str`` so lists of warnings keep working where text is expected (joined, compared,
    logged); ``code`` and ``params`` let a face say it in the user's language.
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> Notice:
        """The notice ``code`` with ``params`` (see :data:`CATALOGUE`)."""
        self = super().__new__(cls, message(code, params, "en"))
        self.code = code
        self.params = params
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.code,), self.params


def os_reason(exc: OSError) -> Notice:
    """Why the operating system refused, as a notice (not the C library's English)."""
    code = _OS_CODES.get(exc.errno or 0)
    if code is not None:
        return Notice(code)
    return Notice("os_other", text=exc.strerror or str(exc))


def message(code: str, params: Mapping[str, Any], lang: str | None = None) -> str:
    """The message ``code`` with ``params`` in ``lang`` (the current language by default).

    An unknown code is said as written: text handed over by older code, never an error.
    """
    msgid = CATALOGUE.get(code)
    if msgid is None:
        return code
    lang = lang or language()
    values = {key: _shaped(key, value, lang) for key, value in params.items()}
    wording = translation(lang).gettext(msgid)
    try:
        return wording.format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation with a wrong placeholder must not hide the error: say it in English.
        try:
            return msgid.format(**values)
        except (KeyError, IndexError, ValueError):
            return msgid


def render(error: BaseException | str, lang: str | None = None, *, field: bool = True) -> str:
    """What a user reads for ``error``: ``where: field: message`` in ``lang``.

    ``where`` (a file and line, a CSV row) is always given; ``field`` (the flag or form
    field) only when asked, as the TUI shows it beside the field instead. An error without
    a code (not Loa's) is its own text.
    """
    code = getattr(error, "code", None)
    if not isinstance(code, str):
        return str(error)
    text = message(code, getattr(error, "params", None) or {}, lang)
    prefix = [getattr(error, "where", None)]
    if field:
        prefix.append(getattr(error, "field", None))
    parts = [p for p in prefix if p]
    return ": ".join([*parts, text])


def say(text: str, lang: str | None = None) -> str:
    """A warning or message in ``lang``: a :class:`Notice` by its code, other text as written."""
    code = getattr(text, "code", None)
    if isinstance(code, str):
        return message(code, getattr(text, "params", None) or {}, lang)
    return text


def render_details(error: BaseException, lang: str | None = None) -> list[str]:
    """The further lines under ``error`` (one per bad CSV row...), in ``lang``."""
    return [render(line, lang) for line in getattr(error, "details", None) or ()]


def _shaped(key: str, value: Any, lang: str) -> Any:
    """``value`` as it is said in ``lang``: nested messages rendered, words translated."""
    if isinstance(value, Notice | BaseException):
        code = getattr(value, "code", None)
        if isinstance(code, str):  # a reason inside a message: its words, not its place
            return message(code, getattr(value, "params", None) or {}, lang)
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return ", ".join(str(_shaped(key, item, lang)) for item in items)
    words = WORD_PARAMS.get(key)
    if words is not None and isinstance(value, str) and value in words:
        return translation(lang).gettext(words[value])
    return value
