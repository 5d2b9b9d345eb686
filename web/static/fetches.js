// The Fetches view: start a bulk fetch of a URL list (pasted, or a list
// file sent as it is), follow it live over its event stream (polling when
// the stream fails), cancel it, open its manifest, and list past fetches.
import { api, bus, bytes, creditsText, el, guard, prices, problemText, readJSON, request, scrollBox, sleep, when, $ } from "./lib.js";
import { events, lines } from "./textstream.js";

const MiB = 1048576;
// manifestRows is how many lines of a manifest the page reads and shows.
const manifestRows = 100;

let root;
let gen = 0; // bumped by reset: work begun for an earlier user drops its results
let live = null; // aborts the shown fetch's stream or polling and its manifest read
let counting = null; // aborts the count of the chosen list file's URLs
let fileURLs = 0; // URLs in the chosen list file; null while counting
let current = null; // the fetch the panel shows, as last seen
let next = ""; // the list's next_cursor: more past fetches to show
let price = null; // the server's price list (GET /v1/prices), for the estimate
const canceling = new Set(); // fetches asked to cancel, still running

export function init(section) {
  root = section;
  const formError = el("p", { id: "fetch-form-error", class: "fetch-error", role: "alert" });
  const form = el("form", { id: "fetch-form", "aria-label": "New fetch", novalidate: true, onsubmit: near(formError, submit) },
    el("h3", { text: "New fetch" }),
    el("label", {}, "URLs, one per line",
      el("textarea", { name: "urls", rows: "6", spellcheck: "false", autocomplete: "off", oninput: estimate })),
    el("label", {}, "Or a list file (one URL per line)",
      el("input", { type: "file", name: "list", accept: ".txt,.csv,.list,text/plain", onchange: countFile })),
    el("details", {}, el("summary", { text: "Options" }),
      el("div", { class: "fetch-options" },
        el("label", {}, "Max size per file (MiB)",
          el("input", { type: "number", name: "max_mib", min: "0.001", step: "any", value: "16", inputmode: "decimal", oninput: estimate })),
        el("label", {}, "Allowed types",
          el("input", { name: "types", placeholder: "image/*,application/pdf", autocomplete: "off", "aria-describedby": "fetch-types-hint" })),
        el("label", {}, "Concurrency",
          el("input", { type: "number", name: "concurrency", min: "1", max: "256", step: "1", placeholder: "64", inputmode: "numeric" })),
        el("p", { id: "fetch-types-hint", class: "muted", text: "Allowed types: comma-separated; empty takes every type the server stores. Concurrency: URLs fetched at once (default 64)." }))),
    el("p", { id: "fetch-estimate", class: "muted", "aria-live": "polite" }),
    formError,
    el("button", { type: "submit", text: "Start fetch" }));

  const panelError = el("p", { id: "fetch-panel-error", class: "fetch-error", role: "alert" });
  const panel = el("section", { id: "fetch-panel", "aria-labelledby": "fetch-panel-heading", hidden: true },
    el("h3", { id: "fetch-panel-heading", tabindex: "-1" }),
    el("p", { id: "fetch-status", role: "status", "aria-live": "polite" }),
    el("progress", { id: "fetch-progress", max: "1", value: "0" }),
    el("dl", { id: "fetch-facts", class: "fetch-facts" }),
    panelError,
    el("div", { class: "fetch-actions" },
      el("button", { type: "button", id: "fetch-cancel", class: "quiet", text: "Cancel fetch", hidden: true, onclick: near(panelError, cancel) }),
      el("button", { type: "button", id: "fetch-open-manifest", text: "Open manifest", hidden: true, onclick: near(panelError, openManifest) })),
    el("div", { id: "fetch-manifest", hidden: true }));

  const past = el("section", { "aria-labelledby": "fetch-past-heading" },
    el("h3", { id: "fetch-past-heading", text: "Past fetches" }),
    el("p", { id: "fetch-past-empty", class: "muted", text: "No fetches yet.", hidden: true }),
    scrollBox(el("table", { "aria-label": "Past fetches" },
      el("thead", {}, el("tr", {},
        ["Fetch", "State", "URLs", "Stored", "Failed", "Created"].map((h) => el("th", { scope: "col", text: h })),
        el("th", { scope: "col" }, el("span", { class: "vh", text: "Actions" })))),
      el("tbody", { id: "fetch-rows" }))),
    el("button", { type: "button", id: "fetch-more", class: "quiet", text: "More fetches", hidden: true, onclick: guard(more) }));

  root.append(el("h2", { id: "fetches-heading", text: "Fetches" }),
    el("p", { class: "muted", text: "Paste URLs or upload a list: each URL's file is stored in your account. Watch the fetch live, then open its manifest, which lists every URL's outcome." }),
    form, panel, past);
}

export async function show() {
  const g = gen;
  const [page, list] = await Promise.all([api("GET", "/v1/fetches?limit=20"), prices()]);
  if (g !== gen) return;
  price = list;
  estimate();
  renderList(page);
  if (!current && page.fetches.length) showPanel(page.fetches[0]);
}

// reset drops everything of the signed-out user: streams, counts, the
// panel, the list and what the form holds.
export function reset() {
  gen++;
  live?.abort();
  counting?.abort();
  live = counting = current = null;
  fileURLs = 0;
  canceling.clear();
  $("#fetch-form", root).reset();
  for (const id of ["#fetch-estimate", "#fetch-form-error", "#fetch-panel-error", "#fetch-status", "#fetch-panel-heading"]) {
    $(id, root).textContent = "";
  }
  $("#fetch-facts", root).replaceChildren();
  $("#fetch-manifest", root).replaceChildren();
  $("#fetch-panel", root).hidden = true;
  $("#fetch-rows", root).replaceChildren();
  $("#fetch-past-empty", root).hidden = true;
  $("#fetch-more", root).hidden = true;
  next = "";
}

// near wraps a handler as guard does, but shows its errors in box, next to
// what they concern; an aborted action (sign-out) shows nothing.
function near(box, fn) {
  return guard(async (ev) => {
    box.textContent = "";
    try {
      await fn(ev);
    } catch (err) {
      if (err?.name !== "AbortError") box.textContent = describe(err);
    }
  });
}

// describe says what went wrong.
const describe = (err) => problemText(err, "this fetch");

// isURLLine tells the lines of a list that name a URL, as the server reads
// a list: blank lines and lines starting with # are skipped.
function isURLLine(s) {
  const t = s.trim();
  return t !== "" && !t.startsWith("#");
}

const pastedURLs = () => $("#fetch-form", root).elements.urls.value.split("\n").map((s) => s.trim()).filter(isURLLine);

// maxSize is the form's max size per file in bytes, or 0 when it is not a
// number above 0.
function maxSize() {
  const mib = Number($("#fetch-form", root).elements.max_mib.value);
  return Number.isFinite(mib) && mib > 0 ? Math.max(1, Math.round(mib * MiB)) : 0;
}

// hold is what a fetch of n URLs holds at most, as fetchsvc reckons a
// shard's hold: n × per-URL, plus n × max size at the per-MiB price,
// rounded up (in BigInt: n × max × price passes 2^53 for large lists).
function hold(n, max) {
  const bytesPart = BigInt(n) * BigInt(max) * BigInt(price.fetch_per_mib);
  const mibPart = (bytesPart + BigInt(MiB) - 1n) / BigInt(MiB);
  return n * price.fetch_per_url + Number(mibPart);
}

// estimate says what the fetch the form describes holds at most.
function estimate() {
  const form = $("#fetch-form", root);
  const out = $("#fetch-estimate", root);
  const n = form.elements.list.files.length ? fileURLs : pastedURLs().length;
  const max = maxSize();
  if (n === null) out.textContent = "Counting the URLs in the file…";
  else if (n === 0 || !max || !price) out.textContent = "";
  else {
    const mib = (max / MiB).toLocaleString("en", { maximumFractionDigits: 3 });
    out.textContent = `${n.toLocaleString("en")} ${n === 1 ? "URL" : "URLs"}: holds at most ${creditsText(hold(n, max))} ` +
      `(${n.toLocaleString("en")} × (${price.fetch_per_url} + ${mib} MiB × ${price.fetch_per_mib.toLocaleString("en")}) µcredits) while it runs; ` +
      `it is charged only what it stores.`;
  }
}

// countFile counts the URLs of the chosen list file for the estimate,
// reading it as a stream: only the line being read is held.
async function countFile() {
  counting?.abort();
  const file = $("#fetch-form", root).elements.list.files[0];
  fileURLs = file ? null : 0;
  estimate();
  if (!file) return;
  const c = (counting = new AbortController());
  let n = 0;
  try {
    // A line longer than 64 KiB is refused by the server anyway.
    for await (const line of lines(file.stream(), { max: 65536, signal: c.signal })) if (isURLLine(line)) n++;
  } catch {
    if (c.signal.aborted) return;
  }
  if (counting !== c) return;
  counting = null;
  fileURLs = n;
  estimate();
}

// submit starts a fetch of the pasted URLs (JSON) or of the list file (its
// bytes as the text/plain body, options in the query).
async function submit(ev) {
  const form = ev.target;
  const box = $("#fetch-form-error", root);
  const urls = pastedURLs();
  const file = form.elements.list.files[0];
  if (!urls.length && !file) {
    box.textContent = "Paste at least one URL (one per line), or choose a list file.";
    form.elements.urls.focus();
    return;
  }
  if (urls.length && file) {
    box.textContent = "Give pasted URLs or a list file, not both: clear one of them.";
    return;
  }
  const max = maxSize();
  if (!max) {
    box.textContent = "Max size per file must be a number of MiB above 0.";
    form.querySelector("details").open = true;
    form.elements.max_mib.focus();
    return;
  }
  const types = form.elements.types.value.split(",").map((s) => s.trim()).filter(Boolean);
  const concurrency = form.elements.concurrency.value.trim();
  const g = gen;
  let res;
  if (file) {
    const q = new URLSearchParams({ max_size: String(max) });
    if (types.length) q.set("types", types.join(","));
    if (concurrency) q.set("concurrency", concurrency);
    res = await request("POST", `/v1/fetches?${q}`, { body: file, headers: { "Content-Type": "text/plain" } });
  } else {
    const options = { max_size: max };
    if (types.length) options.types = types;
    if (concurrency) options.concurrency = Number(concurrency);
    res = await request("POST", "/v1/fetches", { body: { urls, options } });
  }
  const f = await readJSON(res);
  if (g !== gen) return;
  bus.emit("balance-changed"); // its hold
  form.elements.urls.value = "";
  form.elements.list.value = "";
  counting?.abort();
  fileURLs = 0;
  estimate();
  upsertRow(f);
  showPanel(f);
}

const finished = (f) => f.status !== "running";

// showPanel shows f in the live panel, and follows it while it runs.
function showPanel(f) {
  live?.abort();
  live = new AbortController();
  current = f;
  $("#fetch-panel", root).hidden = false;
  $("#fetch-panel-heading", root).textContent = `Fetch ${f.id}`;
  $("#fetch-progress", root).setAttribute("aria-label", `Progress of ${f.id}`);
  $("#fetch-panel-error", root).textContent = "";
  const manifest = $("#fetch-manifest", root);
  manifest.hidden = true;
  manifest.replaceChildren();
  render(f);
  if (!finished(f)) follow(f.id, live.signal);
}

// follow reads f's event stream until its finished event; when the stream
// fails or ends early it polls GET /v1/fetches/{id} at its Retry-After.
async function follow(id, signal) {
  try {
    if (await stream(id, signal)) return;
  } catch (err) {
    if (signal.aborted) return;
  }
  try {
    await poll(id, signal);
  } catch (err) {
    if (!signal.aborted) $("#fetch-panel-error", root).textContent = describe(err);
  }
}

// stream reads GET /v1/fetches/{id}/events (EventSource cannot send the
// token) and answers whether it saw the finished event.
async function stream(id, signal) {
  const res = await request("GET", `/v1/fetches/${encodeURIComponent(id)}/events`, { signal, headers: { Accept: "text/event-stream" } });
  if (!res.ok) await readJSON(res); // throws its problem
  // Chromium reports a no-store body read to its end through a reader as
  // aborted (net::ERR_ABORTED, microsoft/playwright#42742), though it came
  // whole, unless a clone of the response is read along: the clone is read
  // and dropped, so nothing piles up.
  const spare = res.clone().body.getReader();
  (async () => {
    while (!(await spare.read()).done);
  })().catch(() => {}); // the stream's own read reports its failures
  let ended = false;
  for await (const { event, data } of events(res.body)) {
    update(JSON.parse(data), signal);
    if (event === "finished") ended = true;
  }
  return ended;
}

// poll asks for the fetch until it has finished (200), waiting its
// Retry-After between answers (202).
async function poll(id, signal) {
  for (;;) {
    const res = await request("GET", `/v1/fetches/${encodeURIComponent(id)}`, { signal });
    const f = await readJSON(res);
    update(f, signal);
    if (res.status !== 202) return;
    const wait = Number(res.headers.get("Retry-After"));
    await sleep(Math.min(60, wait > 0 ? wait : 1) * 1000, signal);
  }
}

// update takes a fresh view of a fetch: its panel and its row.
function update(f, signal) {
  if (signal.aborted) return;
  upsertRow(f);
  if (current?.id !== f.id) return;
  const ended = finished(f) && !finished(current);
  current = f;
  render(f);
  if (ended) {
    canceling.delete(f.id);
    bus.emit("balance-changed"); // its hold settled
  }
}

// render fills the panel with f: status line, progress, facts, actions.
function render(f) {
  const c = f.counts;
  const asked = canceling.has(f.id) && !finished(f);
  let status = `${asked ? "canceling" : f.status}: ${c.done} of ${f.urls} URLs done, ${c.ok} stored, ${c.errors} failed`;
  if (c.duplicates) status += `, ${c.duplicates} duplicates`;
  $("#fetch-status", root).textContent = `${status}.`;
  const bar = $("#fetch-progress", root);
  bar.max = Math.max(1, f.urls);
  // A fetch that succeeded is whole, though a URL repeated in the list is
  // done only once.
  bar.value = f.status === "succeeded" ? f.urls : c.done;

  const end = f.finished_at ? Date.parse(f.finished_at) : Date.now();
  const facts = [
    ["State", asked ? "running (cancel asked)" : f.status],
    ["Stored", String(c.ok)],
    ["Duplicates", c.duplicates ? `${c.duplicates} (the same bytes as a URL stored before: not stored again)` : "0"],
    ["Failed", String(c.errors)],
    ["Errors by kind", Object.entries(c.by_kind ?? {}).map(([k, n]) => `${k}: ${n}`).join(", ") || "none"],
  ];
  if (finished(f) && f.urls > c.done) {
    facts.push([f.status === "succeeded" ? "Skipped" : "Not fetched",
      `${f.urls - c.done}${f.status === "succeeded" ? " (repeated in the list)" : ""}`]);
  }
  facts.push(
    ["Bytes stored", bytes(c.bytes)],
    ["Rate", `${f.rate.toLocaleString("en", { maximumFractionDigits: 1 })} URLs/s`],
    ["Elapsed", duration(end - Date.parse(f.created_at))],
    ["Cost", finished(f) ? creditsText(f.charged) : `${creditsText(f.charged)} so far, ${creditsText(f.held)} held`],
  );
  if (f.error) facts.push(["Error", f.error]);
  $("#fetch-facts", root).replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));

  $("#fetch-cancel", root).hidden = finished(f) || asked;
  $("#fetch-open-manifest", root).hidden = !finished(f) || !f.manifest_object_id || !$("#fetch-manifest", root).hidden;
}

// duration formats milliseconds as "4 s" or "2 min 5 s".
function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

async function cancel() {
  const f = current;
  canceling.add(f.id);
  render(f);
  try {
    update(await api("DELETE", `/v1/fetches/${encodeURIComponent(f.id)}`, undefined, { signal: live.signal }), live.signal);
  } catch (err) {
    canceling.delete(f.id);
    render(current);
    throw err;
  }
}

// openManifest reads the first lines of the fetch's manifest through a
// download URL (which is charged) and shows them, with a link to it all.
async function openManifest() {
  const f = current;
  const { signal } = live;
  const link = await api("POST", `/v1/objects/${encodeURIComponent(f.manifest_object_id)}/url`, {}, { signal });
  bus.emit("balance-changed");
  const res = await fetch(link.url, { signal });
  if (!res.ok) throw new Error(`Reading the manifest failed: HTTP ${res.status}.`);
  const results = [];
  for await (const line of lines(res.body)) {
    if (line.trim()) results.push(JSON.parse(line));
    if (results.length === manifestRows) break;
  }
  if (current !== f || signal.aborted) return;
  let more = `All ${results.length} results.`;
  if (f.counts.done > results.length) more = `Showing the first ${results.length} of ${f.counts.done} results; download the manifest for all of them.`;
  if (!results.length) more = "It lists no results: no part of the fetch completed.";
  const box = $("#fetch-manifest", root);
  box.replaceChildren(
    el("h4", { text: "Manifest" }),
    el("p", {}, `The fetch cost ${creditsText(f.charged)}; opening its manifest cost ${creditsText(link.charged)}. ${more} `,
      el("a", { href: link.url, download: `${f.id}.ndjson`, class: "fetch-download", text: "Download manifest" })),
    scrollBox(el("table", { "aria-label": `Manifest of ${f.id}`, class: "fetch-manifest" },
      el("thead", {}, el("tr", {}, ["URL", "Outcome", "Object or error"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, results.map(manifestRow)))));
  box.hidden = false;
  $("#fetch-open-manifest", root).hidden = true;
}

// manifestRow is a table row of one manifest result.
function manifestRow(r) {
  let outcome;
  let what;
  if (r.status === "ok" || r.status === "duplicate") {
    outcome = r.status === "ok" ? "stored" : "duplicate";
    what = `${r.status === "ok" ? "" : "same bytes as "}${r.object_id || "an object"} (${bytes(r.size)}${r.content_type ? `, ${r.content_type}` : ""})`;
  } else {
    outcome = `failed (${r.kind || "error"})`;
    what = r.error || "";
  }
  return el("tr", {}, el("td", { class: "fetch-url", text: r.url }), el("td", { text: outcome }), el("td", { class: "fetch-what", text: what }));
}

// renderList shows the first page of the account's fetches, newest first.
function renderList(page) {
  $("#fetch-rows", root).replaceChildren(...page.fetches.map(row));
  $("#fetch-past-empty", root).hidden = page.fetches.length > 0;
  next = page.next_cursor || "";
  $("#fetch-more", root).hidden = !next;
}

// more adds the next page of past fetches to the list.
async function more() {
  const g = gen;
  const page = await api("GET", `/v1/fetches?limit=20&cursor=${encodeURIComponent(next)}`);
  if (g !== gen) return;
  const rows = $("#fetch-rows", root);
  const have = new Set([...rows.children].map((tr) => tr.dataset.id));
  rows.append(...page.fetches.filter((f) => !have.has(f.id)).map(row));
  next = page.next_cursor || "";
  $("#fetch-more", root).hidden = !next;
}

// upsertRow puts f's row in the list, replacing its old one or on top.
function upsertRow(f) {
  const rows = $("#fetch-rows", root);
  const old = [...rows.children].find((tr) => tr.dataset.id === f.id);
  if (old) old.replaceWith(row(f));
  else rows.prepend(row(f));
  $("#fetch-past-empty", root).hidden = true;
}

// pick shows a listed fetch's panel (the one shown goes on as it is) and
// moves the focus there.
function pick(f) {
  if (current?.id !== f.id) showPanel(f);
  $("#fetch-panel-heading", root).focus();
}

function row(f) {
  const tr = el("tr", {},
    el("td", { class: "fetch-id", text: f.id }),
    el("td", { text: f.status }),
    el("td", { text: String(f.urls) }),
    el("td", { text: String(f.counts.ok) }),
    el("td", { text: String(f.counts.errors) }),
    el("td", { text: when(f.created_at) }),
    el("td", {}, el("button", { type: "button", class: "quiet", text: "Show", "aria-label": `Show ${f.id}`, onclick: () => pick(f) })));
  tr.dataset.id = f.id;
  return tr;
}
