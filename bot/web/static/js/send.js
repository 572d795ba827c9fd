// Sending: typed text, pressed chips, the location and phone chips, photos; retried safely.
import { $, LANG, S, api, el, sleep, tr, uuid } from "./core.js";
import { addMine, addSystem, handlers, showBatch, showNotice } from "./log.js";

export async function catchUp() {
  for (let round = 0; round < 20; round++) {
    const r = await api("GET", `/api/messages?after=${S.lastId}&mine_after=${S.lastMine}`);
    if (!r.ok) return;
    showBatch(r.data.messages, r.data.mine || []);
    if (!r.data.more) return;
  }
}

// A key for a message this page sends: the server keeps the message under it, and this page
// knows it when the other tabs' copy comes back.
function sentKey() {
  const key = uuid();
  S.sentKeys.add(key);
  return key;
}

export async function post(path, body, form) {
  // The idempotency key inside `body` stays the same across retries: handled once.
  for (let attempt = 0; attempt < 4; attempt++) {
    let r = null;
    try {
      r = await api("POST", path, body, form);
    } catch (err) {
      r = null;
    }
    if (r && r.ok) {
      await catchUp();
      return r;
    }
    if (r && r.status === 401) return S.hooks.lost(r);
    if (r && r.status < 500 && r.status !== 429) {
      addSystem(r.data && r.data.error ? r.data.error : tr("web.send_failed"));
      return r;
    }
    await sleep(700 * (attempt + 1));
  }
  addSystem(tr("web.send_failed"));
  return null;
}

// Sent when the server took it; refused (too long...), it leaves the conversation again.
export async function sendText(text) {
  const item = addMine(text);
  const r = await post("/api/send", { key: sentKey(), kind: "text", text, language: LANG });
  if (!r || !r.ok) item.remove();
  return r;
}

async function press(label, data, messageId) {
  addMine(label);
  await post("/api/send", {
    key: sentKey(), kind: "button", data, message_id: String(messageId), language: LANG,
  });
}

function shareLocation() {
  if (!navigator.geolocation) {
    addSystem(tr("web.location_failed"));
    return;
  }
  showNotice(tr("web.locating"));
  navigator.geolocation.getCurrentPosition(
    async (pos) => {
      showNotice("");
      addMine(tr("web.location_label"));
      await post("/api/send", {
        key: sentKey(), kind: "location", latitude: pos.coords.latitude,
        longitude: pos.coords.longitude, language: LANG,
      });
    },
    () => {
      showNotice("");
      addSystem(tr("web.location_failed"));
    },
    { timeout: 10000, maximumAge: 60000 },
  );
}

export async function sendPhoto(file) {
  if (S.session && file.size > S.session.max_upload_mb * 1024 * 1024) {
    addSystem(tr("web.photo_too_large").replace("{mb}", String(S.session.max_upload_mb)));
    return;
  }
  const item = addMine("", URL.createObjectURL(file));
  const form = new FormData();
  form.append("file", file, "photo");
  form.append("key", sentKey());
  form.append("language", LANG);
  const r = await post("/api/photo", form, true);
  if (!r || !r.ok || !r.data.photo) item.remove(); // refused: not shown as sent
}

// Telegram shares a contact card; a browser cannot, so its chip asks for the number typed.
function askPhone() {
  const input = $("text");
  input.placeholder = tr("web.phone_placeholder");
  input.setAttribute("inputmode", "tel");
  input.focus();
}

export function resetInput() {
  const input = $("text");
  input.placeholder = tr("web.input_placeholder");
  input.removeAttribute("inputmode");
}

function requestChip(label, what) {
  if (what === "contact") return ["📱", tr("web.phone_chip").replace(/^📱\s*/, ""), askPhone];
  if (what === "location") return ["📍", label.replace(/^📍\s*/, ""), shareLocation];
  return null;
}

function setRequests(list) {
  const bar = $("requests");
  bar.replaceChildren();
  resetInput();
  for (const [label, what] of list) {
    const known = requestChip(label, what);
    if (!known) continue;
    const [icon, text, action] = known;
    const chip = el("button", "chip", `${icon} ${text}`);
    chip.type = "button";
    chip.addEventListener("click", action);
    bar.append(chip);
  }
}

handlers.press = press;
handlers.requests = setRequests;
