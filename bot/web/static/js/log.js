// The conversation: the bot's messages (text, pictures, files, chips) and the person's own.
import { $, S, el, tr } from "./core.js";
import { fileCard, imageBubble } from "./media.js";

export const handlers = { press: null, requests: null, menu: null }; // set by send.js, menu.js

// Following the conversation: new messages scroll it only while the person is at its end;
// someone reading older messages gets a "新消息" marker instead.
let pinned = true;
let lastAt = 0;
const GAP_MS = 5 * 60 * 1000;

export function scrollDown() {
  const box = $("chat");
  box.scrollTop = box.scrollHeight;
  pinned = true;
  $("new-marker").hidden = true;
}

function follow() {
  if (pinned) scrollDown();
  else $("new-marker").hidden = false;
}

export function resetLog() {
  $("log").replaceChildren();
  lastAt = 0;
  pinned = true;
}

export function wireLog() {
  const box = $("chat");
  box.addEventListener("scroll", () => {
    pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    if (pinned) $("new-marker").hidden = true;
  });
  $("new-marker").addEventListener("click", scrollDown);
  window.addEventListener("storage", syncMine);
}

// A time line between messages more than five minutes apart, as WeChat shows them.
function timeDivider(at) {
  const time = at ? new Date(at).getTime() : NaN;
  if (Number.isNaN(time)) return;
  if (time - lastAt > GAP_MS) {
    const today = new Date().toDateString() === new Date(time).toDateString();
    const options = today
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    const label = new Intl.DateTimeFormat(document.documentElement.lang, options).format(time);
    $("log").append(el("li", "time", label));
  }
  lastAt = Math.max(lastAt, time);
}

function avatar(text) {
  const node = el("div", "avatar", text);
  node.setAttribute("aria-hidden", "true");
  return node;
}

// A request's reference ("JM-2026-000123") never breaks across lines.
const REFERENCE = /[A-Z]{2,}-\d{4}-\d{3,}/g;

function textBubble(text) {
  const bubble = el("div", "bubble");
  let at = 0;
  for (const match of text.matchAll(REFERENCE)) {
    bubble.append(text.slice(at, match.index), el("span", "ref", match[0]));
    at = match.index + match[0].length;
  }
  bubble.append(text.slice(at));
  return bubble;
}

// Chips of a message already answered are greyed; pressed again, they only say so.
export function markUsed(messageId) {
  const item = $("log").querySelector(`li.msg.bot[data-id="${CSS.escape(String(messageId))}"]`);
  if (!item) return;
  for (const chip of item.querySelectorAll(".chip")) {
    chip.classList.add("used");
    chip.setAttribute("aria-disabled", "true");
  }
}

function chipsOf(m) {
  const labels = (m.buttons || []).flat();
  if (!labels.length) return null;
  const chips = el("div", "chips");
  for (const [label, data] of labels) {
    const chip = el("button", "chip", label);
    chip.type = "button";
    chip.addEventListener("click", () => {
      if (chip.classList.contains("used")) return addSystem(tr("web.button_used"));
      markUsed(m.id);
      handlers.press(label, data, m.id);
    });
    chips.append(chip);
  }
  return chips;
}

function botItem(m) {
  const item = el("li", "msg bot");
  item.dataset.id = String(m.id);
  const body = el("div", "body");
  if (m.text) body.append(textBubble(m.text));
  for (const image of m.images || []) body.append(imageBubble(image));
  for (const file of m.files || []) body.append(fileCard(file));
  const chips = chipsOf(m);
  if (chips) body.append(chips);
  item.append(avatar(tr("web.bot_avatar")), body);
  return item;
}

export function addBot(m) {
  if (S.seen.has(m.id)) return;
  S.seen.add(m.id);
  S.lastId = Math.max(S.lastId, m.id);
  if (m.menu) handlers.menu && handlers.menu(m.menu);
  if (m.reply_requests && m.reply_requests.length) handlers.requests(m.reply_requests);
  else if (m.remove_reply_keyboard) handlers.requests([]);
  const empty = !m.text && !(m.images || []).length && !(m.files || []).length;
  if (empty && !(m.buttons || []).length) return; // a menu change: nothing to show
  const item = botItem(m);
  const edited = m.edit && $("log").querySelector(`li.msg.bot[data-id="${CSS.escape(String(m.edit))}"]`);
  if (edited) {
    edited.replaceWith(item);
  } else {
    timeDivider(m.at);
    $("log").append(item);
  }
  follow();
}

export function addMine(text, imageUrl, at) {
  timeDivider(at || new Date().toISOString());
  const item = el("li", "msg mine");
  const body = el("div", "body");
  if (imageUrl) {
    body.append(imageBubble({ url: imageUrl }));
  } else {
    body.append(el("div", "bubble", text));
  }
  item.append(avatar(tr("web.you")), body);
  $("log").append(item);
  scrollDown();
  return item;
}

export function addSystem(text) {
  $("log").append(el("li", "system", text));
  follow();
}

export function showNotice(text) {
  const notice = $("notice");
  notice.textContent = text || "";
  notice.hidden = !text;
}

// --- the person's own messages, kept in this browser ------------------------------------------
const shownMine = new Set(); // ids of own entries on this page

function mineKey() {
  return "redgrid.mine." + S.session.chat;
}

export function loadMine() {
  try {
    return JSON.parse(localStorage.getItem(mineKey()) || "[]");
  } catch (err) {
    return [];
  }
}

export function remember(entry) {
  try {
    const list = loadMine();
    const id = Math.random().toString(36).slice(2) + Date.now().toString(36);
    shownMine.add(id);
    list.push({ id, after: S.lastId, at: new Date().toISOString(), ...entry });
    localStorage.setItem(mineKey(), JSON.stringify(list.slice(-200)));
  } catch (err) {
    // Private mode: own messages are simply not kept across reloads.
  }
}

// Another tab of this browser sent something: show it here too.
function syncMine(event) {
  if (!S.session || event.key !== mineKey() || !event.newValue) return;
  let list = [];
  try {
    list = JSON.parse(event.newValue);
  } catch (err) {
    return;
  }
  for (const entry of list) if (entry.id && !shownMine.has(entry.id)) showMine(entry);
}

export function showMine(entry) {
  if (entry.id) shownMine.add(entry.id);
  if (entry.photo) addMine("", "/api/photos/" + encodeURIComponent(entry.photo), entry.at);
  else addMine(entry.text, undefined, entry.at);
}

// Bot rows and own messages in order: an own message goes before the first row after it.
export function showHistory(rows, mine) {
  let j = 0;
  for (const row of rows) {
    while (j < mine.length && mine[j].after < row.id) showMine(mine[j++]);
    addBot(row);
  }
  while (j < mine.length) showMine(mine[j++]);
  for (const entry of mine) if (entry.pressed) markUsed(entry.pressed);
  scrollDown();
}
