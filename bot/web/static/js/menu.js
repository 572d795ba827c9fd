// The persistent bottom menu, like a WeChat service account's: two buttons for the person's
// daily work and "更多" with the rest of their commands. A command that needs words after it
// goes into the input box instead of being sent.
import { $, S, el, tr } from "./core.js";
import { sendText } from "./send.js";

function run(command) {
  closeMore();
  if (command.endsWith(" ")) {
    const input = $("text");
    input.value = command;
    input.focus();
    return;
  }
  sendText(command);
}

function closeMore() {
  $("more").hidden = true;
  const toggle = $("menubar").querySelector(".more-toggle");
  if (toggle) toggle.setAttribute("aria-expanded", "false");
}

function toggleMore(button) {
  const more = $("more");
  more.hidden = !more.hidden;
  button.setAttribute("aria-expanded", String(!more.hidden));
  if (!more.hidden) {
    const first = more.querySelector("button");
    if (first) first.focus();
  }
}

export function showMenu(menu) {
  const bar = $("menubar");
  const more = $("more");
  bar.replaceChildren();
  more.replaceChildren();
  closeMore();
  bar.hidden = !menu;
  if (!menu) return;
  bar.dataset.role = menu.role;
  for (const [label, command] of menu.main) {
    const button = el("button", "menu-item", label);
    button.type = "button";
    button.addEventListener("click", () => run(command));
    bar.append(button);
  }
  const toggle = el("button", "menu-item more-toggle", "☰ " + tr("web.menu.more"));
  toggle.type = "button";
  toggle.setAttribute("aria-haspopup", "true");
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", "more");
  toggle.addEventListener("click", () => toggleMore(toggle));
  bar.append(toggle);
  for (const [label, command] of menu.more) {
    const item = el("li");
    const button = el("button", "more-item", label);
    button.type = "button";
    button.addEventListener("click", () => run(command));
    item.append(button);
    more.append(item);
  }
}

export function wireMenu() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeMore();
  });
  document.addEventListener("click", (event) => {
    if (!$("more").hidden && !event.target.closest("#more, .more-toggle")) closeMore();
  });
}

export function homeCommand() {
  return (S.session && S.session.menu && S.session.menu.home) || "/start";
}
