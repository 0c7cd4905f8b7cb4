// smschat-bridge demo page: a phone and a Slack-like inbox, fed by Server-Sent Events.
// Every action posts to the demo server, which reaches the bridge as Vonage or Slack would.
"use strict";

const OTHER = "__other__";
const model = {
  ourNumber: "",
  me: "", // the user id the page is signed in as
  people: [],
  channel: { id: "", name: "" },
  shortcuts: [],
  homes: {}, // user id -> Home tab view
  dms: new Map(), // ts -> direct message (with `to`)
  clock: "",
  pane: "channel", // what the main area shows: "channel", "home" or "dms"
  command: "/smschat",
  notesPrefix: null,
  users: {},
  bots: [],
  contacts: [],
  slack: new Map(), // ts -> message
  phone: new Map(), // id -> phone message
  mail: new Map(), // id -> email in a contact's mailbox
  ourEmail: "",
  notices: new Map(), // id -> notice
  modal: null, // the dialog the app opened (views.open), if any
  current: null, // the number this phone belongs to
  mailbox: null, // the address the mail client belongs to
  answering: null, // the id of the email the mail client is replying to
  unread: {},
};
let loading = true;
let buffered = [];

const $ = (id) => document.getElementById(id);

// -- formatting ----------------------------------------------------------------------------
function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function decodeEntities(text) {
  return String(text).replace(/&(amp|lt|gt);/g, (_, e) => ({ amp: "&", lt: "<", gt: ">" })[e]);
}

function formatNumber(number) {
  const m = /^\+44(\d{4})(\d{6})$/.exec(number || "");
  return m ? `+44 ${m[1]} ${m[2]}` : number || "";
}

function contactName(number) {
  const found = model.contacts.find((c) => c.number === number);
  return found ? found.name : null;
}

function clock(seconds) {
  const d = new Date(Number(seconds) * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// Slack mrkdwn → HTML: <@U1>, <#C1|name>, <!here>, <url|label>, *bold*, _italic_, ~strike~,
// `code`, ```blocks``` and > quotes; the text arrives with &amp; &lt; &gt; escaped.
function inlineFormat(html) {
  return html
    // Slack links a bare URL in a message as well.
    .replace(/(^|[\s(])(https?:\/\/[^\s<)]+)/g, '$1<a href="$2" target="_blank" rel="noopener">$2</a>')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, "$1<i>$2</i>")
    .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, "$1<s>$2</s>");
}

function formatPlain(raw) {
  const parts = [];
  const code = /```([\s\S]*?)```|`([^`\n]+)`/g;
  let last = 0;
  let match;
  while ((match = code.exec(raw))) {
    parts.push(inlineFormat(escapeHtml(decodeEntities(raw.slice(last, match.index)))));
    if (match[1] !== undefined) parts.push(`<pre>${escapeHtml(decodeEntities(match[1]))}</pre>`);
    else parts.push(`<code>${escapeHtml(decodeEntities(match[2]))}</code>`);
    last = code.lastIndex;
  }
  parts.push(inlineFormat(escapeHtml(decodeEntities(raw.slice(last)))));
  return parts.join("");
}

function mrkdwn(text) {
  const out = [];
  const angle = /<([^<>\n]+)>/g;
  let last = 0;
  let match;
  while ((match = angle.exec(text))) {
    out.push(formatPlain(text.slice(last, match.index)));
    out.push(angleToHtml(match[1]));
    last = angle.lastIndex;
  }
  out.push(formatPlain(text.slice(last)));
  return out
    .join("")
    .split("\n")
    .map((line) => (line.startsWith("&gt; ") ? `<blockquote>${line.slice(5)}</blockquote>` : line))
    .join("<br>");
}

function angleToHtml(body) {
  const [target, label] = body.split("|", 2);
  if (target.startsWith("@")) {
    const name = model.users[target.slice(1)] || label || target.slice(1);
    return `<span class="mention">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    return `<span class="mention">#${escapeHtml(label || target.slice(1))}</span>`;
  }
  if (target.startsWith("!date^")) {
    const seconds = Number(target.split("^")[1]);
    const when = new Date(seconds * 1000);
    const shown = Number.isFinite(seconds)
      ? `${when.toLocaleDateString([], { day: "numeric", month: "short" })} ${clock(seconds)}`
      : decodeEntities(label || "");
    return `<time>${escapeHtml(shown)}</time>`;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    return `<span class="mention">@${escapeHtml(label || word)}</span>`;
  }
  const url = decodeEntities(target);
  const safe = /^(https?|mailto|tel):/i.test(url) ? url : "#";
  const shown = label ? decodeEntities(label) : url;
  return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${escapeHtml(shown)}</a>`;
}

function textObject(obj) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text || "") : escapeHtml(decodeEntities(obj.text || ""));
}

// -- Block Kit ------------------------------------------------------------------------------
// Where an element sits: a message (`ts`) or a view (`view`: a modal or the Home tab).
function placeAttrs(el, block, where) {
  const place = where.view ? `data-view-id="${escapeHtml(where.view)}"` : `data-ts="${escapeHtml(where.ts || "")}"`;
  return `${place} data-action-id="${escapeHtml(el.action_id || "")}" data-block-id="${escapeHtml(block.block_id || "")}"`;
}

function button(el, block, where) {
  const style = el.style ? ` ${el.style}` : "";
  const url = el.url ? ` data-url="${escapeHtml(el.url)}"` : "";
  return `<button type="button" class="bk-button${style}" ${placeAttrs(el, block, where)}${url}>${textObject(el.text)}</button>`;
}

function menu(el, block, where) {
  return `<select class="bk-select" ${placeAttrs(el, block, where)}>${menuOptions(el)}</select>`;
}

// Options of a users_select (the workspace's people) or a static_select.
function menuOptions(el) {
  const placeholder = el.placeholder ? el.placeholder.text : "Choose…";
  let options;
  let initial;
  if (/users_select$/.test(el.type)) {
    options = Object.entries(model.users)
      .filter(([id]) => !model.bots.includes(id))
      .map(([id, name]) => [id, name]);
    initial = el.initial_user;
  } else if (/(conversations|channels)_select$/.test(el.type)) {
    options = [[model.channel.id, `#${model.channel.name}`]];
    initial = el.initial_conversation || el.initial_channel;
  } else {
    options = (el.options || []).map((o) => [o.value, decodeEntities(o.text.text)]);
    initial = el.initial_option ? el.initial_option.value : null;
  }
  return (
    `<option value="">${escapeHtml(placeholder)}</option>` +
    options
      .map(([value, label]) => `<option value="${escapeHtml(value)}"${value === initial ? " selected" : ""}>${escapeHtml(label)}</option>`)
      .join("")
  );
}

const MENUS = ["users_select", "static_select", "conversations_select", "channels_select"];

function interactive(el, block, where) {
  if (el.type === "button") return button(el, block, where);
  if (MENUS.includes(el.type)) return menu(el, block, where);
  if (el.type === "image") return "";
  return `<span class="bk-unknown">[${escapeHtml(el.type)}]</span>`;
}

// What the page draws; the browser test fails when the bridge sends anything else.
const DRAWS = {
  blocks: ["header", "section", "context", "actions", "divider", "input"],
  elements: [
    "button", "image", ...MENUS, "multi_users_select", "multi_static_select",
    "multi_conversations_select", "multi_channels_select", "plain_text_input", "number_input",
    "checkboxes", "radio_buttons", "timepicker", "datepicker",
  ],
};
window.SANDBOX_DRAWS = DRAWS;

// `where`: {ts} of the message the blocks are on, or {view} of the modal or Home tab.
function renderBlocks(blocks, where) {
  return blocks
    .map((block) => {
      switch (block.type) {
        case "header":
          return `<div class="bk-header">${textObject(block.text)}</div>`;
        case "section": {
          const text = block.text ? `<div class="bk-text">${textObject(block.text)}</div>` : "";
          const fields = (block.fields || [])
            .map((f) => `<div class="bk-field">${textObject(f)}</div>`)
            .join("");
          const acc = block.accessory;
          const side = acc && acc.type !== "image" ? `<div class="bk-accessory">${interactive(acc, block, where)}</div>` : "";
          return `<div class="bk-section"><div>${text}${fields ? `<div class="bk-fields">${fields}</div>` : ""}</div>${side}</div>`;
        }
        case "context":
          return `<div class="bk-context">${(block.elements || [])
            .map((e) => (e.type === "image" ? "" : `<span>${textObject(e)}</span>`))
            .join("")}</div>`;
        case "actions":
          return `<div class="bk-actions">${(block.elements || []).map((e) => interactive(e, block, where)).join("")}</div>`;
        case "input":
          return modalInput(block);
        case "divider":
          return `<hr class="bk-divider">`;
        default:
          return `<div class="bk-unknown">[${escapeHtml(block.type)} block]</div>`;
      }
    })
    .join("");
}

// -- the inbox -----------------------------------------------------------------------------
const BOT_AVATAR =
  `<div class="avatar bot" aria-hidden="true"><svg viewBox="0 0 24 24" width="20" height="20">` +
  `<path d="M4 4h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H10l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z" fill="#fff"/>` +
  `</svg></div>`;

function avatar(msg) {
  if (msg.is_bot) return BOT_AVATAR;
  const initials = (msg.author || "?")
    .split(/\s+/)
    .map((w) => w[0])
    .join("")
    .slice(0, 2);
  return `<div class="avatar person" aria-hidden="true">${escapeHtml(initials)}</div>`;
}

function isStaffNote(msg) {
  const prefix = model.notesPrefix;
  return Boolean(prefix) && !msg.is_bot && decodeEntities(msg.text || "").trimStart().startsWith(prefix);
}

function renderMessage(msg) {
  const badge = msg.is_bot ? `<span class="app-badge">APP</span>` : "";
  const note = isStaffNote(msg) ? `<span class="note-chip" title="Starts with ${escapeHtml(model.notesPrefix)}: stays in Slack">Staff note</span>` : "";
  // The bridge starts a line of a contact's email with ✉️ (bridge/texts.py EMAIL_MARK).
  const by = /(^|\n)\u2709\ufe0f/.test(msg.text || "") ? "Email" : "SMS";
  const chip = msg.via_sms ? `<span class="sms-chip" title="The contact's words, posted as written">${by}</span>` : "";
  let content;
  if (msg.blocks && msg.blocks.length) content = renderBlocks(msg.blocks, { ts: msg.ts });
  else if (msg.via_sms) content = escapeHtml(decodeEntities(msg.text)).replace(/\n/g, "<br>");
  else content = mrkdwn(msg.text || "");
  // Slack marks a person's edits; an app updating its own message is not marked.
  const edited = msg.edited && !msg.is_bot ? ` <span class="edited">(edited)</span>` : "";
  const reactions = (msg.reactions || [])
    .map((r) => `<span class="reaction" title=":${escapeHtml(r.name)}:">${escapeHtml(r.emoji)} ${r.count}</span>`)
    .join("");
  return (
    `<div class="msg${msg.is_bot ? " bot" : ""}${msg.via_sms ? " via-sms" : ""}${note ? " staff-note" : ""}" data-ts="${escapeHtml(msg.ts)}">` +
    avatar(msg) +
    `<div class="msg-body"><div class="msg-meta"><span class="author">${escapeHtml(msg.author)}</span>` +
    `${badge}<span class="time">${clock(msg.ts)}</span>${chip}${note}${shortcutMenu(msg)}</div>` +
    `<div class="msg-content">${content}${edited}</div>` +
    (msg.files || []).map(renderFile).join("") +
    (reactions ? `<div class="reactions">${reactions}</div>` : "") +
    `</div></div>`
  );
}

// A file shared in a message: a picture is drawn, anything else is a chip to download.
function renderFile(f) {
  const url = `/api/slack/files/${encodeURIComponent(f.id)}`;
  if (/^image\//.test(f.mimetype)) return `<img class="msg-file" src="${url}" alt="${escapeHtml(f.title)}">`;
  return `<a class="file-chip" href="${url}" download="${escapeHtml(f.title)}">📄 <span>${escapeHtml(f.title)}</span></a>`;
}

function renderNotice(n) {
  const ran = n.command ? `<div class="notice-command">You ran <code>${escapeHtml(n.command)}</code></div>` : "";
  let body = n.blocks && n.blocks.length ? renderBlocks(n.blocks, {}) : mrkdwn(n.text || "");
  if (!body && n.kind === "command") body = `<span class="muted">The app acknowledged the command without an answer.</span>`;
  return (
    `<div class="msg notice ${escapeHtml(n.kind)}" data-notice="${escapeHtml(n.id)}">` +
    BOT_AVATAR + `<div class="msg-body">` +
    `<div class="msg-meta"><span class="author">${n.kind === "error" ? "Slackbot" : "SMS Chat"}</span>` +
    `<span class="time">${clock(n.at)}</span><span class="only-you">Only visible to you</span></div>` +
    `${ran}<div class="msg-content">${body}</div></div></div>`
  );
}

// Redraw a box only when what it shows changed (keeps selections and scroll positions).
const drawn = new WeakMap();
function setHtml(box, html) {
  if (drawn.get(box) === html) return false;
  box.innerHTML = html;
  drawn.set(box, html);
  return true;
}

function placeInFeed(feed, el, key) {
  el.dataset.key = String(key);
  const after = [...feed.children].find((c) => c.dataset.key && Number(c.dataset.key) > key);
  feed.insertBefore(el, after || null);
}

function caseElement(feed, top) {
  let el = feed.querySelector(`.case[data-ts="${CSS.escape(top.ts)}"]`);
  if (el) return [el, false];
  el = document.createElement("article");
  el.className = "case";
  el.dataset.ts = top.ts;
  el.innerHTML =
    `<div class="case-top"></div>` +
    `<div class="thread"><button type="button" class="thread-toggle"></button>` +
    `<div class="replies"></div>` +
    `<form class="thread-form" autocomplete="off"><input class="thread-input" placeholder="Reply…" aria-label="Reply in thread">` +
    `<button type="button" class="thread-attach" title="Share a file in the thread (what is typed goes with it)" aria-label="Share a file">📎</button>` +
    `<input type="file" class="thread-file" hidden>` +
    `<button type="submit" class="thread-send">Reply</button>` +
    `<button type="button" class="thread-note" title="Post as a staff note: it stays in Slack">Note</button></form>` +
    `<div class="thread-error" role="alert"></div></div>`;
  el.querySelector(".thread-toggle").addEventListener("click", () => el.classList.toggle("collapsed"));
  el.querySelector(".thread-form").addEventListener("submit", (event) => {
    event.preventDefault();
    replyInThread(el, top.ts, false);
  });
  const fileInput = el.querySelector(".thread-file");
  el.querySelector(".thread-attach").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => shareInThread(el, top.ts, fileInput));
  const noteButton = el.querySelector(".thread-note");
  noteButton.hidden = !model.notesPrefix;
  noteButton.addEventListener("click", () => replyInThread(el, top.ts, true));
  placeInFeed(feed, el, Number(top.ts));
  return [el, true];
}

function renderInbox() {
  const feed = $("inbox-feed");
  const nearBottom = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 80;
  let added = false;
  const messages = [...model.slack.values()].sort((a, b) => Number(a.ts) - Number(b.ts));
  const notices = [...model.notices.values()].filter((n) => n.to === model.me);
  for (const top of messages.filter((m) => m.top)) {
    const [el, isNew] = caseElement(feed, top);
    added = added || isNew;
    setHtml(el.querySelector(".case-top"), renderMessage(top));
    const items = messages
      .filter((m) => !m.top && m.thread_ts === top.ts)
      .map((m) => [Number(m.ts), renderMessage(m)])
      .concat(notices.filter((n) => n.thread_ts === top.ts).map((n) => [n.at, renderNotice(n)]))
      .sort((a, b) => a[0] - b[0]);
    added = setHtml(el.querySelector(".replies"), items.map((i) => i[1]).join("")) || added;
    const count = messages.filter((m) => !m.top && m.thread_ts === top.ts).length;
    el.querySelector(".thread-toggle").textContent = count === 1 ? "1 reply" : `${count} replies`;
  }
  for (const old of feed.querySelectorAll(":scope > .notice")) {
    if (!notices.some((n) => n.id === old.dataset.notice)) old.remove(); // another person's
  }
  for (const notice of notices.filter((n) => !n.thread_ts || !model.slack.has(n.thread_ts))) {
    if (feed.querySelector(`[data-notice="${CSS.escape(notice.id)}"]`)) continue;
    const wrap = document.createElement("div");
    wrap.innerHTML = renderNotice(notice);
    placeInFeed(feed, wrap.firstChild, notice.at);
    added = true;
  }
  $("inbox-empty").hidden = model.slack.size > 0 || model.notices.size > 0;
  if (added && nearBottom) feed.scrollTop = feed.scrollHeight;
}

// -- the phone -----------------------------------------------------------------------------
const RECEIPT_WORDS = {
  submitted: "Receipt pending…",
  delivered: "Delivered ✓",
  failed: "Not delivered",
  rejected: "Rejected by the network",
  expired: "Expired",
  "receipt refused": "Receipt refused by the bridge",
};

function phoneState(msg) {
  if (msg.direction === "sent") {
    if (msg.state === "sending") return "Sending…";
    if (msg.state === "sent") return msg.detail ? `Sent · ${msg.detail}` : "Sent";
    return `Not sent: ${msg.detail || msg.state}`;
  }
  const state = RECEIPT_WORDS[msg.state] || msg.state;
  return msg.detail ? `${state} · ${msg.detail}` : state;
}

function knownNumbers() {
  const numbers = model.contacts.map((c) => c.number);
  for (const msg of model.phone.values()) if (!numbers.includes(msg.contact)) numbers.push(msg.contact);
  return numbers;
}

// The picker above a device: whose phone (or mailbox) it is, or another one typed in.
function renderPicker({ select, other, known, current, label, otherLabel }) {
  const options = known.map((key) => {
    const unread = model.unread[key] ? ` (${model.unread[key]} new)` : "";
    return `<option value="${escapeHtml(key)}">${escapeHtml(label(key) + unread)}</option>`;
  });
  options.push(`<option value="${OTHER}">${escapeHtml(otherLabel)}</option>`);
  const html = options.join("");
  if (select.dataset.html !== html) {
    select.innerHTML = html;
    select.dataset.html = html;
  }
  select.value = current && known.includes(current) ? current : OTHER;
  other.hidden = select.value !== OTHER;
}

// `pick(key)` on a change of whose device it is; null while another one is being typed.
function watchPicker(select, other, pick) {
  select.addEventListener("change", () => {
    const typing = select.value === OTHER;
    if (typing) {
      other.hidden = false;
      other.focus();
    }
    pick(typing ? null : select.value);
  });
}

function pickedOnDevice(select, other, current) {
  return select.value === OTHER ? other.value.trim() : current;
}

function renderContacts() {
  renderPicker({
    select: $("contact-select"),
    other: $("contact-number"),
    known: knownNumbers(),
    current: model.current,
    label: (number) => (contactName(number) ? `${contactName(number)} · ${formatNumber(number)}` : formatNumber(number)),
    otherLabel: "Another number…",
  });
}

// What a bubble carries, as the phone kept it: a picture drawn inline, any other file a link.
function bubbleFile(m) {
  if (!m.file_type) return "";
  const url = `/api/phone/files/${encodeURIComponent(m.id)}`;
  if (/^image\//.test(m.file_type)) return `<img class="bubble-picture" src="${url}" alt="Picture">`;
  const kind = m.file_type.split("/").pop().toUpperCase();
  return `<a class="bubble-file" href="${url}" download>📎 ${escapeHtml(kind)} file · ${escapeHtml(fileSize(m.file_size))}</a>`;
}

function fileSize(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// A phone links what looks like a web address; the link to a file it fetched opens its copy.
function bubbleText(m) {
  if (!m.text) return "";
  const html = escapeHtml(m.text).replace(/https?:\/\/[^\s<]+/g, (url) => {
    const href = decodeEntities(url) === m.file_link ? `/api/phone/files/${encodeURIComponent(m.id)}` : url;
    return `<a href="${href}" target="_blank" rel="noopener">${url}</a>`;
  });
  return `<div class="bubble-text">${html.replace(/\n/g, "<br>")}</div>`;
}

function renderPhone() {
  const feed = $("phone-feed");
  const mine = [...model.phone.values()]
    .filter((m) => m.contact === model.current)
    .sort((a, b) => a.at - b.at);
  feed.innerHTML = mine
    .map(
      (m) =>
        `<li class="bubble ${m.direction} state-${escapeHtml(m.state.replace(/\s+/g, "-"))}" data-id="${escapeHtml(m.id)}">` +
        bubbleFile(m) + bubbleText(m) +
        `<div class="bubble-meta"><span class="time">${clock(m.at)}</span> · <span class="state">${escapeHtml(phoneState(m))}</span></div></li>`,
    )
    .join("");
  if (!mine.length) {
    feed.innerHTML = `<li class="phone-empty">No messages yet. Text ${escapeHtml(formatNumber(model.ourNumber))} to open a case.</li>`;
  }
  feed.scrollTop = feed.scrollHeight;
  if (model.current) delete model.unread[model.current];
  renderContacts();
}

function smsMeter(text) {
  const gsm = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~\]|€\f]*$/.test(text);
  const units = gsm ? [...text].reduce((n, c) => n + ("^{}\\[~]|€\f".includes(c) ? 2 : 1), 0) : text.length;
  const [single, part] = gsm ? [160, 153] : [70, 67];
  const parts = units <= single ? 1 : Math.ceil(units / part);
  return `${units} / ${parts > 1 ? part * parts : single} · ${parts} SMS${gsm ? "" : " (Unicode)"}`;
}

// -- the mail client -----------------------------------------------------------------------
function showDevice(device) {
  for (const tab of document.querySelectorAll(".device-tab")) tab.classList.toggle("active", tab.dataset.device === device);
  $("phone-device").hidden = device !== "phone";
  $("mail-device").hidden = device !== "mail";
}

function knownAddresses() {
  const addresses = model.contacts.map((c) => c.email).filter(Boolean);
  for (const msg of model.mail.values()) if (!addresses.includes(msg.address)) addresses.push(msg.address);
  return addresses;
}

function renderMailboxes() {
  renderPicker({
    select: $("mailbox-select"),
    other: $("mailbox-address"),
    known: knownAddresses(),
    current: model.mailbox,
    label: (address) => {
      const found = model.contacts.find((c) => c.email === address);
      return found ? `${found.name} · ${address}` : address;
    },
    otherLabel: "Another address…",
  });
}

function renderMail() {
  const feed = $("mail-feed");
  const mine = [...model.mail.values()].filter((m) => m.address === model.mailbox).sort((a, b) => a.at - b.at);
  setHtml(
    feed,
    mine.length
      ? mine
          .map(
            (m) =>
              `<li class="mail-item ${m.direction}" data-id="${escapeHtml(m.id)}">` +
              `<div class="mail-head"><span class="mail-from">${escapeHtml(m.direction === "sent" ? `To ${m.to}` : m.sender)}</span><span class="time">${clock(m.at)}</span></div>` +
              `<div class="mail-subject">${escapeHtml(m.subject || "(no subject)")}</div>` +
              `<div class="mail-body">${escapeHtml(m.text).replace(/\n/g, "<br>")}</div>` +
              (m.direction === "received"
                ? `<button type="button" class="mail-reply" data-id="${escapeHtml(m.id)}">Reply</button>`
                : `<div class="mail-meta state">${escapeHtml(phoneState(m))}</div>`) + // as a text's
              `</li>`,
          )
          .join("")
      : `<li class="phone-empty">No emails yet. Write to ${escapeHtml(model.ourEmail)} to open a case.</li>`,
  );
  feed.scrollTop = feed.scrollHeight;
  if (model.mailbox) delete model.unread[model.mailbox];
  renderMailboxes();
}

// Reply to an email the mailbox received (null: a new email to our address).
function replyTo(id) {
  const answered = id ? model.mail.get(id) : null;
  model.answering = answered ? answered.id : null;
  $("mail-replying").hidden = !answered;
  $("mail-replying-to").textContent = answered ? answered.sender : "";
  if (answered) {
    $("mail-subject").value = /^re:/i.test(answered.subject) ? answered.subject : `Re: ${answered.subject}`;
    $("mail-text").focus();
  }
}

async function sendFromMailbox(event) {
  event.preventDefault();
  const from = pickedOnDevice($("mailbox-select"), $("mailbox-address"), model.mailbox);
  $("mail-error").textContent = "";
  try {
    const body = { from, subject: $("mail-subject").value, text: $("mail-text").value, answering: model.answering };
    const data = await post("/api/mail/send", body);
    upsert("mail", data.message);
    model.mailbox = data.message.address;
    $("mail-subject").value = "";
    $("mail-text").value = "";
    replyTo(null);
    renderMail();
  } catch (error) {
    $("mail-error").textContent = error.message;
  }
}

// -- modals (views.open, push, update) and their inputs ----------------------------------
const MULTI = /^multi_/;

function optionList(el, chosen, kind) {
  return (el.options || [])
    .map((o) => {
      const on = chosen.includes(o.value) ? " checked" : "";
      return `<label class="bk-choice"><input type="${kind}" name="${escapeHtml(el.action_id || "")}" value="${escapeHtml(o.value)}"${on}> ${textObject(o.text)}</label>`;
    })
    .join("");
}

let block_dispatch = false; // the input block being drawn dispatches actions as one types

function modalField(el) {
  const id = `data-action-id="${escapeHtml(el.action_id || "")}" data-type="${escapeHtml(el.type || "")}"`;
  const dispatch = el.dispatch_action || block_dispatch ? " data-dispatch=\"1\"" : "";
  const value = (v) => (v ? ` value="${escapeHtml(v)}"` : "");
  switch (el.type) {
    case "plain_text_input": {
      if (el.multiline) return `<textarea ${id}${dispatch} rows="3">${escapeHtml(el.initial_value || "")}</textarea>`;
      const max = el.max_length ? ` maxlength="${Number(el.max_length)}"` : "";
      const hint = el.placeholder ? ` placeholder="${escapeHtml(el.placeholder.text)}"` : "";
      return `<input ${id}${dispatch}${max}${hint}${value(el.initial_value)}>`;
    }
    case "number_input":
      return `<input type="number" ${id}${value(el.initial_value)}${el.min_value ? ` min="${escapeHtml(el.min_value)}"` : ""}${el.max_value ? ` max="${escapeHtml(el.max_value)}"` : ""}>`;
    case "timepicker":
      return `<input type="time" ${id}${value(el.initial_time)}>`;
    case "datepicker":
      return `<input type="date" ${id}${value(el.initial_date)}>`;
    case "checkboxes":
      return `<div class="bk-choices" ${id}>${optionList(el, (el.initial_options || []).map((o) => o.value), "checkbox")}</div>`;
    case "radio_buttons":
      return `<div class="bk-choices" ${id}>${optionList(el, el.initial_option ? [el.initial_option.value] : [], "radio")}</div>`;
    default:
      if (MENUS.includes(el.type)) return `<select ${id}${dispatch}>${menuOptions(el)}</select>`;
      if (MULTI.test(el.type)) {
        const initial = el.initial_users || el.initial_conversations || el.initial_channels || (el.initial_options || []).map((o) => o.value);
        const single = el.type.replace(MULTI, "");
        const options = menuOptions({ ...el, type: single, initial_user: undefined, initial_option: undefined })
          .replace(/<option value="">[^<]*<\/option>/, "")
          .replace(/ selected/g, "");
        const html = `<select multiple size="4" ${id}>${options}</select>`;
        return initial.reduce((h, v) => h.replace(`value="${escapeHtml(v)}"`, `value="${escapeHtml(v)}" selected`), html);
      }
      return `<span class="bk-unknown">[${escapeHtml(el.type)}]</span>`;
  }
}

function modalInput(block) {
  block_dispatch = Boolean(block.dispatch_action);
  const field = modalField(block.element || {});
  block_dispatch = false;
  const hint = block.hint ? `<div class="modal-hint">${textObject(block.hint)}</div>` : "";
  return (
    `<div class="modal-input" data-block-id="${escapeHtml(block.block_id || "")}">` +
    `<label>${textObject(block.label)}${block.optional ? ' <span class="muted">(optional)</span>' : ""}</label>${field}${hint}<div class="modal-error" role="alert"></div></div>`
  );
}

// What a field holds, as the demo server expects it: text, or a list for multiple choices.
function fieldValue(field) {
  if (field.classList.contains("bk-choices")) {
    const checked = [...field.querySelectorAll("input:checked")].map((i) => i.value);
    return field.dataset.type === "radio_buttons" ? checked[0] || "" : checked;
  }
  if (field.multiple) return [...field.selectedOptions].map((o) => o.value);
  return field.value;
}

function modalValues() {
  const values = {};
  for (const box of $("modal-body").querySelectorAll(".modal-input")) {
    const field = box.querySelector("[data-action-id]");
    if (field) values[box.dataset.blockId] = { [field.dataset.actionId]: fieldValue(field) };
  }
  return values;
}

function renderModal() {
  const backdrop = $("modal");
  const view = model.modal;
  backdrop.hidden = !view;
  if (!view) delete backdrop.dataset.viewHash;
  if (!view || backdrop.dataset.viewHash === view.hash) return;
  backdrop.dataset.viewHash = view.hash;
  backdrop.dataset.viewId = view.id;
  $("modal-title").innerHTML = textObject(view.title);
  $("modal-submit").innerHTML = view.submit ? textObject(view.submit) : "Submit";
  $("modal-submit").hidden = !view.submit;
  $("modal-cancel").innerHTML = view.close ? textObject(view.close) : "Cancel";
  $("modal-body").innerHTML = renderBlocks(view.blocks || [], { view: view.id });
  const first = $("modal-body").querySelector("input, textarea, select");
  if (first) first.focus();
}

async function submitModal(event) {
  event.preventDefault();
  const view = model.modal;
  if (!view) return;
  for (const box of $("modal-body").querySelectorAll(".modal-error")) box.textContent = "";
  try {
    const answer = await post("/api/slack/view", { view_id: view.id, values: modalValues() });
    for (const [blockId, message] of Object.entries(answer.errors || {})) {
      const box = $("modal-body").querySelector(`.modal-input[data-block-id="${CSS.escape(blockId)}"]`);
      if (box) box.querySelector(".modal-error").textContent = message;
      else $("modal-body").insertAdjacentHTML("beforeend", `<div class="modal-error">${escapeHtml(message)}</div>`);
    }
  } catch (error) {
    $("modal-body").insertAdjacentHTML("beforeend", `<div class="modal-error">${escapeHtml(error.message)}</div>`);
  }
}

// -- the Home tab, direct messages, shortcuts, thread links ------------------------------
function renderHome() {
  const view = model.homes[model.me];
  const box = $("home-body");
  setHtml(box, view ? renderBlocks(view.blocks || [], { view: view.id }) : `<div class="inbox-empty">Opening the Home tab…</div>`);
}

function renderDms() {
  const mine = [...model.dms.values()].filter((m) => m.to === model.me).sort((a, b) => Number(a.ts) - Number(b.ts));
  setHtml($("dm-feed"), mine.length ? mine.map(renderMessage).join("") : `<div class="inbox-empty">No direct messages from SMS Chat yet.</div>`);
  const count = $("dm-count");
  count.textContent = mine.length ? String(mine.length) : "";
}

function showPane(pane) {
  model.pane = pane;
  for (const el of document.querySelectorAll("[data-pane]")) el.classList.toggle("active", el.dataset.pane === pane);
  $("channel-pane").hidden = pane !== "channel";
  $("home-pane").hidden = pane !== "home";
  $("dm-pane").hidden = pane !== "dms";
  if (pane === "home") post("/api/slack/home", {}).catch((error) => ($("home-body").textContent = error.message));
}

function shortcutMenu(msg) {
  // A header showing a case's first texts carries the shortcut too, as any message does in Slack.
  if (!model.shortcuts.length || !(msg.thread_ts || msg.via_sms)) return "";
  const items = model.shortcuts
    .map((s) => `<button type="button" class="shortcut" data-ts="${escapeHtml(msg.ts)}" data-callback-id="${escapeHtml(s.callback_id)}">${escapeHtml(s.name)}</button>`)
    .join("");
  return `<details class="msg-more"><summary title="More actions">⋯</summary><div class="msg-menu">${items}</div></details>`;
}

// A Slack thread link (…/archives/C…/p1700000000123456[?thread_ts=…]) opens here.
function openThreadLink(href) {
  const m = /\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})(?:\?thread_ts=([\d.]+))?/.exec(href || "");
  if (!m) return false;
  const ts = m[4] || `${m[2]}.${m[3]}`;
  const top = model.slack.get(ts);
  const threadTs = top && !top.top ? top.thread_ts : ts;
  showPane("channel");
  const el = document.querySelector(`.case[data-ts="${CSS.escape(threadTs)}"]`);
  if (!el) return true;
  el.classList.remove("collapsed");
  el.scrollIntoView({ block: "start" });
  el.classList.add("highlight");
  setTimeout(() => el.classList.remove("highlight"), 2000);
  return true;
}

function renderClock() {
  const when = new Date(model.clock);
  $("clock").textContent = `Bridge clock: ${when.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit", timeZone: model.timeZone })} ${model.timeZone}`;
}

function renderPeople() {
  const select = $("me-select");
  const html = model.people.map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(`${p.name} (${p.role === "admin" ? "workspace admin" : p.role === "guest" ? "guest" : "member"})`)}</option>`).join("");
  if (select.dataset.html !== html) {
    select.innerHTML = html;
    select.dataset.html = html;
  }
  select.value = model.me;
}

// -- talking to the demo server -----------------------------------------------------------
async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function phoneNumberInUse() {
  return pickedOnDevice($("contact-select"), $("contact-number"), model.current);
}

async function sendFromPhone(event) {
  event.preventDefault();
  const text = $("phone-text").value;
  const contact = phoneNumberInUse();
  $("phone-error").textContent = "";
  if (!text.trim()) return;
  try {
    const data = await post("/api/phone/send", { contact, text });
    upsert("phone", data.message);
    model.current = data.message.contact;
    $("phone-text").value = "";
    $("phone-meter").textContent = smsMeter("");
    renderPhone();
  } catch (error) {
    $("phone-error").textContent = error.message;
  }
}

// The phone sends a picture (an MMS), with what is typed as its caption.
async function sendPictureFromPhone() {
  const contact = phoneNumberInUse();
  $("phone-error").textContent = "";
  try {
    const data = await post("/api/phone/picture", { contact, text: $("phone-text").value });
    upsert("phone", data.message);
    model.current = data.message.contact;
    $("phone-text").value = "";
    $("phone-meter").textContent = smsMeter("");
    renderPhone();
  } catch (error) {
    $("phone-error").textContent = error.message;
  }
}

// A staff note is a thread message starting with the bridge's notes prefix, typed as in Slack.
async function replyInThread(caseEl, threadTs, asNote) {
  const input = caseEl.querySelector(".thread-input");
  const errorBox = caseEl.querySelector(".thread-error");
  const text = asNote && model.notesPrefix ? `${model.notesPrefix} ${input.value}` : input.value;
  if (!input.value.trim()) return;
  errorBox.textContent = "";
  try {
    await post("/api/slack/post", { text, thread_ts: threadTs });
    input.value = "";
  } catch (error) {
    errorBox.textContent = error.message;
  }
}

// Staff share a file in a thread, as Slack's upload does: the typed text is its message.
async function shareInThread(caseEl, threadTs, fileInput) {
  const [file] = fileInput.files;
  const input = caseEl.querySelector(".thread-input");
  const errorBox = caseEl.querySelector(".thread-error");
  if (!file) return;
  errorBox.textContent = "";
  try {
    const data = await base64Of(file);
    await post("/api/slack/file", { thread_ts: threadTs, text: input.value, name: file.name, mimetype: file.type, data });
    input.value = "";
  } catch (error) {
    errorBox.textContent = error.message;
  } finally {
    fileInput.value = "";
  }
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(new Error(`${file.name} could not be read`));
    reader.readAsDataURL(file);
  });
}

async function sendFromComposer(event) {
  event.preventDefault();
  const input = $("composer-text");
  const text = input.value.trim();
  if (!text) return;
  const hint = $("composer-hint");
  try {
    if (text.startsWith("/")) {
      const data = await post("/api/slack/command", { text });
      upsert("notice", data.notice);
    } else {
      await post("/api/slack/post", { text });
    }
    input.value = "";
    hint.classList.remove("error");
  } catch (error) {
    hint.textContent = error.message;
    hint.classList.add("error");
  }
}

async function clickButton(btn, chosen) {
  if (btn.dataset.url) openThreadLink(btn.dataset.url);
  const inView = Boolean(btn.dataset.viewId);
  if (!inView && !btn.dataset.ts) return; // an ephemeral's button: the sandbox keeps no copy
  btn.disabled = true;
  const where = inView
    ? { view_id: btn.dataset.viewId, values: model.modal && model.modal.id === btn.dataset.viewId ? modalValues() : {} }
    : { message_ts: btn.dataset.ts };
  try {
    await post("/api/slack/action", {
      ...where,
      action_id: btn.dataset.actionId,
      block_id: btn.dataset.blockId || null,
      chosen: chosen || null,
    });
  } catch (error) {
    $("composer-hint").textContent = error.message;
  } finally {
    btn.disabled = false;
  }
}

function upsert(kind, data) {
  if (kind === "slack") {
    if (data.kind === "deleted") model.slack.delete(data.message.ts);
    else model.slack.set(data.message.ts, data.message);
  } else if (kind === "dm") {
    model.dms.set(data.message.ts, data.message);
  } else if (kind === "phone") {
    countUnread(model.phone, data, data.contact, model.current);
    model.phone.set(data.id, data);
  } else if (kind === "mail") {
    countUnread(model.mail, data, data.address, model.mailbox);
    model.mail.set(data.id, data);
  } else if (kind === "notice") {
    model.notices.set(data.id, data);
  } else if (kind === "modal") {
    model.modal = data.view;
  } else if (kind === "home") {
    model.homes[data.user] = data.view;
  } else if (kind === "clock") {
    model.clock = data.clock;
  }
}

// A message newly received on a phone or in a mailbox not shown now counts as new there.
function countUnread(shown, data, owner, current) {
  if (!shown.has(data.id) && data.direction === "received" && owner !== current) {
    model.unread[owner] = (model.unread[owner] || 0) + 1;
  }
}

function apply(kind, data) {
  if (kind === "me") {
    if (data.id !== model.me) loadState();
    return;
  }
  if (loading) {
    buffered.push([kind, data]);
    return;
  }
  upsert(kind, data);
  if (kind === "phone") renderPhone();
  else if (kind === "mail") renderMail();
  else if (kind === "modal") renderModal();
  else if (kind === "home") renderHome();
  else if (kind === "dm") renderDms();
  else if (kind === "clock") renderClock();
  else renderInbox();
}

async function loadState() {
  loading = true;
  buffered = [];
  const response = await fetch("/api/state");
  const state = await response.json();
  model.ourNumber = state.our_number;
  model.me = state.me;
  model.people = state.people;
  model.channel = state.channel;
  model.shortcuts = state.shortcuts;
  model.clock = state.clock;
  model.timeZone = state.time_zone;
  model.homes = state.homes;
  model.dms = new Map(state.dms.map((m) => [m.ts, m]));
  model.users = state.users;
  model.bots = state.bots;
  model.modal = state.modal;
  model.command = state.command;
  model.notesPrefix = state.notes_prefix;
  model.contacts = state.contacts;
  model.slack = new Map(state.slack.map((m) => [m.ts, m]));
  model.phone = new Map(state.phone.map((m) => [m.id, m]));
  model.mail = new Map(state.mail.map((m) => [m.id, m]));
  model.ourEmail = state.our_email;
  model.notices = new Map(state.notices.map((n) => [n.id, n]));
  if (model.current === null) model.current = knownNumbers()[0] || null;
  if (model.mailbox === null) model.mailbox = knownAddresses()[0] || null;
  $("our-email").textContent = state.our_email;
  $("our-number").textContent = formatNumber(state.our_number);
  $("workspace").textContent = state.workspace;
  $("channel-name").textContent = state.channel.name;
  $("channel-name-side").textContent = state.channel.name;
  $("command-name").textContent = state.command;
  $("composer-text").placeholder = `Message #${state.channel.name}, or run ${state.command} help`;
  for (const [kind, data] of buffered) upsert(kind, data);
  buffered = [];
  loading = false;
  renderPeople();
  renderClock();
  renderInbox();
  renderPhone();
  renderMail();
  renderModal();
  renderHome();
  renderDms();
  if (model.pane === "home") showPane("home");
  document.body.dataset.ready = "1";
}

function connect() {
  const live = $("live");
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => {
    live.textContent = "live";
    live.classList.add("on");
    loadState().catch((error) => {
      live.textContent = `state unavailable: ${error.message}`;
    });
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.classList.remove("on");
  });
  for (const kind of ["slack", "dm", "phone", "mail", "notice", "modal", "home", "me", "clock"]) {
    events.addEventListener(kind, (event) => apply(kind, JSON.parse(event.data)));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("phone-form").addEventListener("submit", sendFromPhone);
  $("phone-picture").addEventListener("click", sendPictureFromPhone);
  $("phone-text").addEventListener("input", (event) => {
    $("phone-meter").textContent = smsMeter(event.target.value);
  });
  $("phone-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("phone-form").requestSubmit();
    }
  });
  watchPicker($("contact-select"), $("contact-number"), (number) => {
    model.current = number;
    renderPhone();
  });
  watchPicker($("mailbox-select"), $("mailbox-address"), (address) => {
    model.mailbox = address;
    replyTo(null);
    renderMail();
  });
  $("mail-form").addEventListener("submit", sendFromMailbox);
  $("mail-reply-cancel").addEventListener("click", () => replyTo(null));
  $("mail-feed").addEventListener("click", (event) => {
    const reply = event.target.closest(".mail-reply");
    if (reply) replyTo(reply.dataset.id);
  });
  for (const tab of document.querySelectorAll(".device-tab")) {
    tab.addEventListener("click", () => showDevice(tab.dataset.device));
  }
  $("composer").addEventListener("submit", sendFromComposer);
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (link && openThreadLink(link.getAttribute("href"))) {
      event.preventDefault();
      return;
    }
    const btn = event.target.closest(".bk-button");
    if (btn) clickButton(btn);
    const shortcut = event.target.closest(".shortcut");
    if (shortcut) {
      shortcut.closest("details").open = false;
      post("/api/slack/shortcut", { message_ts: shortcut.dataset.ts, callback_id: shortcut.dataset.callbackId }).catch((error) => {
        $("composer-hint").textContent = error.message;
      });
    }
    const pane = event.target.closest("[data-pane]");
    if (pane) showPane(pane.dataset.pane);
  });
  document.addEventListener("change", (event) => {
    const select = event.target.closest(".bk-select");
    if (select && select.value) clickButton(select, select.value);
    const field = event.target.closest("#modal-body [data-dispatch]");
    if (field && model.modal) {
      field.dataset.viewId = model.modal.id;
      field.dataset.blockId = field.closest(".modal-input").dataset.blockId;
      clickButton(field, field.value);
    }
  });
  $("me-select").addEventListener("change", (event) => {
    post("/api/me", { user: event.target.value }).then(loadState).catch((error) => {
      $("composer-hint").textContent = error.message;
    });
  });
  $("clock-2am").addEventListener("click", () => {
    post("/api/clock", { hour: 2 }).then((data) => {
      model.clock = data.clock;
      renderClock();
    });
  });
  $("modal-form").addEventListener("submit", submitModal);
  $("modal-cancel").addEventListener("click", () => {
    if (model.modal) post("/api/slack/view/close", { view_id: model.modal.id }).catch(() => {});
  });
  connect();
});
