// The Jobs view: submit a file (one from this computer, or one already
// stored) for a job type the server runs, watch the job go from queued to
// running to done, and read its result and download its output files.
//
// While the view is shown and a listed job is unfinished it reads the job
// list about once a second (GET /v1/jobs is not paced; GET /v1/jobs/{id}
// answers 429 before its Retry-After, so it is used only for a job the list
// no longer shows, which is finished by then).
import { ProblemError, api, bus, bytes, creditsText, el, guard, problemText, readJSON, request, saveAs, scrollBox, showError, when, $ } from "./lib.js";
import { active, paintDetails } from "./jobdetails.js";

const tick = 1000; // ms between list reads while jobs run
const pageSize = 20;
const watchSize = 50; // the newest jobs read on each tick
const states = ["queued", "running", "succeeded", "failed", "canceled", "expired"];

let root;
let types = new Map(); // name → job type (GET /v1/job-types)
let jobs = new Map(); // id → job, as last read
let rows = new Map(); // id → its row, details row, buttons, and the state its details show
let names = new Map(); // object id → filename (inputs)
let cancelAsked = new Set(); // running jobs whose owner asked to cancel
let urls = new Map(); // object id → a signed download URL still valid
let cursor = "";
let timer = null;
let gen = 0; // bumped by reset: answers of an older generation are dropped
let aborter = new AbortController();

export function init(section) {
  root = section;
  const form = el("form", { id: "job-form", "aria-label": "Submit a job", novalidate: true, onsubmit: guard(submit) },
    el("h3", { text: "Submit a job" }),
    el("label", {}, "Job type", el("select", { id: "job-type", name: "type", "aria-describedby": "job-type-info", onchange: guard(live(typeChanged)) })),
    el("p", { id: "job-type-info", class: "muted" }),
    el("fieldset", { class: "job-input" }, el("legend", { text: "Input" }),
      el("label", {}, el("input", { type: "radio", name: "source", value: "local", checked: true, onchange: sourceChanged }), "A file on this computer"),
      el("label", {}, el("input", { type: "radio", name: "source", value: "stored", onchange: sourceChanged }), "A stored file"),
      el("label", { id: "job-file-field", class: "job-field" }, "Choose a file", el("input", { type: "file", id: "job-file", name: "file" })),
      el("label", { id: "job-stored-field", class: "job-field", hidden: true }, "Stored file", el("select", { id: "job-stored", name: "stored" })),
      el("p", { id: "job-stored-none", class: "muted job-field", hidden: true })),
    el("label", {}, "Params (JSON)", el("textarea", { id: "job-params", name: "params", rows: 3, spellcheck: "false", "aria-describedby": "job-params-info" }, "{}")),
    el("p", { id: "job-params-info", class: "muted" }),
    el("p", { id: "job-form-error", class: "job-error", role: "alert" }),
    el("div", {}, el("button", { type: "submit", text: "Submit" })));
  const list = el("div", { id: "job-list" },
    el("h3", { text: "Your jobs" }),
    el("p", { id: "job-updates", role: "status", "aria-live": "polite", "aria-label": "Job updates", class: "muted" }),
    scrollBox(el("table", { "aria-label": "Jobs", class: "jobs" },
      el("thead", {}, el("tr", {}, ["Job", "State", "Progress", "Input", "Type", "Submitted"].map((h) => el("th", { scope: "col", text: h })),
        el("th", { scope: "col" }, el("span", { class: "vh", text: "Actions" })))),
      el("tbody", { id: "job-rows" }))),
    el("p", { id: "job-empty", class: "muted", text: "No jobs yet.", hidden: true }),
    el("button", { type: "button", id: "job-older", class: "quiet", text: "Older jobs", hidden: true, onclick: guard(live(older)) }));
  root.append(el("h2", { id: "jobs-heading", text: "Jobs" }), el("p", { id: "job-unavailable", hidden: true }), form, list);
  bus.on("objects-changed", live(async () => {
    if (!root.hidden && types.size) await storedFiles();
  }, showError));
  document.addEventListener("visibilitychange", () => schedule());
}

// show reads the job types, the stored files and the first page of jobs.
export const show = live(async () => {
  const g = gen;
  let list;
  try {
    list = (await api("GET", "/v1/job-types", undefined, { signal: aborter.signal })).job_types;
  } catch (err) {
    if (!(err instanceof ProblemError) || ![404, 501, 503].includes(err.status)) throw err;
    if (g !== gen) return;
    unavailable("This server runs no jobs: it has no job queue.", false);
    return;
  }
  if (g !== gen) return;
  types = new Map(list.map((t) => [t.name, t]));
  if (types.size === 0) unavailable("No job types are configured on this server, so no jobs can be submitted.", true);
  else {
    $("#job-unavailable", root).hidden = true;
    $("#job-form", root).hidden = false;
    fillTypes();
  }
  $("#job-list", root).hidden = false;
  await Promise.all([firstPage(), types.size ? storedFiles() : null]);
});

// live wraps an async action of this user: what it throws once the user
// signed out (its requests aborted, its answers dropped) is not shown to
// the next one. onError, if given, takes what it throws otherwise.
function live(fn, onError) {
  return async (...args) => {
    const g = gen;
    try {
      await fn(...args);
    } catch (err) {
      if (g !== gen) return;
      if (!onError) throw err;
      onError(err);
    }
  };
}

// reset forgets the user: timers, requests under way, jobs, files, the form.
export function reset() {
  gen++;
  aborter.abort();
  aborter = new AbortController();
  clearTimeout(timer);
  timer = null;
  types = new Map();
  jobs = new Map();
  rows = new Map();
  names = new Map();
  cancelAsked = new Set();
  urls = new Map();
  cursor = "";
  const form = $("#job-form", root);
  form.reset();
  $("#job-type", root).replaceChildren();
  $("#job-stored", root).replaceChildren();
  $("#job-params", root).value = "{}";
  for (const id of ["#job-type-info", "#job-params-info", "#job-form-error", "#job-updates", "#job-stored-none", "#job-unavailable"]) {
    $(id, root).textContent = "";
  }
  sourceChanged();
  $("#job-rows", root).replaceChildren();
  $("#job-older", root).hidden = true;
  $("#job-empty", root).hidden = true;
}

// unavailable says why no job can be submitted, instead of the form; the
// list stays when the server has a queue (older jobs may be listed).
function unavailable(message, listed) {
  const p = $("#job-unavailable", root);
  p.textContent = message;
  p.hidden = false;
  $("#job-form", root).hidden = true;
  $("#job-list", root).hidden = !listed;
}

// ---- The form ----

function fillTypes() {
  const select = $("#job-type", root);
  const chosen = select.value;
  select.replaceChildren(...[...types.values()].map((t) =>
    el("option", { value: t.name, text: `${t.name} (${creditsText(t.price)})` })));
  if (types.has(chosen)) select.value = chosen;
  describeType();
}

const chosenType = () => types.get($("#job-type", root).value);

// describeType says what the chosen type accepts and costs, and which
// params it takes.
function describeType() {
  const t = chosenType();
  $("#job-type-info", root).textContent = `Accepts ${t.content_types.join(", ")}, up to ${bytes(t.max_input_size)}. ` +
    `Costs ${creditsText(t.price)}, held when you submit and charged only if the job succeeds.`;
  $("#job-file", root).setAttribute("accept", t.content_types.join(","));
  const props = Object.keys(t.params_schema?.properties ?? {});
  $("#job-params-info", root).textContent = !t.params_schema ? "Any JSON object." :
    props.length ? `A JSON object; keys this type takes: ${props.join(", ")}.` : "A JSON object, checked against the type's schema.";
}

async function typeChanged() {
  describeType();
  await storedFiles();
}

function sourceChanged() {
  const stored = $('input[name="source"][value="stored"]', root).checked;
  const none = $("#job-stored", root).options.length === 0;
  $("#job-file-field", root).hidden = stored;
  $("#job-stored-field", root).hidden = !stored || none;
  $("#job-stored-none", root).hidden = !stored || !none;
}

// storedFiles lists the recent ready objects the chosen type accepts.
async function storedFiles() {
  const g = gen;
  const t = chosenType();
  if (!t) return;
  const filters = t.content_types.map((c) => (c === "*/*" || c === "*" ? "" : c.endsWith("/*") ? c.slice(0, -1) : c));
  const pages = await Promise.all([...new Set(filters)].map((f) =>
    api("GET", `/v1/objects?state=ready&limit=50${f ? `&type=${encodeURIComponent(f)}` : ""}`, undefined, { signal: aborter.signal })));
  if (g !== gen || t !== chosenType()) return;
  const seen = new Map();
  for (const o of pages.flatMap((p) => p.objects)) if (o.size <= t.max_input_size) seen.set(o.id, o);
  const objects = [...seen.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)).slice(0, 50);
  const select = $("#job-stored", root);
  const chosen = select.value;
  select.replaceChildren(...objects.map((o) => el("option", { value: o.id, text: `${o.filename} (${bytes(o.size)}, ${o.content_type})` })));
  if (seen.has(chosen)) select.value = chosen;
  for (const o of objects) names.set(o.id, o.filename);
  $("#job-stored-none", root).textContent = `No stored files of a type ${t.name} accepts (${t.content_types.join(", ")}). ` +
    "Upload one on the Files page, or send a file from this computer.";
  sourceChanged();
}

// formError shows what went wrong with a submit next to the form.
function formError(message) {
  $("#job-form-error", root).textContent = message;
}

// params reads the params box: a JSON object, or null (said in the form).
function params() {
  const box = $("#job-params", root);
  let v;
  try {
    v = JSON.parse(box.value.trim() || "{}");
  } catch (err) {
    v = err;
  }
  const ok = v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Error);
  if (ok) {
    box.removeAttribute("aria-invalid");
    return v;
  }
  box.setAttribute("aria-invalid", "true");
  formError(v instanceof Error ? `Params are not valid JSON (${v.message}). Write a JSON object, such as {}.`
    : "Params must be a JSON object, such as {}.");
  box.focus();
  return null;
}

async function submit(ev) {
  const form = ev.target;
  formError("");
  const t = chosenType();
  const p = params();
  if (!t || !p) return;
  const stored = form.elements.source.value === "stored";
  let body;
  let filename;
  if (stored) {
    const id = $("#job-stored", root).value;
    if (!id) return formError("Choose a stored file, or send a file from this computer.");
    body = { type: t.name, params: p, input_object_id: id };
  } else {
    const file = $("#job-file", root).files[0];
    if (!file) return formError("Choose a file to send.");
    if (file.size > t.max_input_size) return formError(`${file.name} is ${bytes(file.size)}; ${t.name} takes at most ${bytes(t.max_input_size)}.`);
    body = new FormData(); // the fields before the file: the server reads them first
    body.append("type", t.name);
    body.append("params", JSON.stringify(p));
    body.append("file", file, file.name);
    filename = file.name;
  }
  const g = gen;
  let job;
  try {
    job = await readJSON(await request("POST", "/v1/jobs", { body, signal: aborter.signal }));
  } catch (err) {
    if (g === gen) formError(submitProblem(err));
    return;
  }
  if (g !== gen) return;
  if (filename) names.set(job.input_object_id, filename);
  $("#job-file", root).value = "";
  add([job], true);
  announce(`Submitted ${short(job.id)} (${inputName(job)}): ${job.status}.`);
  bus.emit("balance-changed");
  if (!stored) bus.emit("objects-changed");
  schedule();
}

// submitProblem words a refused submit.
function submitProblem(err) {
  if (!(err instanceof ProblemError)) return `The job was not submitted: ${err.message}`;
  if (err.code === "insufficient_credit") {
    return `${problemText(err, "this job")} Add credit on the Credits page, or free some held credit.`;
  }
  return `The job was not submitted: ${err.message}`;
}

// ---- The list ----

async function firstPage() {
  const g = gen;
  const page = await api("GET", `/v1/jobs?limit=${pageSize}`, undefined, { signal: aborter.signal });
  if (g !== gen) return;
  jobs = new Map();
  rows = new Map();
  $("#job-rows", root).replaceChildren();
  cursor = page.next_cursor;
  add(page.jobs, false);
  schedule();
}

async function older() {
  const g = gen;
  const page = await api("GET", `/v1/jobs?limit=${pageSize}&cursor=${encodeURIComponent(cursor)}`, undefined, { signal: aborter.signal });
  if (g !== gen) return;
  cursor = page.next_cursor;
  add(page.jobs, false);
  schedule();
}

// add lists jobs not yet listed: at the top (newer) or at the end (older).
function add(list, top) {
  const body = $("#job-rows", root);
  const fresh = list.filter((j) => !jobs.has(j.id));
  const made = fresh.map((j) => {
    jobs.set(j.id, j);
    const r = makeRow(j);
    rows.set(j.id, r);
    paint(j.id);
    return [r.row, r.details];
  }).flat();
  if (top) body.prepend(...made);
  else body.append(...made);
  $("#job-empty", root).hidden = jobs.size > 0;
  $("#job-older", root).hidden = !cursor;
  lookUpNames(fresh);
}

// lookUpNames looks up the filenames of the jobs' inputs it does not know.
async function lookUpNames(list) {
  const g = gen;
  const missing = [...new Set(list.map((j) => j.input_object_id).filter((id) => id && !names.has(id)))];
  await Promise.all(missing.map(async (id) => {
    try {
      const o = await api("GET", `/v1/objects/${encodeURIComponent(id)}`, undefined, { signal: aborter.signal });
      if (g === gen) names.set(id, o.filename);
    } catch (err) {
      if (g !== gen) return;
      if (err instanceof ProblemError && err.status === 404) names.set(id, "(deleted)");
      else return;
    }
    for (const [jid, j] of jobs) if (j.input_object_id === id) paint(jid);
  }));
}

const short = (id) => (id.length > 12 ? `${id.slice(0, 12)}…` : id);
const inputName = (j) => names.get(j.input_object_id) ?? "…";

// makeRow builds a job's row and its (hidden) details row; paint fills them.
function makeRow(j) {
  const cells = {
    id: el("td", {}, el("code", { title: j.id, text: short(j.id) })),
    state: el("td", { class: "job-state" }),
    progress: el("td", { class: "job-progress" }),
    input: el("td", { class: "job-name" }),
    type: el("td", { text: j.type }),
    created: el("td", { text: when(j.created_at) }),
    actions: el("td", { class: "job-actions" }),
  };
  const detailsId = `job-details-${j.id}`;
  const toggle = el("button", { type: "button", class: "quiet", text: "Details", "aria-label": `Details of ${j.id}`,
    "aria-expanded": "false", "aria-controls": detailsId, onclick: () => toggleDetails(j.id) });
  const cancel = el("button", { type: "button", class: "quiet", text: "Cancel", "aria-label": `Cancel ${j.id}`, onclick: guard(live(() => cancelJob(j.id))) });
  cells.actions.append(cancel, toggle);
  const row = el("tr", { "data-job": j.id }, Object.values(cells));
  const details = el("tr", { class: "job-details", hidden: true },
    el("td", { colspan: 7 }, el("div", { id: detailsId, class: "job-panel", role: "region", "aria-label": `Details of ${j.id}` })));
  return { row, cells, details, toggle, cancel, painted: "" };
}

// paint shows a job's row (and its details, when open) as last read.
function paint(id) {
  const j = jobs.get(id);
  const r = rows.get(id);
  if (!j || !r) return;
  r.cells.input.textContent = inputName(j);
  const asked = cancelAsked.has(id) && j.status === "running";
  const ahead = j.status === "queued" && j.queue_position > 0 ? `, ${j.queue_position} ahead` : "";
  r.cells.state.textContent = `${j.status}${ahead}${asked ? " (cancel asked)" : ""}`;
  r.cells.state.className = `job-state job-${states.includes(j.status) ? j.status : "other"}`;
  if (j.status === "running") {
    let bar = r.cells.progress.querySelector("progress");
    if (!bar) {
      bar = el("progress", { max: 1, "aria-label": `Progress of ${j.id}` });
      r.cells.progress.replaceChildren(bar, el("span", { class: "job-pct" }));
    }
    if (j.progress > 0) bar.value = j.progress; // else indeterminate: started, nothing reported yet
    r.cells.progress.querySelector(".job-pct").textContent = j.progress > 0 ? `${Math.round(j.progress * 100)}%` : "started";
  } else {
    r.cells.progress.textContent = j.status === "succeeded" ? "done" : "";
  }
  r.cancel.hidden = !active(j) || asked;
  if (!r.details.hidden && paintKey(j) !== r.painted) showDetails(j, r);
}

// paintKey is what a job's details show: they are painted again when it
// changes.
const paintKey = (j) => JSON.stringify([j.status, j.progress, inputName(j), cancelAsked.has(j.id) && j.status === "running"]);

function showDetails(j, r) {
  r.painted = paintKey(j);
  paintDetails(r.details.querySelector('[role="region"]'), j, inputName(j), download);
}

function toggleDetails(id) {
  const r = rows.get(id);
  const open = r.details.hidden;
  r.details.hidden = !open;
  r.toggle.setAttribute("aria-expanded", String(open));
  if (open) showDetails(jobs.get(id), r);
}

// download saves an output file through a signed URL; one still valid is
// used again (signing another would charge the download again).
async function download(o) {
  let u = urls.get(o.object_id);
  if (!u || Date.parse(u.expires_at) - Date.now() < 30_000) {
    u = await api("POST", `/v1/objects/${encodeURIComponent(o.object_id)}/url`, {}, { signal: aborter.signal });
    urls.set(o.object_id, u);
    bus.emit("balance-changed");
  }
  saveAs(u.url, o.filename);
}

async function cancelJob(id) {
  const g = gen;
  const j = await api("DELETE", `/v1/jobs/${encodeURIComponent(id)}`, undefined, { signal: aborter.signal });
  if (g !== gen) return;
  if (j.status === "running") cancelAsked.add(id);
  update([j]);
  if (j.status === "running") announce(`Cancel asked for ${short(id)}: its worker stops it at its next check-in.`);
  schedule();
}

// update takes fresh reads of listed jobs, repaints them and announces
// what changed state.
function update(list) {
  const said = [];
  let settled = false;
  for (const j of list) {
    const was = jobs.get(j.id);
    if (!was) continue;
    jobs.set(j.id, j);
    paint(j.id);
    if (was.status !== j.status) {
      said.push(`${short(j.id)} (${inputName(j)}): ${j.status}`);
      if (!active(j)) settled = true;
    }
  }
  if (said.length) announce(`${said.join("; ")}.`);
  if (settled) bus.emit("balance-changed");
}

function announce(message) {
  $("#job-updates", root).textContent = message;
}

// ---- Live updates ----

const watching = () => !root.hidden && !document.hidden && [...jobs.values()].some(active);

// schedule starts the polling if the view is shown and a job is unfinished.
function schedule(delay = tick) {
  if (timer || !watching()) return;
  timer = setTimeout(poll, delay);
}

// poll reads the newest jobs, and any unfinished listed job they miss (an
// older one) by its id; it lists jobs submitted elsewhere since.
async function poll() {
  const g = gen;
  const started = Date.now();
  try {
    if (!watching()) return;
    const page = await api("GET", `/v1/jobs?limit=${watchSize}`, undefined, { signal: aborter.signal });
    if (g !== gen) return;
    const seen = new Map(page.jobs.map((j) => [j.id, j]));
    const newest = Math.max(0, ...[...jobs.values()].map((j) => Date.parse(j.created_at)));
    add(page.jobs.filter((j) => Date.parse(j.created_at) > newest), true);
    update(page.jobs);
    for (const j of [...jobs.values()].filter((j) => active(j) && !seen.has(j.id))) {
      const res = await request("GET", `/v1/jobs/${encodeURIComponent(j.id)}`, { signal: aborter.signal });
      if (g !== gen) return;
      if (res.status === 410) {
        await res.body?.cancel();
        update([{ ...j, status: "expired" }]);
      } else update([await readJSON(res)]);
    }
  } catch (err) {
    if (g === gen && err.name !== "AbortError") showError(err);
  } finally {
    if (g === gen) {
      timer = null;
      schedule(Math.max(250, tick - (Date.now() - started)));
    }
  }
}
