// The Files view: the account's files as cards, a page at a time, filtered
// by type, pin and name. Ready images show a thumbnail, audio and video a
// player on demand; each file can be downloaded, shared through an
// expiring link, pinned or unpinned, and deleted. Whatever reads bytes is
// charged (thumbnails, plays, downloads, links), so each card says the
// price before the click and the header's balance is refreshed after.
import { ProblemError, api, bus, bytes, cost, creditsText, el, prices, problemText, readJSON, request, saveAs, session, when } from "./lib.js";

const GiB = 2 ** 30;
// price is the server's price list (micro-credits), read when first shown.
let price;

// thumbTypes are the types the server makes thumbnails of.
const thumbTypes = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const typeChoices = [["All", ""], ["Images", "image/"], ["Audio", "audio/"], ["Video", "video/"], ["PDF", "application/pdf"], ["Text", "text/"]];
const pinnedChoices = [["All", ""], ["Pinned", "true"], ["Not pinned", "false"]];
const pageSizes = [12, 24, 48];
const defaultPageSize = 24;
const linkLifetimes = [["15 minutes", 900], ["1 hour", 3600], ["1 day", 86_400], ["7 days", 604_800]];
const defaultLifetime = 3600;

let root, filters, pricesText, grid, status, listAlert, pageText, prevButton, nextButton, observer;
// cursors[i] is the cursor of page i + 1 ("" for the first); next is the
// cursor of the page after the one shown, "" on the last.
let cursors = [""];
let next = "";
// generation counts loads and resets: an answer of an older one is dropped.
let generation = 0;
let loading = false;
let shown = false;
let searchTimer, reloadTimer, balanceTimer;
// cards are the cards shown, by object id. A card lives until its object
// leaves the page or changes state: a reload keeps its thumbnail, player
// and share link. Code that awaits checks current(card) before touching it.
const cards = new Map();
const owners = new WeakMap(); // thumbnail box → its card, for the observer

const downloadCost = (size) => cost(size, price.download_per_mib);
const enc = encodeURIComponent;
const current = (card) => cards.get(card.obj.id) === card;

export function init(section) {
  root = section;
  const select = (name, label, choices, chosen) => el("label", {}, label,
    el("select", { name, onchange: refilter }, choices.map(([text, value]) =>
      el("option", { value, selected: String(value) === String(chosen), text }))));
  const search = el("input", { type: "search", name: "name", maxlength: 200, autocomplete: "off" });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refilter, 300);
  });
  const submit = (ev) => {
    ev.preventDefault(); // Enter in the search: at once
    refilter();
  };
  filters = el("form", { class: "files-filters", role: "search", "aria-label": "Filter files", onsubmit: submit },
    el("label", { class: "files-search" }, "Search by name", search),
    select("type", "Type", typeChoices, ""),
    select("pinned", "Pinned", pinnedChoices, ""),
    select("limit", "Per page", pageSizes.map((n) => [String(n), n]), defaultPageSize));
  status = el("p", { class: "files-status", role: "status", tabindex: "-1" });
  pricesText = el("p", { class: "muted files-prices" });
  listAlert = el("p", { class: "files-alert", role: "alert" });
  grid = el("ul", { class: "files-grid", role: "list", "aria-label": "Files" });
  prevButton = el("button", { type: "button", class: "quiet", text: "Previous page", disabled: true, onclick: () => turn(-1) });
  nextButton = el("button", { type: "button", class: "quiet", text: "Next page", disabled: true, onclick: () => turn(1) });
  pageText = el("span", { "aria-live": "polite" });
  root.append(
    el("h2", { id: "files-heading", text: "Files" }),
    filters,
    pricesText,
    status, listAlert, grid,
    el("nav", { class: "files-pager", "aria-label": "Pages" }, prevButton, pageText, nextButton));
  observer = new IntersectionObserver((seen) => {
    for (const e of seen) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      const card = owners.get(e.target);
      if (card && current(card)) loadThumbnail(card);
    }
  }, { rootMargin: "200px" });
  bus.on("objects-changed", () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
      if (shown && !root.hidden && session.token()) load();
    }, 300);
  });
}

export async function show() {
  shown = true;
  price = await prices();
  pricesText.textContent = `Thumbnails, plays, downloads and share links cost ${creditsText(price.download_per_mib)} per MiB. ` +
    `Pinning keeps a file from expiring; pinned storage costs ${creditsText(price.pin_per_gib_day)} per GiB a day, ` +
    "charged by the hour, and pinning needs an hour's worth of credit available.";
  await load();
}

// reset forgets the user: cards (their object URLs revoked, players
// stopped), filters, cursors, timers; answers still on their way are
// dropped when they come.
export function reset() {
  generation++;
  shown = false;
  loading = false;
  for (const t of [searchTimer, reloadTimer, balanceTimer]) clearTimeout(t);
  for (const card of [...cards.values()]) drop(card);
  grid.replaceChildren();
  filters.reset();
  cursors = [""];
  next = "";
  status.textContent = "";
  listAlert.textContent = "";
  pagerState();
}

// refilter shows the first page of what the filters now ask for.
function refilter() {
  clearTimeout(searchTimer);
  cursors = [""];
  load();
}

function turn(by) {
  if (loading) return;
  if (by > 0 && next) cursors.push(next);
  if (by < 0 && cursors.length > 1) cursors.pop();
  load();
}

// load shows the current page. It never throws: a failure shows in the
// list's alert.
async function load() {
  const gen = ++generation;
  loading = true;
  const f = filters.elements;
  const q = new URLSearchParams({ limit: f.limit.value });
  if (cursors.at(-1)) q.set("cursor", cursors.at(-1));
  if (f.type.value) q.set("type", f.type.value);
  if (f.pinned.value) q.set("pinned", f.pinned.value);
  if (f.name.value) q.set("name", f.name.value);
  status.textContent = "Loading…";
  let page;
  try {
    page = await api("GET", `/v1/objects?${q}`);
  } catch (err) {
    if (gen !== generation) return;
    loading = false;
    status.textContent = "";
    listAlert.textContent = `The files could not be listed: ${problemText(err)}`;
    return;
  }
  if (gen !== generation) return;
  loading = false;
  if (page.objects.length === 0 && cursors.length > 1) {
    cursors.pop(); // the page emptied (deletions): show the one before
    return load();
  }
  listAlert.textContent = "";
  next = page.next_cursor;
  render(page.objects);
  const n = page.objects.length;
  const filtered = [...q.keys()].some((k) => k !== "limit" && k !== "cursor");
  status.textContent = n ? `${n} ${n === 1 ? "file" : "files"} on this page`
    : filtered ? "No files match these filters." : "No files yet: upload one above.";
  pagerState();
}

function pagerState() {
  const focused = document.activeElement;
  prevButton.disabled = cursors.length <= 1;
  nextButton.disabled = !next;
  pageText.textContent = shown ? `Page ${cursors.length}` : "";
  // Keep keyboard focus in the pager when the button pressed goes disabled.
  if (focused?.disabled && (focused === prevButton || focused === nextButton)) {
    (prevButton.disabled ? nextButton : prevButton).focus();
  }
}

// render shows objects as cards, reusing the cards of objects already
// shown in the same state and dropping the rest.
function render(objects) {
  const ids = new Set(objects.map((o) => o.id));
  for (const card of [...cards.values()]) {
    if (!ids.has(card.obj.id)) drop(card);
  }
  const lost = grid.contains(document.activeElement) ? document.activeElement : null;
  grid.replaceChildren(...objects.map((o) => {
    let card = cards.get(o.id);
    if (card && card.kind !== kindOf(o)) {
      drop(card);
      card = null;
    }
    if (!card) return makeCard(o).node;
    const changed = stateKey(card.obj) !== stateKey(o);
    card.obj = o;
    if (changed) renderState(card);
    return card.node;
  }));
  if (lost && !lost.isConnected) status.focus();
}

// kindOf is what a card is built from once; stateKey what it redraws.
const kindOf = (o) => `${o.state}|${o.content_type}|${o.size}|${o.filename}`;
const stateKey = (o) => `${o.pinned}|${o.pin_state}`;

// drop forgets a card: its thumbnail's object URL is revoked and its
// player stopped.
function drop(card) {
  if (current(card)) cards.delete(card.obj.id);
  observer.unobserve(card.thumb);
  for (const url of card.urls) URL.revokeObjectURL(url);
  card.urls = [];
  for (const media of card.node.querySelectorAll("audio, video")) {
    media.pause();
    media.removeAttribute("src");
    media.load();
  }
  card.node.remove();
}

function makeCard(o) {
  const card = { obj: o, kind: kindOf(o), urls: [] };
  const ready = o.state === "ready";
  const picture = ready && thumbTypes.has(o.content_type);
  card.thumb = el("div", { class: picture ? "file-thumb picture" : "file-thumb" }, typeLabel(o));
  card.state = el("p", { class: "file-state" });
  card.actions = el("div", { class: "file-actions" });
  card.player = el("div", { class: "file-player" });
  card.share = el("div", { class: "file-share", hidden: true });
  card.note = el("p", { class: "file-note", "aria-live": "polite" });
  card.alert = el("p", { class: "file-alert", role: "alert" });
  const media = /^(audio|video)\//.test(o.content_type);
  const cost = creditsText(downloadCost(o.size));
  card.node = el("li", {}, el("article", { class: "file", "aria-label": o.filename },
    card.thumb,
    el("h3", { class: "file-name", text: o.filename }),
    el("p", { class: "file-meta" }, `${bytes(o.size)} · ${o.content_type}`, el("br"),
      "Added ", el("time", { datetime: o.created_at, text: when(o.created_at) })),
    card.state,
    ready ? el("p", { class: "file-price muted" }, media ? `Playing or downloading costs ${cost}. ` : `Downloading costs ${cost}. `,
      `Pinning: ${pinText(o.size)}.`) : null,
    card.actions, card.player, card.share, card.note, card.alert));
  cards.set(o.id, card);
  renderState(card);
  if (picture) {
    owners.set(card.thumb, card);
    observer.observe(card.thumb);
  }
  return card;
}

// pinText is what pinning size bytes costs a day.
function pinText(size) {
  const perDay = (size * price.pin_per_gib_day) / GiB;
  return perDay < 1 ? `under ${creditsText(1)} a day` : `about ${creditsText(Math.ceil(perDay))} a day`;
}

// typeLabel stands for a file without a thumbnail: its subtype, short.
function typeLabel(o) {
  const [major, sub = ""] = o.content_type.split("/");
  const name = sub === "plain" ? "TXT" : sub.split(/[;+.-]/)[0].slice(0, 5).toUpperCase();
  return el("span", { class: `file-type file-type-${major}`, "aria-hidden": "true", text: name || "FILE" });
}

// renderState draws the card's state line and its buttons.
function renderState(card) {
  const o = card.obj;
  const focused = card.actions.contains(document.activeElement) ? document.activeElement.textContent : null;
  let text;
  if (o.state === "pending") {
    text = `Uploading: not ready yet${o.expires_at ? ` (dropped if not finished by ${when(o.expires_at)})` : ""}`;
  } else if (o.pin_state === "suspended") {
    text = "Ready · pin suspended: the credit ran out; pin again to resume";
  } else {
    text = o.pinned ? "Ready · pinned (active)" : "Ready";
  }
  card.state.textContent = text;
  const button = (label, fn, cls = "quiet") => el("button", {
    type: "button", class: cls, text: label, "aria-label": `${label} ${o.filename}`, onclick: action(card, fn),
  });
  const buttons = [];
  if (o.state === "ready") {
    if (/^(audio|video)\//.test(o.content_type) && !card.player.hasChildNodes()) buttons.push(button("Play", play));
    buttons.push(button("Download", download));
    const share = button("Share", toggleShare);
    share.setAttribute("aria-expanded", String(!card.share.hidden));
    buttons.push(share);
    if (!o.pinned || o.pin_state === "suspended") buttons.push(button("Pin", (c) => setPinned(c, true)));
    if (o.pinned) buttons.push(button("Unpin", (c) => setPinned(c, false)));
  }
  buttons.push(button("Delete", remove, "danger"));
  card.actions.replaceChildren(...buttons);
  buttons.find((b) => b.textContent === focused)?.focus();
}

// action wraps a card's handler: its errors show in the card's alert, and
// the button is disabled meanwhile.
function action(card, fn) {
  return async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || ev.currentTarget;
    card.alert.textContent = "";
    button.disabled = true;
    try {
      await fn(card, ev);
    } catch (err) {
      if (!current(card)) return;
      if (err instanceof ProblemError && err.status === 404) {
        card.gone = true;
        for (const b of card.node.querySelectorAll("button")) b.disabled = true;
        card.alert.textContent = `${card.obj.filename} is gone: it was deleted elsewhere.`;
        return;
      }
      card.alert.textContent = problemText(err);
    } finally {
      button.disabled = !!card.gone;
    }
  };
}


// charged refreshes the header's balance after something cost credit.
function charged(micro) {
  if (micro > 0) bus.emit("balance-changed");
}

// downloadURL makes a signed GET of the card's object (charged).
async function downloadURL(card, body = {}) {
  const d = await api("POST", `/v1/objects/${enc(card.obj.id)}/url`, body);
  charged(d.charged);
  return d;
}

async function loadThumbnail(card) {
  const o = card.obj;
  let blob, cost = 0, why = "No preview";
  try {
    const res = await request("GET", `/v1/objects/${enc(o.id)}/thumbnail?size=256`);
    if (res.ok) {
      blob = await res.blob();
      cost = Number(res.headers.get("X-Mg-Charged")) || 0;
    } else {
      await readJSON(res).catch((err) => {
        if (err.status === 402) why = "No preview: not enough credit";
      });
    }
  } catch {
    // Offline or cut off: the type label stays.
  }
  if (!current(card)) return;
  if (cost > 0) {
    clearTimeout(balanceTimer);
    balanceTimer = setTimeout(() => bus.emit("balance-changed"), 500);
  }
  if (!blob) {
    card.thumb.append(el("span", { class: "file-thumb-note", text: why }));
    return;
  }
  const url = URL.createObjectURL(blob);
  card.urls.push(url);
  const img = el("img", { alt: o.filename, src: url });
  try {
    await img.decode();
  } catch {
    if (current(card)) card.thumb.append(el("span", { class: "file-thumb-note", text: why }));
    return;
  }
  if (current(card)) card.thumb.replaceChildren(img);
}

async function play(card) {
  const o = card.obj;
  const d = await downloadURL(card);
  if (!current(card)) return;
  const video = o.content_type.startsWith("video/");
  const media = el(video ? "video" : "audio", {
    controls: true, preload: "metadata", src: d.url, playsinline: video, "aria-label": `Player of ${o.filename}`,
  });
  card.player.replaceChildren(media);
  card.note.textContent = `Playing cost ${creditsText(d.charged)}; the player works until ${when(d.expires_at)}.`;
  renderState(card); // the Play button goes: the player is there
  media.focus();
  media.play().catch(() => {}); // autoplay refused: the controls remain
}

async function download(card) {
  const d = await downloadURL(card);
  saveAs(d.url, card.obj.filename);
  if (current(card)) card.note.textContent = `Download started; it cost ${creditsText(d.charged)}.`;
}

function toggleShare(card, ev) {
  const open = card.share.hidden;
  if (!card.share.hasChildNodes()) card.share.append(shareForm(card));
  card.share.hidden = !open;
  ev.currentTarget.setAttribute("aria-expanded", String(open));
  if (open) card.share.querySelector("select").focus();
}

function shareForm(card) {
  const o = card.obj;
  const result = el("div", { class: "share-result" });
  const lifetime = el("select", { name: "expires_in" }, linkLifetimes.map(([text, s]) =>
    el("option", { value: s, selected: s === defaultLifetime, text })));
  return el("form", { "aria-label": `Share ${o.filename}`, onsubmit: action(card, async () => {
    const d = await downloadURL(card, { expires_in: Number(lifetime.value) });
    if (current(card)) result.replaceChildren(...shareResult(card, d));
  }) },
  el("label", {}, "Link expires in", lifetime),
  el("button", { type: "submit", text: "Create link" }),
  result);
}

// shareResult shows a link made: the URL to copy, its expiry and its cost.
function shareResult(card, d) {
  const o = card.obj;
  const input = el("input", { type: "text", readonly: true, value: d.url, class: "share-url" });
  const copied = el("span", { class: "muted", "aria-live": "polite" });
  const copy = el("button", { type: "button", class: "quiet", text: "Copy", "aria-label": `Copy the share link for ${o.filename}`,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(d.url);
        copied.textContent = "Copied.";
      } catch {
        // No clipboard (permission, plain http): select it to copy by hand.
        input.select();
        copied.textContent = "Selected: press Ctrl+C to copy.";
      }
    } });
  input.addEventListener("focus", () => input.select());
  return [
    el("label", {}, "Share link", el("span", { class: "vh", text: ` for ${o.filename}` }), input),
    el("p", { class: "share-info" }, "Expires ", el("time", { datetime: d.expires_at, text: when(d.expires_at) }),
      `; anyone with the link can download the file until then. This link cost ${creditsText(d.charged)}.`),
    el("p", { class: "share-copy" }, copy, " ", copied),
  ];
}

async function setPinned(card, on) {
  const o = await api(on ? "POST" : "DELETE", `/v1/objects/${enc(card.obj.id)}/pin`);
  if (!current(card)) return;
  card.obj = o;
  renderState(card);
  card.actions.querySelector(on ? '[aria-label^="Unpin"]' : '[aria-label^="Pin"]')?.focus();
  card.note.textContent = on ? `Pinned: kept until you unpin it, for ${pinText(o.size)}.` : "Unpinned: pinned storage is no longer charged.";
  if (filters.elements.pinned.value) await load(); // it may no longer match
}

async function remove(card) {
  const o = card.obj;
  if (!confirm(`Delete ${o.filename}? This cannot be undone.`)) return;
  // A pending upload is aborted, which releases the credit it holds.
  const pending = o.state === "pending";
  try {
    await api("DELETE", pending ? `/v1/uploads/${enc(o.id)}` : `/v1/objects/${enc(o.id)}`);
  } catch (err) {
    if (!(err instanceof ProblemError && err.status === 404)) throw err;
  }
  if (pending) bus.emit("balance-changed");
  if (!current(card)) return;
  drop(card);
  status.focus();
  await load();
}
