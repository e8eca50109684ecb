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
from datetime import datetime
from typing import Any, Protocol

from content.formatting import moment
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
    "delivery_transition": N_("delivery {id} is {dstate}; '{event}' does not apply to it"),
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
    # --- content.media
    "image_format_for": N_("{format} images cannot be posted to {platform} (use JPEG or PNG)"),
    "channel_kind_unknown": N_("unknown channel kind {kind!r} (known: {known})"),
    "image_no_pixels": N_("{name}: image has no pixels ({width}x{height})"),
    "image_too_large": N_(
        "{name}: {width}x{height} is too large (at most {mp} megapixels and {side} px on a side)"
    ),
    "image_empty": N_("{name}: not a readable image (empty file)"),
    "image_unsupported": N_("{name}: unsupported image format {format} (use JPEG or PNG)"),
    "image_bomb": N_("{name}: not a readable image (too many pixels: {detail})"),
    "image_unknown": N_(
        "{name}: not a readable image (content is not JPEG, PNG, GIF, WEBP, BMP or TIFF)"
    ),
    "image_broken": N_("{name}: not a readable image ({detail})"),
    "image_cannot_fit": N_("image cannot be made to fit {platform}'s {limit} limit"),
    # --- content.media: warnings (Notice; the image is changed to fit)
    "img_to_png_or_jpeg": N_(
        "{format} is not accepted by {platform}; will be converted to PNG or JPEG"
    ),
    "img_to_jpeg": N_("{format} is not accepted by {platform}; will be converted to JPEG"),
    "img_first_frame": N_(
        "{platform} does not take animated {format}; only the first frame is sent"
    ),
    "img_resize": N_(
        "{width}x{height} will be resized to {side} px on its longest side for {platform}"
    ),
    "img_reencode": N_(
        "{size} is over {platform}'s {limit} limit; will be re-encoded to fit {limit}"
    ),
    "img_png_to_jpeg": N_("PNG of {size} is over {limit}; will be sent as JPEG to {platform}"),
    "img_small": N_(
        "{width}x{height} is small and will look blurry "
        "(at least {side} px on the short side is better)"
    ),
    # --- content.infographic
    "colour_bad": N_("{value!r} is not a colour (use #RRGGBB)"),
    "template_unknown": N_("unknown template {name!r} (known: {known})"),
    "raqm_missing": N_(
        "Pillow's RAQM text layout is unavailable (install libfribidi0); "
        "refusing to render Vietnamese text without it"
    ),
    "size_format": N_("{size!r} is not a size like 1080x1080 (named: {named})"),
    "size_range": N_("{width}x{height} is out of range (each side {min}..{max} px)"),
    "size_ratio": N_("{width}x{height} is too narrow or too wide (ratio 1:2 to 2.2:1)"),
    "template_field_unknown": N_("unknown field for template {template!r} (known: {known})"),
    "template_field_required": N_("required by template {template!r} ({label})"),
    "template_field_long": N_("{n} characters, at most {limit} fit this template"),
    "template_needs_photo": N_("template {template!r} needs a photo"),
    "template_no_photo": N_("template {template!r} does not take a photo"),
    "office_name_long": N_("office name is too long for the header"),
    "footer_long": N_("too long for the footer band"),
    "text_cannot_fit": N_(
        "text does not fit its box even at the smallest font size ({n} characters); shorten it"
    ),
    "text_cannot_fit_word": N_(
        "text does not fit its box even at the smallest font size ({n} characters; "
        "the word {word!r} alone is too wide); shorten it"
    ),
    "logo_unreadable": N_("cannot read logo {path}: {reason}"),
    # --- content.transfer (CSV import)
    "at_row": N_("{path}: row {row}"),
    "at_row_column": N_("{path}: row {row}, column {column!r}"),
    "csv_not_utf8": N_("byte {byte} is not UTF-8; save the sheet as CSV UTF-8"),
    "csv_empty": N_("empty file; expected a header row ({columns})"),
    "csv_unknown_column": N_("unknown column {name!r}; expected {columns}"),
    "csv_missing_column": N_("missing column {name!r}"),
    "csv_extra_cells": N_("more cells than columns"),
    "csv_no_rows": N_("no rows to import"),
    "import_refused_one": N_("nothing imported (1 error)"),
    "import_refused": N_("nothing imported ({n} errors)"),
    "csv_skip_queued": N_(
        "{where}: already queued as post {id} (same text, channels and time); skipped"
    ),
    "csv_skip_same": N_("{where}: the same post as row {row}; skipped"),
    # --- content.office, content.feeds, content.audit
    "channel_unknown": N_("unknown channel or group {name!r} (known: {known})"),
    "feed_location": N_("{text!r} is not an http(s) URL or a feed file"),
    "feed_no_channel": N_(
        "choose at least one channel or group for the drafts (or make no drafts)"
    ),
    "feed_max_new": N_("{n}: between 1 and {limit} drafts per poll"),
    "feed_exists": N_("{url} is already feed {id}"),
    "feed_missing": N_("feed {id} does not exist"),
    "audit_head": N_(
        "{text!r} is not a noted head; expected SEQ:HASH as `loa audit verify` prints it "
        "(the hash may be shortened to its first {n} hex digits)"
    ),
    # --- content.backup
    "backup_no_dir": N_("cannot write {path}: directory {dir} does not exist"),
    "backup_not_loa": N_("{path} is not a Loa database: {detail}"),
    "backup_missing": N_("{path}: no such file"),
    "restore_daemon": N_(
        "a daemon is running on this database ({workers}): stop it first "
        "(systemctl stop loa-daemon), then restore"
    ),
    "tool_missing": N_(
        "{tool} is not installed: install the PostgreSQL client tools "
        "(apt-get install postgresql-client) of the server's major version"
    ),
    "tool_failed": N_("{tool}: {detail}"),
    "tool_exit": N_("{tool}: exit code {code}"),
    "backup_no_revision": N_("{path} is not a Loa database (it has no schema revision)"),
    "backup_newer": N_(
        "{path} was made by a newer Loa (schema {revision}; this one knows up to {head}): "
        "upgrade Loa first"
    ),
    # --- content.db (``detail``: the database driver's own words)
    "db_url_invalid": N_("database URL {url!r} is not valid: {detail}"),
    "db_no_dir": N_("database {path}: directory {dir} does not exist"),
    "db_pg_driver": N_(
        "database URL {url}: PostgreSQL needs its driver; install it with: pip install "
        "'loa[postgres]'"
    ),
    "db_backend": N_("database URL {url}: only sqlite and postgresql are supported"),
    "db_file": N_("database {path}: {reason}"),
    "db_failed": N_("database {url}: {detail}"),
    "db_empty": N_("database {url} is empty, this Loa needs {head}: run `loa db upgrade`"),
    "db_revision": N_(
        "database {url} is at revision {revision}, this Loa needs {head}: run `loa db upgrade`"
    ),
    # --- scheduler.channels.credential_key, scheduler.observability
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
    # --- scheduler.cli (flags are named as the field: "--at: ...")
    "edit_nothing": N_(
        "nothing to change; give --text, --title, --link, --channel, --variant, --campaign or --tag"
    ),
    "posts_refused": N_("{n} of {total} posts refused and left unchanged: {ids}"),
    "at_post": N_("post {id}"),
    "none_approvable": N_("no post there can be approved (only {states} posts can)"),
    "none_cancellable": N_("no post there can be cancelled (only {states} posts can)"),
    "none_reschedulable": N_("no post there can be rescheduled (only {states} posts can)"),
    "name_posts": N_("name posts: ID ..., --series ID or --campaign NAME"),
    "no_slots": N_("the office has no posting_slots in channels.toml; give a time"),
    "no_free_slot": N_("no free posting slot in the next 14 days on {channels}"),
    "no_free_slot_any": N_("no free posting slot in the next 14 days on any channel"),
    "to_before_from": N_("--to is before --from"),
    "variant_format": N_("{value!r}: expected CHANNEL=TEXT"),
    "until_alone": N_("--until needs --repeat-days or --repeat-weekdays"),
    "repeat_needs_until": N_("a repeat needs --until YYYY-MM-DD"),
    "weekday_unknown": N_("unknown weekday {name!r}; expected {known}"),
    "limit_negative": N_("--limit must be 0 (all) or more"),
    "channel_not_configured": N_("no channel {id!r} in channels.toml; channels: {known}"),
    "channel_not_zalo": N_("channel {id!r} is not a Zalo OA channel"),
    "demo_db_url": N_("the demo makes a fresh SQLite file; give a path, not a URL"),
    "port_range": N_("{port}: expected a port number between {low} and 65535"),
    "cannot_listen": N_("cannot listen on {host}:{port}: {reason}"),
    "no_media_table": N_("channels.toml has no [media] table (directory, public_base_url)"),
    "no_media_table_dir": N_(
        "channels.toml has no [media] table; pass --dir DIR or add [media] "
        "(directory, public_base_url)"
    ),
    "no_directory": N_("{path}: no such directory"),
    "not_a_directory": N_("{path}: not a directory"),
    "media_dir_unusable": N_("[media] directory {path}: {reason}"),
    "render_no_template": N_("choose a template with --template NAME (see --list)"),
    "render_no_output": N_("give an output file with -o FILE.png"),
    "render_suffix": N_("{path}: use a .png or .jpg file name (or --for facebook|zalo_oa)"),
    "field_format": N_("{text!r} is not KEY=VALUE"),
    "field_twice": N_("field {name!r} given twice"),
    "seed_format": N_("expected an integer, got {text!r}"),
    "latency_format": N_("expected A-B in milliseconds, got {text!r}"),
    "fail_rate_format": N_("expected a fraction between 0 and 1, got {text!r}"),
    "seed_conflict": N_("conflicts with the seed in --setup; set it in one place"),
    "passwords_differ": N_("the two passwords differ; nothing changed"),
    "public_url_format": N_("{url!r}: expected http(s)://host[:port][/path]"),
    "web_no_as": N_("loa web has no --as: each browser signs in with its own account"),
    "allowed_host_format": N_("{text!r}: expected a host name or HOST:PORT"),
    "web_no_account": N_(
        "no account can sign in to loa web: add one with 'loa users add NAME --role admin', "
        "then give it a password with 'loa users passwd NAME'"
    ),
    "web_no_textual_serve": N_("textual-serve is not installed; install Loa with its dependencies"),
    "web_any_address": N_(
        "listening on {host}: browsers must use a name given with --public-url or "
        "--allowed-host; any other Host is refused"
    ),
    "web_no_tls": N_(
        "serving on {host} without TLS: passwords cross the network readable; put an https "
        "reverse proxy in front (--public-url https://...)"
    ),
    # --- scheduler: daemon, demo, mail (``answer``: the SMTP server's own words), reports
    "daemon_running": N_(
        "another loa daemon ({owner}) is already running on {database}; SQLite allows one "
        "daemon: stop it, or move to PostgreSQL to run several"
    ),
    "demo_not_demo": N_(
        "{path}: this database was not made by `loa demo`; the demo never replaces it. "
        "Give the demo a new file (the default is loa-demo.db)"
    ),
    "demo_not_demo_posts": N_(
        "{path}: this database was not made by `loa demo` and holds {n} posts; the demo "
        "never replaces it. Give the demo a new file (the default is loa-demo.db)"
    ),
    "smtp_gave_up": N_(
        "SMTP server {server} did not accept the message after {n} attempts: {answer}"
    ),
    "smtp_recipients": N_("SMTP server {server} refused every recipient: {answer}"),
    "smtp_login": N_("SMTP server {server} refused the login of {user!r}: {answer}"),
    "smtp_answer": N_("SMTP server {server} answered {answer}"),
    "smtp_other": N_("SMTP server {server}: {answer}"),
    "smtp_tls": N_("SMTP server {server}: TLS failed: {answer}"),
    "smtp_plain_password": N_(
        "SMTP server {server}: refusing to send the password without encryption; "
        'set security = "starttls" or "tls" in [email]'
    ),
    "smtp_password_ascii": N_(
        "SMTP server {server}: the password from {source} is not ASCII; smtplib cannot send it"
    ),
    "week_not_ended": N_(
        "week {week} has not ended yet (it ends {end}); use --force to send a partial summary"
    ),
    "no_email_table": N_("{path}: no [email] table; add one to send reports"),
    "week_format": N_("{text!r} is not an ISO week; expected e.g. 2026-W48"),
    "day_before": N_("{last} is before {first}"),
    "media_store_write": N_("media store {path}: cannot write {name}: {reason}"),
    # --- content.inbox, content.sealed
    "thread_not_found": N_("no thread {thread} (see: loa inbox list)"),
    "inbox_state": N_("thread {thread} is {tstate}; {taction} it is not allowed"),
    "inbox_withdrawn": N_(
        "thread {thread}: the citizen withdrew his consent and his data was deleted; he cannot "
        "be answered here until he writes again"
    ),
    "inbox_purged": N_(
        "thread {thread}: the citizen's data was deleted after the retention period; he cannot "
        "be answered here until he writes again"
    ),
    "inbox_tag": N_("unknown tag {tag!r}; expected one of: {known}"),
    "inbox_assignee": N_(
        "{user} cannot take thread {thread}: no active account of that name sees {channel} "
        "(see: loa users list)"
    ),
    "inbox_unit": N_("{unit!r} is not a unit holding {channel}; expected one of: {known}"),
    "inbox_assign_whom": N_("name an officer (--to) or a unit (--unit) for thread {thread}"),
    "reply_empty": N_("the reply to thread {thread} is empty"),
    "reply_too_long": N_("the reply has {length} characters; {tkind} takes at most {limit}"),
    "reply_mode": N_("thread {thread} is {tkind}: a reply there is {rmodes}, not {rmode}"),
    "reply_target": N_("thread {thread} has no comment of the citizen to answer"),
    "reply_target_id": N_("thread {thread} has no comment {target_id} of the citizen to answer"),
    "private_reply_used": N_(
        "thread {thread}: comment {target_id} already had its one private reply; answer "
        "publicly, or wait for the citizen to write in Messenger"
    ),
    "attachment_not_found": N_("no attachment {attachment} (see: loa inbox show THREAD)"),
    "attachment_not_kept": N_(
        "attachment {attachment} was not kept ({astate}: {problem}); only the platform's "
        "description of it remains"
    ),
    "attachment_minor": N_(
        "attachment {attachment} was sent by a citizen under 18: only an approver may export it"
    ),
    "inbox_not_wired": N_(
        "the citizens' inbox is not available in this window: open it with loa tui, which "
        "reads channels.toml and the credential key"
    ),
    "seal_key": N_(
        "citizens' data in the database cannot be decrypted with this key (LOA_CREDENTIAL_KEY "
        "or the key file is not the one it was written with)"
    ),
    # --- scheduler.inbox_reply, scheduler.webhooks (``said``: the platform's own code and words)
    "reply_window_closed": N_("{platform} refused the reply to thread {thread}: {rule} ({said})"),
    "reply_private_used": N_(
        "{platform} refused the private reply to thread {thread}: the comment already had its "
        "one private reply; answer publicly ({said})"
    ),
    "citizen_unavailable": N_(
        "{platform} refused the reply to thread {thread}: the citizen cannot be reached (he "
        "blocked the Page or OA, is inactive, or restricted messages) ({said})"
    ),
    "reply_refused": N_("{platform} refused the reply to thread {thread} ({said})"),
    "reply_unknown": N_(
        "{platform} did not answer the reply to thread {thread}; it may have been sent: see "
        "`loa inbox show {thread}` before sending it again ({said})"
    ),
    "reply_failed": N_(
        "the reply to thread {thread} was not sent ({said}); it is kept in the thread as failed"
    ),
    "webhooks_unconfigured": N_(
        "no channel's webhooks can be verified: reference webhook_secret (the OA Secret Key) on "
        "Zalo channels, or app_secret and verify_token on Facebook channels, in {path}"
    ),
    # --- scheduler.config (``where``: channels.toml:LINE: key; ``detail``: the parser's words)
    "secret_env_unset": N_("environment variable {name} is not set"),
    "config_not_found": N_("{path}: configuration file not found"),
    "config_not_found_hint": N_("{path}: configuration file not found; pass --config PATH"),
    "toml_invalid": N_("not valid TOML: {detail}"),
    "config_unknown_table": N_("unknown table; expected one of {known}"),
    "config_no_office": N_("missing [office] table (name, timezone, ...)"),
    "config_no_channels": N_("no channels; add a [channels.ID] table"),
    "channel_id_format": N_("channel ids use lowercase letters, digits, - and _"),
    "channel_table": N_("expected a table [channels.ID]"),
    "kind_missing": N_("missing; expected {known}"),
    "kind_unknown": N_("unknown kind {kind!r}; expected {known}"),
    "secret_inline": N_(
        'inline secrets are not allowed; write {key} = {{ env = "NAME" }} '
        'or {key} = {{ file = "path" }}'
    ),
    "secret_ref_format": N_('expected {{ env = "NAME" }} or {{ file = "path" }}, nothing else'),
    "secret_file_missing": N_("secrets file {file} does not exist"),
    "secret_file_mode": N_(
        "secrets file {file} is readable by group or others (mode {mode}); run: chmod 600 {file}"
    ),
    "groups_table": N_("expected a table of name = [channel ids]"),
    "group_is_channel": N_("group {name!r} has the same name as a channel"),
    "group_list": N_("expected a list of channel ids"),
    "group_unknown_channel": N_("unknown channel {name!r}; expected one of {known}"),
    "expected_table": N_("expected a table"),
    "key_missing": N_("missing; this key is required"),
    "key_missing_doc": N_("missing; this key is required ({doc})"),
    "key_unknown": N_("unknown key; expected one of {known}"),
    "value_format": N_("{value!r} is not valid; expected {hint}"),
    "value_gt": N_("{value!r} is too small: it must be more than {gt}"),
    "value_ge": N_("{value!r} is too small: it must be at least {ge}"),
    "value_lt": N_("{value!r} is too large: it must be less than {lt}"),
    "value_le": N_("{value!r} is too large: it must be at most {le}"),
    "value_int": N_("{value!r} is not a whole number"),
    "value_number": N_("{value!r} is not a number"),
    "value_bool": N_("{value!r} is not true or false"),
    "value_text": N_("{value!r} is not text (put it in quotes)"),
    "value_list": N_("{value!r} is not a list (write it in [ ])"),
    "value_too_long": N_("{value!r} is too long: at most {max_length} characters"),
    "value_choice": N_("{value!r} is not allowed; expected {expected}"),
    "value_other": N_("{detail} (got {value!r})"),
    "timezone_unknown": N_("unknown time zone {value!r}; expected e.g. Asia/Ho_Chi_Minh"),
    # --- scheduler.cli.daemon
    "metrics_with_once": N_("serves a running daemon; it cannot go with --once"),
    # --- content.ui.composer (its form's own checks; the field names where)
    "repeat_no_until": N_("Give the date of the last repetition."),
    "repeat_no_weekday": N_("Choose at least one weekday."),
    "repeat_no_days": N_("Type how many days apart (1 or more)."),
    "photo_not_uploaded": N_("{name} is not one of your uploaded photos: upload it first."),
    # --- files
    "file_unreadable": N_("{path}: cannot read: {reason}"),
    "file_unwritable": N_("cannot write {path}: {reason}"),
    "no_group": N_("{variable}={group}: there is no such group on this machine"),
    "not_in_group": N_(
        "cannot give {path} to the group {group} ({variable}): "
        "the user running Loa is not a member of it"
    ),
    # --- content.units, scheduler.config: the unit tree, targets and [reporting]
    "unit_id_format": N_("unit ids use lowercase letters, digits, - and _"),
    "unit_name_taken": N_("unit {name!r} has the same name as a channel or group"),
    "unit_channel_twice": N_(
        "channel {channel!r} is already in unit {other!r}; a channel belongs to one unit"
    ),
    "unit_parent_unknown": N_("unknown parent {name!r}; expected one of {known}"),
    "unit_cycle": N_("the parents go round in a circle: {cycle}"),
    "quota_unknown_unit": N_("unknown unit {name!r}; expected one of {known}"),
    "deadline_format": N_("{text!r} is not a day of the year; expected MM-DD, e.g. 09-05"),
    "no_units": N_(
        "{path} describes no units: add a [units.ID] table for the province and each ward "
        "or commune (name, channels, parent)"
    ),
    "week_or_days": N_("give either --week or --from and --to, not both"),
    "from_and_to": N_("give both --from and --to"),
    "pdf_no_libreoffice": N_(
        "a PDF needs LibreOffice (soffice), which is not installed: install libreoffice-writer, "
        "or write --format docx and print it to PDF from a word processor"
    ),
    "pdf_failed": N_("LibreOffice could not convert the report to PDF: {detail}"),
    # --- content.calendar_campaigns, scheduler.config: the movement's calendar
    "calendar_date": N_("{text!r} is not a day of the year; expected MM-DD, e.g. 08-19"),
    "calendar_text_empty": N_("the text is empty; write what each unit's post says"),
    "calendar_placeholder": N_("unknown placeholder {name}; expected {known}"),
    "calendar_units_empty": N_('no unit: list unit ids, or ["*"] for every unit'),
    "calendar_name": N_("an entry's name has 1 to 100 characters, without spaces at its ends"),
    "calendar_unknown_unit": N_('unknown unit {name!r}; expected one of {known}, or "*"'),
    "calendar_template": N_("no infographic template {name!r} (see: loa render --list)"),
    "calendar_title_long": N_(
        "with the name of unit {unit} the title has {n} characters; {channel} takes at most "
        "{limit}: shorten the title"
    ),
    "calendar_entry_unknown": N_("no calendar entry {name!r}; expected one of {known}"),
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
        N_("read citizens' threads"),
        N_("assign citizens' threads"),
        N_("assign threads to others"),
        N_("tag citizens' threads"),
        N_("close citizens' threads"),
        N_("answer citizens"),
    )
}
#: The citizens' inbox: a thread's state, what was refused on it, its kind, reply modes and
#: the platform rule that closed a reply window (content.inbox, scheduler.inbox_reply).
THREAD_STATE_WORDS = {
    "open": N_("open"),
    "assigned": N_("assigned"),
    "answered": N_("answered"),
    "closed": N_("closed"),
}
THREAD_ACTION_WORDS = {
    "assign": N_("assigning"),
    "close": N_("closing"),
    "answer": N_("answering"),
}
THREAD_KIND_WORDS = {
    "zalo_chat": N_("a Zalo chat"),
    "messenger": N_("a Messenger conversation"),
    "comments": N_("comments under a post"),
}
REPLY_MODE_WORDS = {
    "message": N_("a message"),
    "public": N_("a public reply"),
    "private": N_("a private reply"),
}
REPLY_RULE_WORDS = {
    "zalo_7d": N_("an OA may answer only within 7 days of the citizen's last interaction"),
    "messenger_24h": N_(
        "a Page may answer only within 24 hours of the citizen's last message (7 days with "
        "the Human Agent feature)"
    ),
    "private_reply_7d": N_("a comment may be answered privately only within 7 days"),
    "window": N_("the platform's reply window has closed"),
}
#: What a config value should look like (scheduler.config, a value not matching its pattern).
HINT_WORDS = {
    "page_id": N_("the Page's numeric id"),
    "oa_id": N_("the OA's numeric id"),
    "app_id": N_("the Zalo app's numeric id"),
    "url": N_("an http(s) URL"),
    "graph_version": N_("a Graph API version like v26.0"),
    "colour": N_("a colour like #b71c1c"),
    "other": N_("a different format"),
}
WORD_PARAMS: dict[str, Mapping[str, str]] = {
    "hint": HINT_WORDS,
    "state": POST_STATE_WORDS,
    "target": POST_STATE_WORDS,
    "dstate": DELIVERY_STATE_WORDS,
    "role": ROLE_WORDS,
    "needed": ROLE_WORDS,
    "action": ACTION_WORDS,
    "states": POST_STATE_WORDS,
    "tstate": THREAD_STATE_WORDS,
    "taction": THREAD_ACTION_WORDS,
    "tkind": THREAD_KIND_WORDS,
    "rmode": REPLY_MODE_WORDS,
    "rmodes": REPLY_MODE_WORDS,
    "rule": REPLY_RULE_WORDS,
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


def os_reason(exc: BaseException) -> Notice:
    """Why the operating system refused, as a notice (not the C library's English).

    An errno Loa knows is said in the user's language; anything else (another errno, a
    library's ValueError) as the system said it.
    """
    number = exc.errno if isinstance(exc, OSError) else None
    code = _OS_CODES.get(number or 0)
    if code is not None:
        return Notice(code)
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return Notice("os_other", text=text)


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
    where = getattr(error, "where", None)
    # A place may be a notice too ("FILE: row 3" says "row" in the user's language).
    prefix = [say(where, lang) if isinstance(where, str) else None]
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
    if isinstance(value, datetime):  # an office-time moment: as it is written in ``lang``
        return moment(value, lang)
    words = WORD_PARAMS.get(key)
    if words is not None and isinstance(value, str) and value in words:
        return translation(lang).gettext(words[value])
    return value
