// The upload panel of the Files route: many files at once, dropped or
// chosen, sent straight to storage through the API's pre-signed URLs — one
// PUT for a small file, parallel parts for a big one — with progress per
// file and overall, pause, resume and cancel. Every unfinished upload is
// recorded in localStorage under its account, so after a reload (or the
// next sign-in of the same user) it can be resumed with the same file.
import { api, bus, bytes, el, guard, ProblemError, problemText, sleep, $ } from "./lib.js";
import { put, Slots } from "./transfer.js";
import { forget, keep, records, storedOf } from "./uploadrecords.js";

const MiB = 1 << 20;
const singleMax = 16 * MiB; // up to this, one PUT; above, multipart
const partSize = 8 * MiB;
const maxFiles = 3; // files uploading at once
const maxPuts = 4; // PUTs in flight at once, across the page
const slots = new Slots(maxPuts);
const retries = 4; // of a PUT that failed for the network, 5xx, 408 or 429
const signBatch = 200; // part URLs asked for per call (the API takes 1000)

let root;
let accountP = null; // promise of the signed-in account's id
let uploads = []; // one per row, in order
let gen = 0; // bumped by reset: work of an older generation stops writing
let timer = null;

export function init(section) {
  root = section;
  const input = el("input", { type: "file", multiple: true, id: "upload-input", onchange: () => {
    addFiles(input.files);
    input.value = "";
  } });
  const zone = el("div", { class: "dropzone", id: "upload-zone" },
    el("p", { text: "Drop files here or choose files" }),
    el("label", { class: "choose" }, "Choose files", input));
  zone.addEventListener("dragenter", () => zone.classList.add("over"));
  zone.addEventListener("dragleave", (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove("over"); });
  // Files dropped anywhere on the page while this panel shows are taken;
  // elsewhere a dropped file must not replace the page either.
  window.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = root.hidden ? "none" : "copy";
  });
  window.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    zone.classList.remove("over");
    if (!root.hidden) addFiles(e.dataTransfer.files);
  });
  const overall = el("div", { class: "overall", id: "upload-overall", hidden: true },
    el("progress", { id: "upload-all", "aria-label": "All uploads", max: "1", value: "0" }),
    el("div", { class: "line" },
      el("span", { id: "upload-all-text", role: "status", "aria-live": "polite" }),
      el("span", { class: "buttons" },
        el("button", { type: "button", class: "quiet", id: "upload-pause-all", text: "Pause all", onclick: () => uploads.forEach(pause) }),
        el("button", { type: "button", class: "quiet", id: "upload-resume-all", text: "Resume all", onclick: () => uploads.forEach(resume) }),
        el("button", { type: "button", class: "quiet", id: "upload-clear", text: "Clear finished", onclick: clearFinished }))));
  const interrupted = el("section", { id: "upload-interrupted", "aria-labelledby": "upload-interrupted-heading", hidden: true },
    el("h3", { id: "upload-interrupted-heading", text: "Interrupted uploads" }),
    el("p", { class: "muted", text: "Choose the same file again to send what is missing." }),
    el("ul", { id: "upload-interrupted-list", class: "uploads" }));
  root.append(el("h2", { id: "upload-heading", text: "Upload" }), zone, overall,
    el("ul", { id: "upload-rows", class: "uploads", "aria-label": "Uploads" }),
    interrupted, el("p", { id: "upload-note", class: "muted", role: "status", "aria-live": "polite" }));
}

const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes("Files");

export async function show() {
  const g = gen;
  const acct = await account();
  if (g === gen) await listInterrupted(acct, g);
}

// reset stops all work and forgets the user; the records of unfinished
// uploads stay, under that user's account, for their next sign-in.
export function reset() {
  gen++;
  for (const u of uploads) u.ctrl?.abort(new DOMException("signed out", "AbortError"));
  uploads = [];
  accountP = null;
  $("#upload-rows", root).replaceChildren();
  $("#upload-interrupted-list", root).replaceChildren();
  $("#upload-interrupted", root).hidden = true;
  $("#upload-note", root).textContent = "";
  render();
}

function account() {
  accountP ??= api("GET", "/v1/account").then((a) => a.id, (err) => {
    accountP = null;
    throw err;
  });
  return accountP;
}

async function addFiles(list) {
  const files = [...list];
  if (!files.length) return;
  const g = gen;
  const acct = await account();
  if (g !== gen) return;
  for (const file of files) start(newUpload(file, acct));
}

function newUpload(file, acct) {
  const u = { file, acct, name: file.name, size: file.size, type: file.type || "application/octet-stream",
    id: null, state: "waiting", multipart: false, partSize: 0, partCount: 0, expiresAt: null, instruction: null,
    urls: new Map(), stored: new Map(), inflight: new Map(), todo: [], checkParts: false, resumable: false,
    running: false, ctrl: null, signing: null };
  u.row = row(u);
  return u;
}

function start(u) {
  uploads.push(u);
  $("#upload-rows", root).append(u.row.li);
  if (!u.size) fail(u, new Error("This file is empty: there is nothing to upload."));
  pump();
  render();
}

function row(u) {
  const btn = (label, fn) => el("button", { type: "button", class: "quiet", text: label, "aria-label": `${label} ${u.name}`, onclick: fn });
  const r = {
    bar: el("progress", { "aria-label": `Upload of ${u.name}`, max: String(u.size || 1), value: "0" }),
    status: el("span", { class: "status", "aria-live": "polite" }),
    msg: el("p", { class: "err", role: "alert" }),
    pause: btn("Pause", () => { pause(u); r.resume.focus(); }),
    resume: btn("Resume", () => { resume(u); r.pause.focus(); }),
    cancel: btn("Cancel", guard(() => cancel(u))),
  };
  r.li = el("li", {},
    el("div", { class: "line" }, el("span", { class: "name", text: u.name }), el("span", { class: "muted", text: bytes(u.size) })),
    r.bar,
    el("div", { class: "line" }, r.status, el("span", { class: "buttons" }, r.pause, r.resume, r.cancel)),
    r.msg);
  return r;
}

// pump starts waiting uploads while fewer than maxFiles run.
function pump() {
  let running = uploads.filter((u) => u.running).length;
  for (const u of uploads) {
    if (running >= maxFiles) break;
    if (u.state === "waiting" && !u.running) {
      running++;
      run(u);
    }
  }
}

async function run(u) {
  u.running = true;
  const ctrl = (u.ctrl = new AbortController());
  const { signal } = ctrl;
  const g = gen;
  u.state = "uploading";
  render();
  try {
    if (!u.id) await declare(u, signal);
    if (u.expiresAt && Date.parse(u.expiresAt) <= Date.now()) {
      throw new Error("This upload expired before all its bytes arrived: cancel it and upload the file again.");
    }
    if (u.multipart) await sendParts(u, signal);
    else await sendPart(u, 0, u.file.slice(0, u.size), signal);
    u.state = "verifying";
    render();
    await api("POST", `/v1/uploads/${u.id}/complete`, {}, { signal });
    forget(u.acct, u.id);
    u.state = "done";
    bus.emit("objects-changed");
    bus.emit("balance-changed");
  } catch (err) {
    if (!signal.aborted && g === gen) fail(u, err);
  } finally {
    u.running = false;
    if (u.ctrl === ctrl) u.ctrl = null;
    if (g === gen) {
      pump();
      render();
    }
  }
}

// declare asks for the upload (POST /v1/uploads). Its answer is awaited
// even if the user paused or cancelled meanwhile, so no upload the server
// made is lost track of.
async function declare(u, signal) {
  const multipart = u.size > singleMax;
  const size = multipart ? Math.max(partSize, Math.ceil(u.size / 10000 / MiB) * MiB) : 0;
  const res = await api("POST", "/v1/uploads", { filename: u.name, content_type: u.type, size: u.size, multipart, part_size: size });
  u.id = res.object.id;
  u.resumable = true;
  if (res.multipart) {
    Object.assign(u, { multipart: true, partSize: res.multipart.part_size, partCount: res.multipart.part_count });
    u.expiresAt = res.multipart.expires_at || res.object.expires_at;
  } else {
    u.instruction = res.upload;
    u.expiresAt = res.upload.expires_at;
  }
  keep(u);
  bus.emit("balance-changed"); // the upload's cost is held
  if (u.state === "cancelled") await discard(u);
  signal.throwIfAborted();
}

async function sendParts(u, signal) {
  if (u.checkParts) {
    const { parts } = await api("GET", `/v1/uploads/${u.id}/parts`, undefined, { signal });
    u.stored.clear();
    for (const p of parts) if (p.size === partLen(u, p.number)) u.stored.set(p.number, p.size);
  }
  u.todo = [];
  for (let n = 1; n <= u.partCount; n++) if (!u.stored.has(n)) u.todo.push(n);
  // The first failure stops the file's other parts.
  const inner = new AbortController();
  const stop = () => inner.abort(signal.reason);
  signal.addEventListener("abort", stop, { once: true });
  const worker = async () => {
    while (u.todo.length) {
      const n = u.todo.shift();
      const start = (n - 1) * u.partSize;
      await sendPart(u, n, u.file.slice(start, start + partLen(u, n)), inner.signal);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(maxPuts, u.todo.length) }, () => worker().catch((err) => {
      inner.abort(err);
      throw err;
    })));
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

const partLen = (u, n) => (n < u.partCount ? u.partSize : u.size - (n - 1) * u.partSize);
const fresh = (url) => url && Date.parse(url.expires_at) - 30_000 > Date.now();
const retryable = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

// sendPart PUTs part n (0: the whole file) when a slot is free, retrying
// what may pass on a second try and re-signing a refused part URL once.
async function sendPart(u, n, blob, signal) {
  let resigned = false;
  for (let attempt = 0; ; attempt++) {
    const url = n ? await partURL(u, n, signal) : u.instruction;
    await slots.acquire(signal);
    let res;
    try {
      res = await put(url, blob, (loaded) => {
        u.inflight.set(n, loaded);
        schedule();
      }, signal);
    } finally {
      u.inflight.delete(n);
      slots.release();
      schedule();
    }
    if (res.ok) {
      u.stored.set(n, blob.size);
      return;
    }
    if (res.status === 403 && n && !resigned) {
      u.urls.delete(n);
      resigned = true;
      attempt--;
    } else if (!retryable(res.status) || attempt >= retries) {
      throw res.error;
    } else {
      await sleep(500 * 2 ** attempt, signal);
    }
  }
}

// partURL answers a signed PUT for part n, asking the API for a batch of
// the parts still to send when it has none that is still valid.
async function partURL(u, n, signal) {
  for (let tries = 0; ; tries++) {
    const url = u.urls.get(n);
    if (url && (tries > 0 || fresh(url))) return url;
    if (tries > 2) throw new Error(`The server did not sign part ${n}.`);
    u.signing ??= (async () => {
      const parts = [n, ...u.todo.filter((m) => m !== n && !fresh(u.urls.get(m)))].slice(0, signBatch);
      const res = await api("POST", `/v1/uploads/${u.id}/parts`, { parts }, { signal });
      for (const p of res.parts) u.urls.set(p.number, p);
    })().finally(() => (u.signing = null));
    await u.signing;
  }
}

// pause stops a file's PUTs; the server keeps what arrived.
function pause(u) {
  if (u.state !== "waiting" && u.state !== "uploading") return;
  u.state = "paused";
  u.ctrl?.abort(new DOMException("paused", "AbortError"));
  u.checkParts = u.multipart;
  render();
}

// resume sends what is missing of a paused (or failed) file: the parts
// the server has not got, or a single-PUT file whole again.
function resume(u) {
  if (u.state !== "paused" && !(u.state === "failed" && u.resumable)) return;
  u.state = "waiting";
  u.checkParts = u.multipart;
  if (!u.multipart) u.stored.clear();
  u.row.msg.replaceChildren();
  pump();
  render();
}

// cancel stops a file and deletes its upload, which frees its hold.
async function cancel(u) {
  u.ctrl?.abort(new DOMException("cancelled", "AbortError"));
  u.state = "cancelled";
  uploads = uploads.filter((x) => x !== u);
  u.row.li.remove();
  render();
  if (u.id) await discard(u);
  $("#upload-note", root).textContent = `Cancelled the upload of ${u.name}.`;
}

async function discard(u) {
  try {
    await api("DELETE", `/v1/uploads/${u.id}`);
  } catch (err) {
    if (!(err instanceof ProblemError) || ![404, 409, 410].includes(err.status)) throw err;
  }
  forget(u.acct, u.id);
  bus.emit("balance-changed");
}

function fail(u, err) {
  u.state = "failed";
  if (err instanceof ProblemError && [404, 410, 422].includes(err.status)) {
    // The server no longer has the upload (gone, or deleted as not what was declared).
    if (u.id) forget(u.acct, u.id);
    u.resumable = false;
  }
  u.row.msg.replaceChildren(...failure(err));
  render();
}

// failure is what an error says to the user, with a way out for short credit.
function failure(err) {
  const text = problemText(err, "this upload");
  return err?.code === "insufficient_credit" ? [`${text} `, el("a", { href: "#credits", text: "Add credit" })] : [text];
}

function clearFinished() {
  for (const u of uploads) if (u.state === "done" || (u.state === "failed" && !u.resumable)) u.row.li.remove();
  uploads = uploads.filter((u) => u.row.li.isConnected);
  render();
}

const loadedOf = (u) => (u.state === "done" ? u.size
  : Math.min(u.size, [...u.stored.values(), ...u.inflight.values()].reduce((a, b) => a + b, 0)));

function statusText(u, loaded) {
  const pct = Math.floor((100 * loaded) / (u.size || 1));
  switch (u.state) {
    case "uploading": return `uploading ${pct}%`;
    case "paused": return `paused at ${pct}%`;
    default: return u.state;
  }
}

function schedule() {
  timer ??= setTimeout(render, 100);
}

const setText = (e, s) => { if (e.textContent !== s) e.textContent = s; };

// render brings the rows and the overall bar up to date.
function render() {
  clearTimeout(timer);
  timer = null;
  let total = 0;
  let sent = 0;
  let done = 0;
  for (const u of uploads) {
    const loaded = loadedOf(u);
    if (u.id || u.state !== "failed") {
      total += u.size;
      sent += loaded;
    }
    if (u.state === "done") done++;
    const r = u.row;
    r.bar.value = loaded;
    setText(r.status, statusText(u, loaded));
    r.pause.hidden = u.state !== "waiting" && u.state !== "uploading";
    r.resume.hidden = u.state !== "paused" && !(u.state === "failed" && u.resumable);
    r.cancel.hidden = !["waiting", "uploading", "paused"].includes(u.state) && !(u.state === "failed" && u.resumable);
    r.li.className = u.state;
  }
  $("#upload-overall", root).hidden = !uploads.length;
  const bar = $("#upload-all", root);
  bar.max = total || 1;
  bar.value = sent;
  setText($("#upload-all-text", root), `${bytes(sent)} of ${bytes(total)}, ${done} of ${uploads.length} ${uploads.length === 1 ? "file" : "files"} done`);
  $("#upload-pause-all", root).hidden = !uploads.some((u) => u.state === "waiting" || u.state === "uploading");
  $("#upload-resume-all", root).hidden = !uploads.some((u) => u.state === "paused");
  $("#upload-clear", root).hidden = !uploads.some((u) => u.state === "done" || (u.state === "failed" && !u.resumable));
}

// listInterrupted lists the account's recorded uploads that run nowhere
// in this page, with what the server has of each; uploads it no longer
// knows are dropped with a note.
async function listInterrupted(acct, g) {
  const here = new Set(uploads.map((u) => u.id));
  const notes = [];
  const items = [];
  for (const rec of Object.values(records(acct))) {
    if (here.has(rec.id)) continue;
    const stored = await storedOf(rec).catch((err) => {
      if (!(err instanceof ProblemError) || ![404, 409, 410].includes(err.status)) throw err;
      return null;
    });
    if (g !== gen) return;
    if (stored === null) {
      forget(acct, rec.id);
      notes.push(`The interrupted upload of ${rec.filename} is no longer on the server (it expired or was finished or deleted).`);
      continue;
    }
    items.push(interruptedItem(acct, rec, stored));
  }
  $("#upload-interrupted-list", root).replaceChildren(...items);
  $("#upload-interrupted", root).hidden = !items.length;
  if (notes.length) $("#upload-note", root).textContent = notes.join(" ");
}

function interruptedItem(acct, rec, stored) {
  const msg = el("p", { class: "err", role: "alert" });
  const input = el("input", { type: "file", class: "vh", tabindex: "-1", "aria-label": `File for ${rec.filename}` });
  const li = el("li", {},
    el("div", { class: "line" }, el("span", { class: "name", text: rec.filename }),
      el("span", { class: "muted", text: rec.multipart ? `${bytes(stored)} of ${bytes(rec.size)} stored`
        : `${bytes(rec.size)}, to be sent again whole` })),
    el("div", { class: "line" }, el("span"), el("span", { class: "buttons" },
      el("button", { type: "button", class: "quiet", text: "Resume", "aria-label": `Resume ${rec.filename}`, onclick: () => input.click() }),
      el("button", { type: "button", class: "quiet", text: "Discard", "aria-label": `Discard ${rec.filename}`, onclick: guard(async () => {
        await discard({ acct, id: rec.id });
        li.remove();
        $("#upload-interrupted", root).hidden = !$("#upload-interrupted-list", root).children.length;
        $("#upload-note", root).textContent = `Discarded the interrupted upload of ${rec.filename}.`;
      }) }))),
    input, msg);
  input.addEventListener("change", guard(async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    if (file.name !== rec.filename || file.size !== rec.size || file.lastModified !== rec.lastModified) {
      msg.textContent = `That is not the file of this upload: ${rec.filename} was ${bytes(rec.size)} (${rec.size} bytes), ` +
        `last changed ${new Date(rec.lastModified).toLocaleString()}; you chose ${file.name}, ${bytes(file.size)} (${file.size} bytes), ` +
        `last changed ${new Date(file.lastModified).toLocaleString()}. Nothing was sent.`;
      return;
    }
    li.remove();
    $("#upload-interrupted", root).hidden = !$("#upload-interrupted-list", root).children.length;
    const u = newUpload(file, acct);
    if (rec.multipart) {
      Object.assign(u, { id: rec.id, multipart: true, partSize: rec.partSize, partCount: rec.partCount,
        expiresAt: rec.expiresAt, checkParts: true, resumable: true });
    } else {
      await discard({ acct, id: rec.id }); // its signed PUT is gone with the page: start afresh
    }
    start(u);
  }));
  return li;
}
