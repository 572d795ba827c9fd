// The web chat page. Every text from the server is set with textContent, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const CSRF = "X-Redgrid-CSRF";
  const LANG = navigator.language || "zh-CN";
  let T = {};
  let session = null;
  let lastId = 0;
  let seen = new Set();
  let source = null;
  let retryMs = 1000;

  const tr = (key) => T[key] || key;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function api(method, path, body, form) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers[CSRF] = session ? session.csrf : "new";
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
    return { ok: res.ok, status: res.status, data };
  }

  // --- texts -------------------------------------------------------------------------------
  async function loadTexts(locale) {
    const query = locale ? `?locale=${encodeURIComponent(locale)}` : "";
    const r = await api("GET", "/api/i18n" + query);
    if (!r.ok) return;
    T = r.data.texts;
    document.documentElement.lang = r.data.locale === "en" ? "en" : "zh-CN";
    document.title = tr("web.title");
    $("title").textContent = tr("web.title");
    $("subtitle").textContent = tr("web.subtitle");
    $("start-heading").textContent = tr("web.start_heading");
    $("start-intro").textContent = tr("web.start_intro");
    $("start-new").textContent = tr("web.start_new");
    $("demo-heading").textContent = tr("web.demo_people");
    $("text").placeholder = tr("web.input_placeholder");
    $("send").textContent = tr("web.send");
    $("photo-button").setAttribute("aria-label", tr("web.photo"));
    $("switch").textContent = tr("web.switch");
    $("signout").textContent = tr("web.sign_out");
    $("demo-banner").textContent = tr("web.demo_banner");
  }

  // --- start page --------------------------------------------------------------------------
  async function boot(problem) {
    await loadTexts();
    const r = await api("GET", "/api/session");
    if (r.ok) return enterChat(r.data);
    const demo = await api("GET", "/api/demo-people");
    if (demo.ok) return showStart(demo.data.people, problem || (r.data && r.data.code !== "session_missing" ? r.data.error : ""));
    return startResident();
  }

  function showStart(people, problem) {
    closeStream();
    $("chat").hidden = true;
    $("composer").hidden = true;
    $("switch").hidden = true;
    $("signout").hidden = true;
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
      button.addEventListener("click", () => chooseDemo(person.key));
      item.append(button);
      list.append(item);
    }
  }

  async function startResident() {
    session = null;
    const r = await api("POST", "/api/session", {});
    if (r.ok) return enterChat(r.data);
    showNotice(r.data ? r.data.error : tr("web.unavailable"));
  }

  async function chooseDemo(key) {
    session = null;
    const r = await api("POST", "/api/session/demo", { person: key });
    if (r.ok) return enterChat(r.data);
    showNotice(r.data ? r.data.error : tr("web.unavailable"));
  }

  // --- the chat ----------------------------------------------------------------------------
  function mineKey() {
    return "redgrid.mine." + session.chat;
  }

  function loadMine() {
    try {
      return JSON.parse(localStorage.getItem(mineKey()) || "[]");
    } catch (err) {
      return [];
    }
  }

  function remember(text) {
    try {
      const list = loadMine();
      list.push({ after: lastId, text });
      localStorage.setItem(mineKey(), JSON.stringify(list.slice(-200)));
    } catch (err) {
      // Private mode: own messages are simply not kept across reloads.
    }
  }

  async function enterChat(data) {
    session = data;
    await loadTexts(data.locale);
    $("start").hidden = true;
    $("chat").hidden = false;
    $("composer").hidden = false;
    $("switch").hidden = !data.demo;
    $("signout").hidden = data.demo_identity;
    $("demo-banner").hidden = !data.demo;
    $("log").replaceChildren();
    setRequests([]);
    lastId = 0;
    seen = new Set();
    const r = await api("GET", "/api/messages");
    const rows = r.ok ? r.data.messages : [];
    let mine = loadMine();
    if (rows.length >= 100) mine = mine.filter((m) => m.after >= rows[0].id);
    let j = 0;
    for (const row of rows) {
      while (j < mine.length && mine[j].after < row.id) addMine(mine[j++].text);
      addBot(row);
    }
    while (j < mine.length) addMine(mine[j++].text);
    connect();
    const start = new URLSearchParams(location.search).get("start");
    if (start) {
      history.replaceState(null, "", location.pathname);
      await post("/api/send", { key: uuid(), kind: "text", text: "/start " + start, language: LANG });
    } else if (!rows.length && !mine.length) {
      await post("/api/send", { key: uuid(), kind: "text", text: "/start", language: LANG });
    }
  }

  function scrollDown() {
    const box = $("chat");
    box.scrollTop = box.scrollHeight;
  }

  function avatar(text) {
    return el("div", "avatar", text);
  }

  function addBot(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    lastId = Math.max(lastId, m.id);
    const item = el("li", "msg bot");
    item.dataset.id = String(m.id);
    const body = el("div", "body");
    for (const name of m.photos || []) body.append(photoBubble(name));
    if (m.text) body.append(el("div", "bubble", m.text));
    if (m.photo) body.append(photoBubble(m.photo));
    const labels = (m.buttons || []).flat();
    if (labels.length) {
      const chips = el("div", "chips");
      for (const [label, data] of labels) {
        const chip = el("button", "chip", label);
        chip.type = "button";
        chip.addEventListener("click", () => press(label, data, m.id));
        chips.append(chip);
      }
      body.append(chips);
    }
    item.append(avatar(tr("web.bot_avatar")), body);
    // An edit replaces the message it changed (a staff card after 签收), else it is new.
    const edited = m.edits ? $("log").querySelector(`li.msg.bot[data-id="${m.edits}"]`) : null;
    if (edited) edited.replaceWith(item);
    else $("log").append(item);
    if (m.reply_requests && m.reply_requests.length) setRequests(m.reply_requests);
    else if (m.remove_reply_keyboard) setRequests([]);
    scrollDown();
  }

  function photoBubble(name) {
    const bubble = el("div", "bubble");
    const img = el("img");
    img.src = "/api/photos/" + encodeURIComponent(name);
    img.alt = tr("web.photo_label");
    bubble.append(img);
    return bubble;
  }

  function addMine(text, image) {
    const item = el("li", "msg mine");
    const body = el("div", "body");
    const bubble = el("div", "bubble");
    if (image) {
      const img = el("img");
      img.src = image;
      img.alt = tr("web.photo_label");
      bubble.append(img);
    } else {
      bubble.textContent = text;
    }
    body.append(bubble);
    item.append(avatar(tr("web.you")), body);
    $("log").append(item);
    scrollDown();
    return item;
  }

  function addSystem(text) {
    $("log").append(el("li", "system", text));
    scrollDown();
  }

  function showNotice(text) {
    const notice = $("notice");
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function setRequests(list) {
    const bar = $("requests");
    bar.replaceChildren();
    for (const [label, what] of list) {
      if (what !== "location") continue; // a browser cannot share a contact card
      const chip = el("button", "chip", "📍 " + label);
      chip.type = "button";
      chip.addEventListener("click", shareLocation);
      bar.append(chip);
    }
  }

  // --- sending -----------------------------------------------------------------------------
  async function post(path, body, form) {
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
      if (r && r.status === 401) return lost(r);
      if (r && r.status < 500 && r.status !== 429) {
        addSystem(r.data && r.data.error ? r.data.error : tr("web.send_failed"));
        return r;
      }
      await sleep(700 * (attempt + 1));
    }
    addSystem(tr("web.send_failed"));
    return null;
  }

  async function catchUp() {
    for (let round = 0; round < 20; round++) {
      const r = await api("GET", `/api/messages?after=${lastId}`);
      if (!r.ok) return;
      r.data.messages.forEach(addBot);
      if (!r.data.more) return;
    }
  }

  async function sendText(text) {
    addMine(text);
    remember(text);
    await post("/api/send", { key: uuid(), kind: "text", text, language: LANG });
  }

  async function press(label, data, messageId) {
    addMine(label);
    remember(label);
    await post("/api/send", {
      key: uuid(), kind: "button", data, message_id: String(messageId), language: LANG,
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
        remember(tr("web.location_label"));
        await post("/api/send", {
          key: uuid(), kind: "location", latitude: pos.coords.latitude,
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

  async function sendPhoto(file) {
    if (session && file.size > session.max_upload_mb * 1024 * 1024) {
      addSystem(tr("web.photo_too_large").replace("{mb}", String(session.max_upload_mb)));
      return;
    }
    addMine("", URL.createObjectURL(file));
    remember(tr("web.photo_label"));
    const form = new FormData();
    form.append("file", file, "photo");
    form.append("key", uuid());
    form.append("language", LANG);
    await post("/api/photo", form, true);
  }

  async function lost(r) {
    closeStream();
    session = null;
    await boot(r.data && r.data.error);
    return r;
  }

  // --- live pushes -------------------------------------------------------------------------
  function closeStream() {
    if (source) source.close();
    source = null;
  }

  function connect() {
    closeStream();
    const stream = new EventSource(`/api/events?after=${lastId}`);
    source = stream;
    stream.onmessage = (event) => addBot(JSON.parse(event.data));
    stream.onopen = () => {
      retryMs = 1000;
      showNotice("");
    };
    stream.onerror = () => {
      if (source !== stream) return;
      stream.close();
      source = null;
      showNotice(tr("web.reconnecting"));
      setTimeout(async () => {
        if (source || !session) return;
        const r = await api("GET", "/api/session").catch(() => null);
        if (r && r.status === 401) return lost(r);
        if (r && r.ok && session) session.csrf = r.data.csrf; // rotated when roles changed
        connect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  function wake() {
    if (session && !source) connect();
  }

  // --- wiring ------------------------------------------------------------------------------
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendText(text);
  });
  $("photo-button").addEventListener("click", () => $("photo-input").click());
  $("photo-input").addEventListener("change", (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (file) sendPhoto(file);
  });
  $("start-new").addEventListener("click", startResident);
  $("signout").addEventListener("click", async () => {
    if (!window.confirm(tr("web.sign_out_confirm"))) return;
    await api("POST", "/api/session/end", {}).catch(() => null);
    closeStream();
    session = null;
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
  boot();
})();
