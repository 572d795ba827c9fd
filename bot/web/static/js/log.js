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
}

// Times as the district reads them (its configured zone, from the session), wherever the
// browser is; the browser's own zone only until the session says.
function timeFormat(options) {
  const timeZone = (S.session && S.session.timezone) || undefined;
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang, { ...options, timeZone });
  } catch (err) {
    return new Intl.DateTimeFormat(document.documentElement.lang, options); // an unknown zone
  }
}

const DAY = { year: "numeric", month: "2-digit", day: "2-digit" };

// A time line between messages more than five minutes apart, as WeChat shows them.
function timeDivider(at) {
  const time = at ? new Date(at).getTime() : NaN;
  if (Number.isNaN(time)) return;
  if (time - lastAt > GAP_MS) {
    const day = timeFormat(DAY);
    const today = day.format(Date.now()) === day.format(time);
    const options = today
      ? { hour: "2-digit", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
    $("log").append(el("li", "time", timeFormat(options).format(time)));
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

// An edit changes a message's words and buttons, not its photos (as on Telegram): a card
// edited without photos keeps the ones it showed.
function keepPhotos(edited, item) {
  const photos = edited.querySelectorAll(".body > .bubble.media");
  if (!photos.length) return;
  const body = item.querySelector(".body");
  const text = body.querySelector(":scope > .bubble:not(.media)");
  if (text) text.after(...photos);
  else body.prepend(...photos);
}

// True when one of the person's own messages follows this item in the log.
function answersMine(item) {
  for (let next = item.nextElementSibling; next; next = next.nextElementSibling) {
    if (next.matches("li.msg.mine")) return true;
  }
  return false;
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
  if (edited && !(m.images || []).length) keepPhotos(edited, item);
  if (edited && !answersMine(edited)) {
    edited.replaceWith(item);
  } else {
    // An edit answering what the person did since (a chip pressed on a card) comes below it,
    // where they look for the answer, as a new message would.
    if (edited) edited.remove();
    timeDivider(m.at);
    $("log").append(item);
  }
  follow();
}

export function addMine(text, imageUrl, at, elsewhere) {
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
  if (elsewhere) follow(); // sent from another tab or device
  else scrollDown();
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

// --- the person's own messages, kept on the server -------------------------------------------
// Every tab and device of the same identity gets them (history and the event stream); the tab
// that sent one showed it already and knows it by its key.

function mineLabel(entry) {
  if (entry.kind === "location") return tr("web.location_label");
  return entry.text;
}

function showMine(entry) {
  if (entry.photo && entry.photo.url) addMine("", entry.photo.url, entry.at, true);
  else if (entry.photo) addMine(tr("web.media.expired"), undefined, entry.at, true);
  else addMine(mineLabel(entry), undefined, entry.at, true);
}

export function addOwn(entry) {
  if (S.seenMine.has(entry.id)) return;
  S.seenMine.add(entry.id);
  S.lastMine = Math.max(S.lastMine, entry.id);
  if (!S.sentKeys.has(entry.key)) showMine(entry);
  if (entry.pressed) markUsed(entry.pressed);
}

// Bot rows and own messages in order: an own message goes after the row it followed.
export function showBatch(rows, mine) {
  let j = 0;
  for (const row of rows) {
    while (j < mine.length && mine[j].after < row.id) addOwn(mine[j++]);
    addBot(row);
  }
  while (j < mine.length) addOwn(mine[j++]);
}

export function showHistory(rows, mine) {
  showBatch(rows, mine);
  scrollDown();
}
