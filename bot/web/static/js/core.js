// What every part of the page uses: the shared state, DOM helpers, texts and the API call.
// Every text from the server is set with textContent, never as HTML.

export const S = {
  session: null, // the session description from /api/session
  lastId: 0, // the newest message id shown
  seen: new Set(), // message ids shown
  lastMine: 0, // the newest own message id shown
  seenMine: new Set(), // own message ids shown
  sentKeys: new Set(), // keys of the messages this page sent (shown already)
  texts: {},
  hooks: {}, // set by main.js: lost(r) when the session ended
};
export const CSRF = "X-Redgrid-CSRF";
export const LANG = navigator.language || "zh-CN";

export const $ = (id) => document.getElementById(id);
export const tr = (key) => S.texts[key] || key;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export async function api(method, path, body, form) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF] = S.session ? S.session.csrf : "new";
  let payload;
  if (body !== undefined) {
    if (form) {
      payload = body;
    } else {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = null;
  }
  // Seconds to wait before sending again, when the server said (503 busy, 429).
  const retryAfter = Number.parseInt(res.headers.get("Retry-After") || "", 10);
  return { ok: res.ok, status: res.status, data, retryAfter: retryAfter > 0 ? retryAfter : 0 };
}

const LABELS = {
  title: "web.title", subtitle: "web.subtitle", "start-heading": "web.start_heading",
  "start-intro": "web.start_intro", "start-new": "web.start_new", "demo-heading": "web.demo_people",
  send: "web.send", switch: "web.switch", signout: "web.sign_out", "demo-banner": "web.demo_banner",
};

export async function loadTexts(locale) {
  const query = locale ? `?locale=${encodeURIComponent(locale)}` : "";
  const r = await api("GET", "/api/i18n" + query);
  if (!r.ok) return;
  S.texts = r.data.texts;
  document.documentElement.lang = r.data.locale === "en" ? "en" : "zh-CN";
  document.title = tr("web.title");
  for (const [id, key] of Object.entries(LABELS)) $(id).textContent = tr(key);
  $("text").placeholder = tr("web.input_placeholder");
  $("text").setAttribute("aria-label", tr("web.input_placeholder"));
  $("photo-button").setAttribute("aria-label", tr("web.photo"));
  $("viewer-close").textContent = tr("web.media.close");
  $("new-marker").textContent = tr("web.new_messages") + " ↓";
  $("menubar").setAttribute("aria-label", tr("web.menu.label"));
  showSubtitle();
}

// Under the title: what the page is for this person (a resident's service, staff's workbench
// named by their widest role).
const ROLE_ORDER = ["admin", "grid_staff", "steward", "department_liaison", "unit_liaison", "volunteer"];

export function showSubtitle() {
  const roles = (S.session && S.session.roles) || [];
  const role = ROLE_ORDER.find((r) => roles.includes(r)) || roles[0];
  const label = role ? S.texts["web.role." + role] : "";
  const work = label ? `${label} · ${tr("web.workbench")}` : tr("web.workbench");
  $("subtitle").textContent = roles.length ? work : tr("web.subtitle");
}
