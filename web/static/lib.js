// Shared pieces of the browser UI: the API client, DOM building, number
// formats and the small event bus the views talk through.

const tokenKey = "mediagate.token";

export const session = {
  token: () => sessionStorage.getItem(tokenKey),
  set: (token) => sessionStorage.setItem(tokenKey, token),
  clear: () => sessionStorage.removeItem(tokenKey),
};

// ProblemError is a problem answer of the API (RFC 9457): message is its
// detail, code its mediagate code ("insufficient_credit", …).
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code;
    this.problem = problem;
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
export { sleep };

// request calls the API with the session's token and answers the Response;
// a 429 is retried after its Retry-After (up to three times, at most 10 s
// each), so polling views never fail for pacing.
export async function request(method, path, { body, headers = {}, signal } = {}) {
  const h = { ...headers };
  const token = session.token();
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof FormData) && typeof body !== "string") {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, { method, headers: h, body: payload, signal });
    if (res.status !== 429 || attempt === 3) return res;
    const wait = Math.min(10, Number(res.headers.get("Retry-After")) || 1);
    await res.arrayBuffer().catch(() => {}); // read, not cancelled: a cancel shows as a failed request
    await sleep(wait * 1000, signal);
  }
}

// api calls the API and answers its JSON (null for 204); an error answer
// throws a ProblemError. A 401 with a session signs out (the token expired).
export async function api(method, path, body, opts = {}) {
  const res = await request(method, path, { ...opts, body });
  return readJSON(res);
}

// readJSON answers a Response's JSON, or throws its problem.
export async function readJSON(res) {
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && session.token()) bus.emit("unauthorized");
    throw new ProblemError(res.status, data);
  }
  return data;
}

// bus carries events between views: "signed-in", "signed-out",
// "unauthorized", "objects-changed", "balance-changed".
export const bus = {
  handlers: new Map(),
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
  },
  emit(name, detail) {
    for (const fn of this.handlers.get(name) ?? []) fn(detail);
  },
};

// el builds an element: el("a", { href: "#", class: "x", onclick: fn }, "text", child).
// Text is always set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, String(v));
  }
  e.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return e;
}

// scrollBox wraps a table (named by its aria-label) in a box that scrolls
// it sideways when it is wider than the screen. While it is wider, the box
// is a region that Tab reaches ("Ledger, scrollable": the table's name is
// often its section's too), so that the keyboard can scroll it even when
// nothing in the table takes the focus (WCAG 2.1.1); otherwise it is a
// plain box: no extra Tab stop, no landmark. attrs are the box's own (id,
// hidden).
export function scrollBox(table, attrs = {}) {
  const box = el("div", { class: "scroll", ...attrs }, table);
  const name = `${table.getAttribute("aria-label")}, scrollable`;
  // A size change of the box (the screen, shown or hidden) or of the table
  // (its rows) can change whether it overflows.
  const watch = new ResizeObserver(() => {
    const wide = box.scrollWidth > box.clientWidth;
    if (wide === box.hasAttribute("tabindex")) return;
    for (const [k, v] of [["tabindex", "0"], ["role", "region"], ["aria-label", name]]) {
      if (wide) box.setAttribute(k, v);
      else box.removeAttribute(k);
    }
  });
  watch.observe(box);
  watch.observe(table);
  return box;
}

// $ finds one element under root (document by default).
export const $ = (sel, root = document) => root.querySelector(sel);

// showError puts err's message in the page's alert, or clears it.
export function showError(err) {
  const box = $("#error");
  box.textContent = err ? String(err.message || err) : "";
  if (err && !(err instanceof ProblemError)) console.warn(err);
}

// guard wraps an event handler: it prevents the default, clears the alert,
// disables the clicked button meanwhile and shows what the action threw.
export function guard(fn) {
  return async (ev) => {
    ev?.preventDefault?.();
    const button = ev?.submitter || ev?.currentTarget;
    showError(null);
    if (button instanceof HTMLButtonElement) button.disabled = true;
    try {
      await fn(ev);
    } catch (err) {
      showError(err);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  };
}

// credits formats micro-credits as credits ("1.25").
export const credits = (micro) => (micro / 1e6).toLocaleString("en", { maximumFractionDigits: 6 });

// creditsText is credits with its unit: "1 credit", "0.5 credits".
export const creditsText = (micro) => `${credits(micro)} ${micro === 1e6 ? "credit" : "credits"}`;

// bytes formats a byte count in binary units: "50 MiB", "1.5 KiB", "12 B".
export function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toLocaleString("en", { maximumFractionDigits: n < 10 ? 1 : 0 })} ${units[i]}`;
}

// when formats a time for people: the locale's date and time.
export const when = (t) => (t ? new Date(t).toLocaleString() : "");

let priceList;
// prices answers the server's price list (GET /v1/prices, micro-credits),
// asked once per page load.
export function prices() {
  priceList ??= api("GET", "/v1/prices").catch((err) => {
    priceList = undefined;
    throw err;
  });
  return priceList;
}

// cost is what n bytes cost at perMiB micro-credits per MiB: pro rata,
// rounded up to a whole micro-credit, as the server charges (mediagate.Cost).
// Exact: n × perMiB stays below 2^53 for any real size and price, and the
// division is by a power of two.
export const cost = (n, perMiB) => Math.ceil((n * perMiB) / 1048576);

// problemText says what went wrong, for people: for short credit what the
// action (what: "this upload") needs and what is available, in credits;
// otherwise the problem's detail.
export function problemText(err, what = "this") {
  const p = err instanceof ProblemError ? err.problem : null;
  if (err?.code === "insufficient_credit" && Number.isFinite(p?.needed) && Number.isFinite(p?.available)) {
    return `Not enough credit: ${what} needs ${creditsText(p.needed)}, and ${creditsText(p.available)} ${p.available === 1e6 ? "is" : "are"} available.`;
  }
  if (err instanceof TypeError) return `Network error: ${err.message}`;
  return String(err?.message || err);
}

// saveAs downloads a signed URL as filename. This server's own blob URLs
// answer as an attachment when asked; another origin (an S3 store, an
// edge) names the file itself, in a new tab, so this page stays.
export function saveAs(url, filename) {
  const href = new URL(url, location.href);
  const same = href.origin === location.origin;
  if (same) href.searchParams.set("download", "1");
  const a = el("a", { href: href.href, download: filename, target: same ? null : "_blank", rel: "noopener", hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}
