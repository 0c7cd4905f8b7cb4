// The guided tour: each step says what to look at, and "Show me" does it through the page,
// as a person would (the phone, the thread, the composer, the buttons and forms).
"use strict";

const BRUNO = "+447400900456";
const CHEN = "+447400900789";

function until(test, what, ms = 12000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const found = test();
      if (found) resolve(found);
      else if (Date.now() - started > ms) reject(new Error(`still waiting for ${what}`));
      else setTimeout(tick, 100);
    };
    tick();
  });
}

const caseOf = (ref) => until(() => [...document.querySelectorAll(".case")].find((c) => c.querySelector(".bk-header")?.textContent.startsWith(`#${ref} `)), `case #${ref}`);

async function phoneTexts(number, text) {
  showDevice("phone");
  $("contact-select").value = number;
  $("contact-select").dispatchEvent(new Event("change"));
  $("phone-text").value = text;
  $("phone-form").requestSubmit();
  await until(() => [...document.querySelectorAll(".msg.via-sms")].some((m) => m.textContent.includes(text)), "the text in Slack");
}

async function mailboxWrites(address, subject, text) {
  showDevice("mail");
  $("mailbox-select").value = address;
  $("mailbox-select").dispatchEvent(new Event("change"));
  $("mail-subject").value = subject;
  $("mail-text").value = text;
  $("mail-form").requestSubmit();
  await until(() => [...document.querySelectorAll(".msg.via-sms")].find((m) => m.textContent.includes(text)), "the email in Slack");
}

async function inThread(ref, text, asNote) {
  const el = await caseOf(ref);
  el.querySelector(".thread-input").value = text;
  if (asNote) el.querySelector(".thread-note").click();
  else el.querySelector(".thread-form").requestSubmit();
  await until(() => el.querySelector(".replies").textContent.includes(text), "the reply in the thread");
}

async function command(line) {
  showPane("channel");
  const before = model.notices.size;
  $("composer-text").value = line;
  $("composer").requestSubmit();
  await until(() => model.notices.size > before || model.modal, `the answer to ${line}`);
}

async function modalTitled(title) {
  return until(() => model.modal && $("modal-title").textContent === title && !$("modal").hidden, `the “${title}” form`);
}

function fill(blockId, value) {
  const field = $("modal-body").querySelector(`.modal-input[data-block-id="${blockId}"] [data-action-id]`);
  if (field.classList.contains("bk-choices")) {
    for (const box of field.querySelectorAll("input")) box.checked = value === true || value.includes(box.value);
  } else if (field.multiple) {
    for (const option of field.options) option.selected = value.includes(option.value);
  } else {
    field.value = value;
  }
}

const STEPS = [
  {
    title: "A text comes in",
    body: "Bruno texts our number from the phone on the left. The bridge opens case #2 for him: a header with its buttons, his text below them (one post), and a thread for the replies.",
    run: () => phoneTexts(BRUNO, "Hello, can I move my appointment to Friday?"),
  },
  {
    title: "Reply from the thread",
    body: "A reply typed in the case thread goes to Bruno's phone as an SMS, ending with the case's reference (#2). A ✅ shows once it is delivered.",
    run: () => inThread(2, "Sure, Friday at 3pm works."),
  },
  {
    title: "A staff note",
    body: "A thread message starting with // (or the Note button) is a staff note: it stays in Slack and is never texted.",
    run: () => inThread(2, "he prefers afternoons", true),
  },
  {
    title: "Close, and a new case",
    body: "Close the case from its header. Bruno's next text opens a new case, #3, whose header links the previous one.",
    run: async () => {
      const el = await caseOf(2);
      [...el.querySelectorAll(".case-top .bk-button")].find((b) => b.textContent === "Close").click();
      await until(() => el.querySelector(".case-top").textContent.includes("Reopen"), "the case closed");
      await phoneTexts(BRUNO, "One more thing: can I bring my son?");
      await caseOf(3);
    },
  },
  {
    title: "#ref: which case a text joins",
    body: "Move to new case (the ⋯ menu on a contact's text) gives that text a case of its own, #4. Bruno now has two open cases: a text naming “#3” joins that case alone.",
    run: async () => {
      const el = await caseOf(3);
      const text = [...el.querySelectorAll(".msg.via-sms")].pop();
      text.querySelector(".msg-more").open = true;
      text.querySelector(".shortcut").click();
      await until(() => model.modal && !$("modal").hidden, "the move form");
      $("modal-form").requestSubmit();
      await caseOf(4);
      await phoneTexts(BRUNO, "#3 thanks, see you Friday");
    },
  },
  {
    title: "Assign",
    body: "“/smschat assign #3 @dana” (or the header's Assign… menu) assigns the case; Dana gets a direct message. Switch to Dana under “Signed in as” to see it.",
    run: () => command("/smschat assign #3 @dana"),
  },
  {
    title: "Forward after hours",
    body: "A forwarding schedule from 00:00 to 06:00 tells Sam of texts that come at night. Then the clock pretends it is 2 a.m. and Chen texts: Sam's direct messages show the forwarded text.",
    run: async () => {
      await command("/smschat forward");
      await modalTitled("Forwarding schedules");
      $("modal-body").querySelector(".bk-button").click();
      await modalTitled("Forwarding schedule");
      fill("name", "Nights");
      fill("users", [model.me]);
      fill("days", true);
      fill("start", "00:00");
      fill("end", "06:00");
      $("modal-form").requestSubmit();
      await modalTitled("Forwarding schedules");
      $("modal-cancel").click();
      $("clock-2am").click();
      await until(() => new Date(model.clock).getUTCHours() === 2, "the clock at 2 a.m.");
      await phoneTexts(CHEN, "Locked out of the portal, can someone help?");
      showPane("dms");
      await until(() => $("dm-feed").textContent.includes("Locked out"), "the forwarded text");
    },
  },
  {
    title: "Chat settings",
    body: "“/smschat settings” opens the settings for workspace admins (Sam is one; Dana and the guest are refused): reference tag, business hours, auto-responses, the message counter and more.",
    run: async () => {
      await command("/smschat settings");
      await until(() => model.modal, "the settings form");
    },
  },
  {
    title: "Search",
    body: "“/smschat search bruno” finds cases by name, number (any part, any format) or #ref; only you see the results, with links that open each thread.",
    run: () => command("/smschat search bruno status:all"),
  },
  {
    title: "Usage",
    body: "“/smschat usage” counts texts and SMS segments in and out, per number and per staff member.",
    run: () => command("/smschat usage"),
  },
  {
    title: "Export the log",
    body: "Every text in and out, and every note, is in the messaging log: `smschat-bridge export --since 2026-03-01` writes it as CSV or JSON Lines. Here: today's log.",
    run: async () => {
      const response = await fetch("/api/export.csv");
      const rows = (await response.text()).trim().split("\n").length - 1;
      $("tour-body").insertAdjacentHTML("beforeend", `<p class="tour-result">Today's log holds ${rows} messages. <a href="/api/export.csv" download>Download it</a>.</p>`);
    },
  },
  {
    title: "Email in the same threads",
    body: "The device on the left is also a mail client. Chen writes to the clinic's address: the bridge posts the email (✉️ and its subject) in Chen's case thread, and a reply from the thread goes back by email, threaded, into Chen's inbox.",
    run: async () => {
      const chen = model.contacts.find((c) => c.number === CHEN);
      const text = "Still locked out: could you reset my password?";
      await mailboxWrites(chen.email, "Portal access", text);
      const post = [...document.querySelectorAll(".msg.via-sms")].find((m) => m.textContent.includes(text));
      const form = post.closest(".case").querySelector(".thread-form");
      form.querySelector(".thread-input").value = "Done: a reset link is on its way.";
      form.requestSubmit();
      await until(() => [...model.mail.values()].some((m) => m.direction === "received" && m.text.includes("reset link")), "the reply in Chen's mailbox");
    },
  },
];

let step = 0;

function showStep() {
  const current = STEPS[step];
  $("tour-step").textContent = `Tour · step ${step + 1} of ${STEPS.length}`;
  $("tour-title").textContent = current.title;
  $("tour-body").innerHTML = mrkdwn(current.body);
  $("tour-error").textContent = "";
  $("tour-back").disabled = step === 0;
  $("tour-next").textContent = step === STEPS.length - 1 ? "Finish" : "Next";
  $("tour").dataset.step = String(step + 1);
  delete $("tour").dataset.done;
}

function openTour() {
  $("tour").hidden = false;
  showStep();
}

document.addEventListener("DOMContentLoaded", () => {
  $("tour-open").addEventListener("click", openTour);
  $("tour-close").addEventListener("click", () => {
    $("tour").hidden = true;
    localStorage.setItem("smschat-tour-dismissed", "1");
  });
  $("tour-back").addEventListener("click", () => {
    step = Math.max(0, step - 1);
    showStep();
  });
  $("tour-next").addEventListener("click", () => {
    if (step === STEPS.length - 1) {
      $("tour").hidden = true;
      return;
    }
    step += 1;
    showStep();
  });
  $("tour-do").addEventListener("click", async () => {
    const button = $("tour-do");
    button.disabled = true;
    $("tour-error").textContent = "";
    try {
      await STEPS[step].run();
      $("tour").dataset.done = String(step + 1);
    } catch (error) {
      $("tour-error").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  if (!localStorage.getItem("smschat-tour-dismissed")) openTour();
});
