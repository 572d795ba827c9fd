// The web chat page: the start page (demo people), entering the chat, and the wiring.
import { $, LANG, S, api, el, loadTexts, tr, uuid } from "./core.js";
import { handlers, resetLog, showHistory, showNotice, wireLog } from "./log.js";
import { wireViewer } from "./media.js";
import { homeCommand, showMenu, wireMenu } from "./menu.js";
import { post, resetInput, sendPhoto, sendText } from "./send.js";
import { closeStream, connect, wake } from "./stream.js";

async function boot(problem) {
  await loadTexts();
  const r = await api("GET", "/api/session");
  if (r.ok) return enterChat(r.data);
  const demo = await api("GET", "/api/demo-people");
  if (demo.ok) {
    const shown = problem || (r.data && r.data.code !== "session_missing" ? r.data.error : "");
    return showStart(demo.data.people, shown);
  }
  return startResident();
}

function showStart(people, problem) {
  closeStream();
  for (const id of ["chat", "composer", "switch", "signout", "back"]) $(id).hidden = true;
  $("demo-banner").hidden = false; // the start page lists demo people only in demo mode
  $("start").hidden = false;
  $("start-intro").textContent = problem || tr("web.start_intro");
  const list = $("demo-people");
  list.replaceChildren();
  for (const person of people) {
    const item = el("li");
    const button = el("button");
    button.type = "button";
    button.dataset.person = person.key;
    button.append(el("div", "who", person.name));
    const roles = person.roles.map(([role, unit]) => `${tr("web.role." + role)} · ${unit}`);
    button.append(el("div", "role", roles.join("；")));
    button.addEventListener("click", () => chooseDemo(person.key, person.name));
    item.append(button);
    list.append(item);
  }
}

async function startResident() {
  S.session = null;
  const r = await api("POST", "/api/session", {});
  if (r.ok) return enterChat(r.data);
  showNotice(r.data ? r.data.error : tr("web.unavailable"));
}

// Demo mode: the person acted as before is one tap away ("↩ name" in the bar).
function backTo() {
  try {
    return JSON.parse(sessionStorage.getItem("redgrid.back") || "null");
  } catch (err) {
    return null;
  }
}

function noteChoice(person) {
  try {
    const current = JSON.parse(sessionStorage.getItem("redgrid.current") || "null");
    if (current && current.key !== person.key) {
      sessionStorage.setItem("redgrid.back", JSON.stringify(current));
    }
    sessionStorage.setItem("redgrid.current", JSON.stringify(person));
  } catch (err) {
    // No session storage: no way back but the list.
  }
}

function showBack(data) {
  const back = data.demo_identity ? backTo() : null;
  const button = $("back");
  button.hidden = !back || back.name === data.name;
  if (!button.hidden) button.textContent = "↩ " + back.name;
}

async function chooseDemo(key, name) {
  S.session = null;
  const r = await api("POST", "/api/session/demo", { person: key });
  if (r.ok) noteChoice({ key, name: name || r.data.name });
  if (r.ok) return enterChat(r.data);
  showNotice(r.data ? r.data.error : tr("web.unavailable"));
}

async function enterChat(data) {
  S.session = data;
  await loadTexts(data.locale);
  $("start").hidden = true;
  $("chat").hidden = false;
  $("composer").hidden = false;
  $("switch").hidden = !data.demo;
  $("signout").hidden = data.demo_identity;
  showBack(data);
  $("demo-banner").hidden = !data.demo;
  resetLog();
  handlers.requests([]);
  showMenu(data.menu);
  S.lastId = 0;
  S.seen = new Set();
  S.lastMine = 0;
  S.seenMine = new Set();
  const r = await api("GET", "/api/messages");
  const rows = r.ok ? r.data.messages : [];
  const mine = r.ok ? r.data.mine || [] : [];
  showHistory(rows, mine);
  connect();
  // What the page sends by itself is "quiet": not shown as the person's message.
  const start = new URLSearchParams(location.search).get("start");
  const quiet = (text) => post("/api/send", { key: uuid(), kind: "text", text, language: LANG, quiet: true });
  if (start) {
    history.replaceState(null, "", location.pathname);
    await quiet("/start " + start);
  } else if (!rows.length && !mine.length) {
    // A new chat opens on the person's work: the resident welcome, or the staff queue...
    await quiet(homeCommand());
  }
}

async function lost(r) {
  closeStream();
  S.session = null;
  await boot(r.data && r.data.error);
  return r;
}
S.hooks.lost = lost;

// The input box behaves like WeChat's: several lines; on a computer Enter sends and
// Shift+Enter starts a line; on a phone the keyboard's return starts a line and the button
// sends. Focus stays in the box; text the server refused comes back into it.
const PHONE = window.matchMedia("(pointer: coarse)").matches;

function fitInput() {
  const input = $("text");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 128)}px`;
}

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  fitInput();
  resetInput();
  input.focus();
  const r = await sendText(text);
  if ((!r || !r.ok) && !input.value && S.session) {
    input.value = text;
    fitInput();
  }
});
$("text").addEventListener("input", fitInput);
$("text").addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || PHONE) return;
  event.preventDefault();
  $("form").requestSubmit();
});
$("photo-button").addEventListener("click", () => $("photo-input").click());
$("photo-input").addEventListener("change", (event) => {
  const file = event.target.files && event.target.files[0];
  event.target.value = "";
  if (file) sendPhoto(file);
});
$("start-new").addEventListener("click", startResident);
$("back").addEventListener("click", () => {
  const back = backTo();
  if (back) chooseDemo(back.key, back.name);
});
$("signout").addEventListener("click", async () => {
  if (!window.confirm(tr("web.sign_out_confirm"))) return;
  await api("POST", "/api/session/end", {}).catch(() => null);
  closeStream();
  S.session = null;
  boot();
});
$("switch").addEventListener("click", async () => {
  const demo = await api("GET", "/api/demo-people");
  if (demo.ok) showStart(demo.data.people, "");
});
window.addEventListener("online", wake);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") wake();
});
wireViewer();
wireMenu();
wireLog();
boot();
