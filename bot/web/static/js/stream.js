// Live pushes: one EventSource per page, reconnecting with backoff.
import { S, api, tr } from "./core.js";
import { addBot, addOwn, showNotice } from "./log.js";
import { showMenu } from "./menu.js";

let source = null;
let retryMs = 1000;

export function closeStream() {
  if (source) source.close();
  source = null;
}

export function connect() {
  closeStream();
  const stream = new EventSource(`/api/events?after=${S.lastId}&mine_after=${S.lastMine}`);
  source = stream;
  stream.onmessage = (event) => addBot(JSON.parse(event.data));
  stream.addEventListener("mine", (event) => addOwn(JSON.parse(event.data)));
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
      if (source || !S.session) return;
      const r = await api("GET", "/api/session").catch(() => null);
      if (r && r.status === 401) return S.hooks.lost(r);
      if (r && r.ok && S.session) {
        S.session.csrf = r.data.csrf; // rotated when roles changed, and the menu with them
        S.session.menu = r.data.menu;
        showMenu(r.data.menu);
      }
      connect();
    }, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  };
}

export function wake() {
  if (S.session && !source) connect();
}
