"""Every text the bridge shows to people, in one place so they read consistently."""

from __future__ import annotations

SEND_FAILED = "This reply was not delivered to {contact}: {reason}"
SEND_GAVE_UP = "This reply could not be sent to {contact} after several tries: {reason}"
POST_GAVE_UP = "A message for this case could not be shown here: {reason}"
FILES_NOT_SENT = "Files are not sent by SMS; only the text of a thread reply reaches the contact."
TOO_LONG = (
    "Not sent: this reply needs {segments} SMS segments ({encoding}), more than the limit "
    "of {cap}. {why}Shorten it and send again."
)
TOO_LONG_UCS2 = "These characters forced the longer UCS-2 encoding: {chars}. "
EMPTY_REPLY = "Not sent: the reply has no text."
NUMBER_NOT_CONFIGURED = (
    ":warning: {number} is not one of this bridge's numbers (VONAGE_NUMBERS); "
    "replies will still be sent from it."
)
PREVIOUS_CASE = "Previous case: {link}"
BAD_CASE_REF = "Expected a case reference such as #12, not {given}."
UNKNOWN_CASE = "There is no case #{ref}."
ALREADY_CLOSED = "Case #{ref} is already closed."
ALREADY_OPEN = "Case #{ref} is already open."
CLOSED_NOTE = (
    ":white_circle: Case closed by <@{user}>. The next text from this number opens a new case."
)
CLOSED_DONE = "Closed case #{ref}."
REOPENED_NOTE = ":large_green_circle: Case reopened by <@{user}>."
REOPENED_DONE = "Reopened case #{ref}."
ASSIGNED_NOTE = "<@{user}> assigned this case to <@{assignee}>."
UNASSIGNED_NOTE = "<@{user}> unassigned this case."
ASSIGNED_DM = "<@{user}> assigned SMS case #{ref} to you: {link}"
ASSIGNED_DONE = "Case #{ref} is now assigned to {who}."
ALREADY_ASSIGNED = "Case #{ref} is already assigned to {who}."
PARTS_MISSING = " [incomplete: part {missing} of {total} never arrived]"
EMPTY_INBOUND = "[empty message]"
# A contact's file that is not shown in the thread, and why (the text still is).
MEDIA_NOT_SHOWN = ":paperclip: The contact sent {what}, not shown here: {reason}."
MEDIA_WHAT = {
    "image": "a picture",
    "audio": "a sound recording",
    "video": "a video",
    "file": "a file",
    "vcard": "a contact card",
}
# A staff member's file, as it reaches the contact (or does not).
FILE_AS_LINK = (
    ":link: The file went to the contact as a link in an SMS ({why}); "
    "the link works for {hours} hours."
)
FILE_AS_LINK_WHY = {
    "type": "only JPEG, PNG and GIF pictures go as MMS",
    "country": "MMS reaches only US and Canadian numbers",
    "api": "MMS needs a Messages API application (VONAGE_APPLICATION_ID)",
}
FILE_NOT_SENT = ":paperclip: The file was not sent to the contact: {reason}."
NO_PUBLIC_URL = "the bridge has no public address to link it from (PUBLIC_URL)"
MEDIA_NOT_FETCHED = "it could not be fetched from Vonage ({reason})"
# How the thread shows a contact's email (its subject when it changes).
EMAIL_MARK = "\u2709\ufe0f"
EMAIL_AUTOMATED_MARK = "\u2709\ufe0f (automatic reply, not answered automatically)"
EMAIL_SUBJECT = "{mark} Subject: {subject}"
EMAIL_OFF = "this reply was to go by email, but SMTP_URL is not set"
# A contact who writes only by email, where a number would be shown.
EMAIL_CONTACT_UNKNOWN = "an email contact"
EMAIL_ONLY_LINE = "none: by email"
# A case reachable both ways: how staff replies go, and switching them.
REPLY_CHANNEL_NAMES = {"email": "email", "sms": "SMS"}
REPLIES_GO = ":arrow_right: Replies go by {channel} to {address}"
REPLIES_SWITCHED_NOTE = (
    "<@{user}> switched replies to {channel}. When the contact next writes, replies go "
    "back to the way they wrote."
)
REPLIES_SWITCHED = "Replies in case #{ref} now go by {channel}."
REPLIES_ALREADY = "Replies in case #{ref} already go by {channel}."
REPLIES_ONE_WAY = (
    "Case #{ref} has no {missing} to reply to: replies go the one way the contact can be reached."
)
CANNOT_RECALL = (
    "That reply was already sent by SMS; a text cannot be recalled or edited. "
    "Send a correction as a new reply if needed."
)
OPTED_OUT = (
    "Not sent: {contact} has opted out of texts from {number} (they texted STOP). "
    "They can opt back in by texting START."
)
OPT_OUT_CONFIRMATION = (
    "You have been unsubscribed and will get no more texts from us. Text START to subscribe again."
)
OPT_IN_CONFIRMATION = "You are subscribed again. Text STOP to opt out."
OPT_OUT_NOTE = (
    ":no_bell: The contact texted {word} and is opted out of texts from {number}; "
    "replies will not be sent."
)
OPT_IN_NOTE = ":bell: The contact texted {word} and can receive texts again."
BLOCKED_NOTE = (
    ":no_bell: The carrier reports that the contact blocks our texts ({reason}); "
    "replies will not be sent until they text START."
)
AUTOMATED = ":robot_face: Automated reply sent: {text}"
CONTACT_NAME_REQUIRED = "Give the contact a name."
UNKNOWN_COMMAND = "`{verb}` is not a `/smschat` command."
BAD_ASSIGNEE = "Expected `me`, `nobody` or a person such as @dana, not {given}."
UNESCAPED_MENTION = (
    "Slack sent “{given}” as plain text, so SMS Chat cannot tell who that is: the app's "
    "manifest must set `should_escape: true` for /smschat (update the app with the manifest "
    "`smschat-bridge manifest` prints). Meanwhile, use the case header's Assign… menu."
)
MOVE_NOT_A_CASE_MESSAGE = "Only texts in an SMS case thread can be moved to a new case."
MOVE_ONLY_INBOUND = "Only a contact's text can be moved to a new case, not a staff message."
MOVED_NOTE = ":arrow_right: <@{user}> moved a text from this case to case #{ref}."
MOVED_DONE = "Moved the text to new case #{ref}."
MOVE_COMMENT = ":memo: <@{user}>: {comment}"
NEW_USAGE = (
    "Usage: `/smschat new <number or contact name> <text>`, e.g. "
    "`/smschat new +44 7700 900123 Your results are ready`"
)
NAME_AMBIGUOUS = "Several contacts are called {name}; use their number instead."
NO_SUCH_CONTACT = "No contact matches “{words}”, and it does not start with a phone number."
NOT_OUR_NUMBER = "{number} is not one of this bridge's numbers."
STARTED_DONE = "Sending your text in case #{ref}."
NUMBER_DOUBT = " Note: {reason}, so it may reach nobody; sent anyway, in case it is in use."
STARTED = ":outbox_tray: <@{user}> texted: {text}"
HELP = "\n".join(
    [
        "*`/smschat` commands*",
        "• `/smschat new +44 7700 900123 Your results are ready` — text a number (or a contact"
        " by name) first; `/smschat new` alone opens a form",
        "• `/smschat close #12` — close case #12 (the next text from that number opens a new case)",
        "• `/smschat reopen #12` — reopen case #12",
        "• `/smschat assign #12 @dana` — assign case #12 to Dana (`me` for yourself, `nobody` to"
        " unassign)",
        "• `/smschat search bob` — find cases by name, email, any part of a number, or #12"
        " (filters: `status:open|closed|all`, `mine`, `unassigned`, `unread`, `page:2`)",
        "• `/smschat list [open|closed|mine|unassigned|unread]` — the cases, newest activity first",
        "• `/smschat settings` — the chat settings (admins); `/smschat settings log` shows who"
        " changed what",
        "• `/smschat usage [today|week|month|2026-03]` — texts and segments in, out, forwarded"
        " and automated, per number and per staff member",
        "• `/smschat forward` — forwarding schedules: who is told of incoming texts (by direct"
        " message or SMS) on which days and hours",
        "• `/smschat broadcast to:tag=volunteers [from:+14155550100] [at:2026-12-02 09:00]"
        " Your text` — one text to every contact with that property (or `to:` numbers);"
        " replies open cases",
        "• `/smschat mute #12`, `/smschat unmute #12` — no notices, broadcasts, forwarding or"
        " auto-responses for a case's texts",
        "• `/smschat delete #12`, `/smschat erase +44 7700 900123` — delete a case, or"
        " everything about a person (admins; the answer shows what goes first)",
        "• `/smschat me phone +44 7700 900555` — the phone **Call** rings; `/smschat call #12`"
        " rings it and connects you to case #12's contact",
        "• `/smschat help` — this list",
        "In a case thread, start a message with the notes prefix (default `//`) to keep it"
        " internal.",
    ]
)
GUESTS_MAY_NOT = (
    "SMS conversations hold contacts' personal data; workspace guests cannot use SMS Chat."
)
OUTSIDERS_MAY_NOT = (
    "SMS conversations hold contacts' personal data; only people of this workspace can use "
    "SMS Chat."
)
WORKSPACE_UNKNOWN = (
    "SMS Chat cannot check who you are right now (Slack did not answer); try again in a minute."
)
NOT_SENT_OUTSIDER = (
    "Not sent: only people of this workspace can text contacts; your reply stays in Slack."
)
UNREADABLE_REQUEST = "That request could not be read, so nothing was done: {reason}"
MEMBERS_ONLY = (
    "Only members of the SMS inbox channels (and workspace admins) can use SMS Chat. "
    "Ask to be added to the inbox channel."
)
BAD_FILTER = (
    "`{word}` is not a filter: use status:open, status:closed, status:all, mine, unassigned, "
    "unread or page:2."
)
NOTHING_FOUND = "No case matches."
FOUND_HEADER = "*{total} case(s)* — page {page} of {pages}"
FOUND_MORE = "More: add `page:{next}` to the command."
FOUND_LINE = "• <{link}|#{ref}> {contact} · {status} · {assignee} · last activity {when}"
SEARCH_USAGE = (
    "Usage: `/smschat search <name, email, number or #12> [status:open|closed|all] [mine] "
    "[unassigned] [unread] [page:2]`"
)
ADMINS_ONLY = (
    "Only workspace admins and owners, and the people named in the chat settings, can change "
    "the chat settings."
)
SETTINGS_SAVED = "Saved. Changed: {keys}. Every instance applies them within a few seconds."
SETTINGS_UNCHANGED = "Nothing was changed."
SETTINGS_LOG_HEADER = "*Chat settings: latest changes*"
SETTINGS_LOG_LINE = "• {when} <@{user}> `{key}`: {old} → {new}"
SETTINGS_LOG_EMPTY = "The chat settings have not been changed since the bridge was set up."
SETTINGS_USAGE = (
    "Usage: `/smschat settings` opens the chat settings (admins); "
    "`/smschat settings log` shows the latest changes."
)
COUNTER_WARNING = ":warning: You have sent {count} texts today; the team's daily limit is {limit}."
HOME_TIP = "Opening a case from here marks it read for you. `/smschat help` lists every command."
HOME_NONE = "_None._"
MARKED_READ = "Case #{ref} is marked read."
USAGE_USAGE = (
    "Usage: `/smschat usage [today|week|month|YYYY-MM]`, e.g. `/smschat usage week` or "
    "`/smschat usage 2026-03`; days are those of the TIME_ZONE setting."
)
USAGE_TODAY = "today, {day:%a %d %b %Y}"
USAGE_WEEK = "this week, {first:%a %d %b} – {last:%a %d %b %Y}"
USAGE_MONTH = "{first:%B %Y}"
USAGE_HEADER = "*SMS usage: {period}* ({time_zone})"
USAGE_ALL = "*All our numbers*"
USAGE_KINDS = {
    "inbound": "Inbound",
    "outbound": "Sent by staff",
    "forwarded": "Forwarded",
    "automated": "Automated",
    "broadcast": "Broadcasts",
}
USAGE_LINE = "• {what}: {figures}"
USAGE_FIGURES = "texts {texts} · segments {segments}"
USAGE_NOT_RECORDED = "not recorded"
USAGE_PARTLY_RECORDED = "{segments} (not recorded for {unmeasured} texts)"
USAGE_UNDELIVERED = " · undelivered {count}"
USAGE_NOT_SENT = " · not sent {count}"
USAGE_NUMBER = "*From and to {number}*"
USAGE_STAFF = "*Sent by each staff member*"
USAGE_NO_STAFF = "• nobody sent a text"
USAGE_STAFF_LINE = "• <@{user}>: {figures}"
USAGE_EMAIL = "*Email* (apart from the texts: an email costs no segments)"
USAGE_EMAIL_FIGURES = "emails {emails}"
USAGE_STAFF_EMAILS = " · emails {emails}"
USAGE_FOOTNOTE = (
    "_Counted: every text received and every text handed to the carrier (undelivered ones "
    "too). Not sent: refused by the bridge or not taken by the carrier. Staff notes are "
    "never sent._"
)
USAGE_EMAIL_FOOTNOTE = "_Emails: all received and those the mail server took; the rest not sent._"
FORWARD_NAME_REQUIRED = "Give the schedule a name."
FORWARD_NAME_TOO_LONG = "Keep the name within {max} characters."
FORWARD_NOT_A_USER = "Choose people from the list."
FORWARD_TOO_MANY_USERS = "Choose at most {max} people."
FORWARD_TOO_MANY_NUMBERS = "Give at most {max} phone numbers."
FORWARD_OUR_NUMBER = (
    "{number} is one of this bridge's own numbers; texts cannot be forwarded to it."
)
FORWARD_NO_RECIPIENTS = "Choose at least one person, or give a phone number below."
FORWARD_NO_DAYS = "Tick at least one day."
FORWARD_TIME_REQUIRED = "Pick a time."
FORWARD_END_BEFORE_START = (
    "The end ({end}) must be after the start ({start}). A window past midnight is two "
    "schedules: one until 23:59 and one from 00:00."
)
FORWARD_UNKNOWN_ZONE = "“{given}” is not a time zone; use a name such as Europe/London."
FORWARD_TOO_MANY = "There are already {max} schedules; change or delete one instead."
FORWARD_GONE = "This schedule was deleted meanwhile; close this form and add it again."
FORWARD_FROM_NAMED = "{name} ({number})"
FORWARD_SMS = "Fwd from {contact}: {text}"
FORWARD_EMAIL_SMS = "Email from {address}: {about}"  # about: the subject, then the words
FORWARD_EMAIL_PARTS = " - "  # not a dash: GSM-7 keeps a copy at 160 characters a segment
FORWARD_DM = ":incoming_envelope: SMS from *{contact}* to {our_number} · {cases}\n>>> {text}"
FORWARD_EMAIL_DM = ":incoming_envelope: Email from *{contact}* · {cases}\n>>> {text}"
FORWARD_LIST_TITLE = "Forwarding schedules"
FORWARD_LIST_INTRO = (
    "While a schedule is active, every text that comes in is sent on to its people "
    "(a direct message with a link to the thread) and phones (a forwarded SMS)."
)
FORWARD_LIST_EMPTY = "No schedules yet."
FORWARD_ACTIVE = ":large_green_circle: active now"
FORWARD_INACTIVE = ":white_circle: not active now"
FORWARD_SCHEDULE_LINE = "*{name}* · {state}\n{days} · {start}–{end} ({time_zone})\nTo: {to}"
FORWARD_DELETE_CONFIRM = "Delete the schedule “{name}”? Texts will no longer be forwarded by it."
FORWARD_FORM_TITLE = "Forwarding schedule"
FORWARD_END_HINT = (
    "The end minute is included: 00:00–23:59 is the whole day. The end must be after the "
    "start; for a night shift past midnight, add two schedules (22:00–23:59 and 00:00–06:00)."
)
FORWARD_NUMBERS_HINT = "Comma separated; these phones get a forwarded SMS."
FORWARD_ZONE_HINT = "An IANA time zone name, such as Europe/London or America/New_York."

WAITING_FOR_FIX = (
    ":warning: SMS Chat is waiting: {reason}. {fix} Texts waiting for it follow by "
    "themselves once that is fixed; `smschat-bridge doctor` checks the whole set-up."
)
FIX_INVITE = "Invite the app to the inbox channel (`/invite @SMS Chat` in it)."
FIX_CHANNEL = "Check the channel ids in SLACK_CHANNEL and NUMBER_CHANNELS."
FIX_SCOPES = "Add the missing scopes to the app (update it from its manifest) and reinstall it."
FIX_TOKEN = "Check SLACK_BOT_TOKEN (the app may have been uninstalled) and restart."
JOBS_GAVE_UP = (
    ":x: SMS Chat gave up {count} job(s); the newest: {kind}{where} ({reason}). List them with "
    "`smschat-bridge jobs list --dead`; put them back with `smschat-bridge jobs retry --dead` "
    "or Retry on the app's Home tab."
)
DEAD_IN_CASE = " in case #{ref}"
HOME_DEAD_JOBS = (
    ":x: *{count} job(s) were given up* (texts not shown or not sent). Retry puts them back in "
    "order; `smschat-bridge jobs list --dead` says what each is."
)
CLOSED_NOT_SENT = (
    "Not sent: this case is closed, so the contact would not see a reply here. Reopen it to "
    "send this one, or text them again with `/smschat new`."
)
REOPENED_AND_SENT = "Reopened case #{ref}; sending your reply."
NOT_HELD = "That reply is no longer waiting to be sent."
TEXTS_FOR_ASSIGNEE = "{count} new text(s) from {contact} in case #{ref}, assigned to you: {link}"
BROADCAST_USAGE = (
    "`/smschat broadcast` alone opens the form; inline: "
    "`/smschat broadcast to:tag=volunteers [from:+14155550100] Your text`."
)
BROADCAST_NO_AUDIENCE = "Say who gets it: `to:tag=volunteers` (any contact property) or numbers."
BROADCAST_UNKNOWN_PROPERTY = "No contact has a “{key}” property."
BROADCAST_EMPTY_AUDIENCE = "Nobody is in that audience: no contact has {key}={value}."
BROADCAST_ALL_OPTED_OUT = "Everyone in that audience opted out of texts from {number}."
BROADCAST_NO_TEXT = "The message is empty."
BROADCAST_TOO_LONG = (
    "The message needs {segments} SMS segments with the opt-out line ({encoding}); "
    "the most allowed is {cap}."
)
BROADCAST_PAST = "{at} is in the past; give a later time, or none to send now."
BROADCAST_BAD_TIME = "“{given}” is not a time such as 2026-12-02 09:00 (in {zone})."
BROADCAST_SUMMARY = (
    "{recipients} recipients, {skipped} opted out and skipped, {segments} segment(s) each, "
    "about {total} segments"
)
BROADCAST_QUEUED = "Broadcast {ref} queued: {summary}; {when}."
BROADCAST_NOW = "sending now"
BROADCAST_AT = "sending from {at}"
BROADCAST_POST = ":mega: *Broadcast {ref}* from {number} by {author}\n{quoted}"
BROADCAST_COUNTS = (
    "{state} · {recipients} recipients · queued {queued} · sent {sent} · delivered {delivered}"
    " · failed {failed} · not sent {not_sent} · replied {replied} · opted out {opted_out}"
    " (skipped {skipped})"
)
BROADCAST_STATES = {"sending": "Sending", "done": "All handed over", "cancelled": "Cancelled"}
BROADCAST_CANCELLED_REASON = "the broadcast was cancelled"
BROADCAST_CANCELLED = "Broadcast {ref} cancelled by {user}: {unsent} text(s) not sent."
BROADCAST_ALREADY_OVER = "Broadcast {ref} was already {state}."
BROADCAST_REPLY_NOTE = ":mega: This contact was texted by {broadcast}."
BROADCAST_CLI_AUTHOR = "the command line"
SCHEDULED_WHEN = "{at} ({zone})"
SCHEDULED_NOTE = ":alarm_clock: <@{user}> scheduled this text for {when}; it is not sent yet."
SCHEDULED_TELL = "Your text goes at {when}."
SCHEDULED_DONE = "Scheduled in case #{ref} for {when}."
SCHEDULED_GONE = "That text is no longer waiting: it was sent or cancelled."
SCHEDULED_CANCELLED = ":no_entry_sign: <@{user}> cancelled the scheduled text; it was not sent."
SCHEDULED_CANCELLED_REASON = "cancelled by {user} before its time"

# Conversation controls: mute, delete, erase.
MUTED_NOTE = (
    ":no_bell: <@{user}> muted this case: its texts still arrive here, nobody else is told."
)
UNMUTED_NOTE = ":bell: <@{user}> unmuted this case."
MUTED_DONE = "Muted case #{ref}."
UNMUTED_DONE = "Unmuted case #{ref}."
ALREADY_MUTED = "Case #{ref} is already muted."
NOT_MUTED = "Case #{ref} is not muted."
DELETE_ADMINS_ONLY = "Only admins (those who may change the chat settings) can delete or erase."
DELETE_CONFIRM_TITLE = "Delete case #{ref}?"
DELETE_CONFIRM_TEXT = (
    "Deletes the bot's posts in this thread (the header stays, saying the case was deleted) "
    "and every text, note and pending job of case #{ref} from the store. Staff replies stay "
    "in Slack until its retention removes them. This cannot be undone."
)
TOMBSTONE = ":wastebasket: Case #{ref} was deleted on {day}; its texts are no longer kept."
DELETED_DONE = "Deleted case #{ref}: {what}."
ERASE_USAGE = "Say whose data to erase: `/smschat erase +44 7700 900123`."
ERASE_NOBODY = "No contact holds {number}; nothing is stored under it."
ERASE_PREVIEW = (
    "Erasing {number} would remove: {what}. Opt-outs are kept as keyed hashes only. "
    "To erase, type `/smschat erase {given} confirm`."
)
ERASE_DONE = "Erased {number}: {what}."

# Click-to-call.
MY_PHONE_USAGE = "Give your phone: `/smschat me phone +44 7700 900555`."
MY_PHONE_SET = "Calls from SMS Chat will ring {number}."
CALL_NEEDS_PHONE = "Say which phone to ring first: `/smschat me phone +44 7700 900555`."
CALL_PLACING = "Calling {number}: answer it to be connected to case #{ref}'s contact."
CALL_GREETING = "Connecting you to the contact of case {ref}."
CALL_NOT_CONFIGURED = (
    "Calls need the Voice API: set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY "
    "(`smschat-bridge doctor` says what is missing)."
)
CALL_FAILED = "The call to your phone could not be placed: {reason}."
CALL_MAYBE_PLACED = (
    "The call to your phone may not have gone through (no answer from Vonage); it is not "
    "placed again by itself. Press Call again if your phone did not ring."
)
CALL_STARTED_NOTE = ":telephone_receiver: <@{user}> is calling the contact."
CALL_EVENT_NOTES = {
    "ringing": ":telephone_receiver: The call is ringing.",
    "answered": ":telephone_receiver: The call was answered.",
    "completed": ":telephone_receiver: The call ended after {duration}.",
    "busy": ":telephone_receiver: The phone was busy.",
    "failed": ":telephone_receiver: The call failed.",
    "rejected": ":telephone_receiver: The call was rejected.",
    "timeout": ":telephone_receiver: The call was not answered in time.",
    "unanswered": ":telephone_receiver: The call was not answered.",
    "cancelled": ":telephone_receiver: The call was cancelled.",
    "machine": ":telephone_receiver: An answering machine took the call.",
}
