// Pictures and files in messages: images as thumbnails that open full size, documents as
// file cards with name, size and a download link.
import { $, el, tr } from "./core.js";

function openViewer(url) {
  const viewer = $("viewer");
  $("viewer-image").src = url;
  viewer.hidden = false;
  $("viewer-close").focus();
}

export function closeViewer() {
  const viewer = $("viewer");
  if (viewer.hidden) return;
  viewer.hidden = true;
  $("viewer-image").removeAttribute("src");
}

export function imageBubble(image) {
  const bubble = el("div", "bubble media");
  if (!image.url) {
    bubble.textContent = image.expired ? tr("web.media.expired") : tr("web.media.unavailable");
    bubble.classList.add("tip");
    return bubble;
  }
  const thumb = el("button", "thumb");
  thumb.type = "button";
  thumb.setAttribute("aria-label", tr("web.media.open"));
  const img = el("img");
  img.src = image.url;
  img.alt = tr("web.media.picture");
  img.loading = "lazy";
  thumb.append(img);
  thumb.addEventListener("click", () => openViewer(image.url));
  bubble.append(thumb);
  return bubble;
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function fileCard(file) {
  const card = el(file.url ? "a" : "div", "bubble file");
  if (file.url) {
    card.href = file.url;
    card.download = file.name;
  }
  card.append(el("span", "file-icon", "📄"));
  const info = el("span", "file-info");
  info.append(el("span", "file-name", file.name));
  const detail = file.url ? `${formatSize(file.size)} · ${tr("web.media.download")}` : tr("web.media.expired");
  info.append(el("span", "file-size", detail));
  card.append(info);
  return card;
}

export function wireViewer() {
  $("viewer").addEventListener("click", closeViewer);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeViewer();
  });
}
