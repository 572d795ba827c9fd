// Runs the page's own send.js in Node against a live app: starts a session, waits for "go" on
// stdin, posts one message through post() and prints every POST it made as JSON lines.
// Only what the browser itself provides is stood in for (navigator, a few DOM nodes, the
// cookie jar and the page's origin); the page's code and the server are the real ones.
import readline from "node:readline";

const [base, staticDir] = process.argv.slice(2);
globalThis.navigator = { language: "en" };
const nodes = {};
globalThis.document = {
  getElementById: (id) => (nodes[id] ??= { id, textContent: "", hidden: true }),
};
globalThis.window = globalThis;

let cookie = "";
const posts = [];
const notices = [];
const origin = globalThis.fetch;
globalThis.fetch = async (path, init) => {
  const headers = { ...init.headers, "Accept-Language": "en" };
  if (cookie) headers.Cookie = cookie;
  const res = await origin(base + path, { ...init, headers });
  const set = res.headers.get("set-cookie");
  if (set) cookie = set.split(";")[0];
  if (init.method === "POST" && path === "/api/send") {
    const key = JSON.parse(init.body).key;
    posts.push({ status: res.status, key, retryAfter: res.headers.get("Retry-After"), at: Date.now() });
  }
  return res;
};

const { S, api } = await import(`${staticDir}/core.js`);
const { post } = await import(`${staticDir}/send.js`);
const started = await api("POST", "/api/session");
S.session = started.data;
S.lastId = 2 ** 52; // nothing to catch up on: no message is drawn
S.lastMine = 2 ** 52;
console.log(JSON.stringify({ ready: started.status }));

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "go") continue;
  const watch = setInterval(() => {
    const text = nodes.notice && nodes.notice.textContent;
    if (text && notices[notices.length - 1] !== text) notices.push(text);
  }, 20);
  const r = await post("/api/send", { key: "page-key-0001", kind: "text", text: "/start", language: "en" });
  clearInterval(watch);
  console.log(JSON.stringify({ ok: Boolean(r && r.ok), posts, notices }));
  break;
}
process.exit(0);
