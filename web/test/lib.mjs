// Shared helpers of the UI's browser tests (*.test.mjs): the browser,
// fresh contexts watched for errors, waits, and the signed-in and
// signed-out views. Each test file runs in its own node process
// (node --test), launched by web/browser_test.go against a running server
// (MEDIAGATE_URL).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { crc32, deflateSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const base = process.env.MEDIAGATE_URL;
if (!base) {
  console.error("the browser tests: set MEDIAGATE_URL to the server's base URL (http://127.0.0.1:PORT)");
  process.exit(2);
}
// blobStore is the kind of blob store the server runs over (web/browser_test.go
// says which): "disk", whose signed blob URLs are this server's own
// (/blob/…), or "s3", whose pre-signed URLs are the store's, another origin.
export const blobStore = process.env.MEDIAGATE_BLOB_STORE || "disk";
// blobOrigin is the origin of the blob URLs the server signs.
export const blobOrigin = new URL(process.env.MEDIAGATE_BLOB_ORIGIN || base).origin;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
export const shots = process.env.SCREENSHOT_DIR || fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
export const password = "correct horse battery staple";
export const timeout = 5_000; // per wait: the server is local, nothing should take long

export const viewports = [
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  // On the desktop the page may use the clipboard, and the test reads it.
  { name: "desktop", viewport: { width: 1280, height: 800 }, screenshots: true, clipboard: true },
];

export let browser;
before(async () => {
  const args = ["--disable-dev-shm-usage"];
  if (process.getuid?.() === 0) args.push("--no-sandbox"); // chromium's sandbox refuses root
  browser = await chromium.launch({ executablePath, headless: true, args });
});
after(async () => {
  await browser?.close();
});

let seq = 0;
// unique returns a name no other run against the same server has used.
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${++seq}`;
}

// open starts a fresh browser context (its own storage) at the UI's page and
// watches it for errors: page errors, console errors and answers of 400 and
// above from the server or the blob store. A test lists the error answers
// it causes with expectStatus; checkClean fails on anything else.
export async function open(t, opts = {}) {
  const { name, screenshots, clipboard, ...ctxOpts } = opts;
  const context = await browser.newContext({ ...ctxOpts, baseURL: base });
  t.after(() => context.close());
  if (clipboard) await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(base).origin });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const problems = [];
  const answers = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.stack || err}`));
  page.on("console", (msg) => {
    // Chromium logs every error answer as "Failed to load resource"; those
    // are judged from the responses themselves, below.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${msg.text()} (${msg.location().url})`);
    }
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && (res.url().startsWith(base) || new URL(res.url()).origin === blobOrigin)) {
      answers.push(`${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`);
    }
  });
  const tolerated = [];
  page.on("requestfailed", (req) => {
    if (tolerated.some((ok) => ok(req))) return;
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  // Confirm whatever the page asks (Revoke may ask first).
  page.on("dialog", (d) => d.accept().catch(() => {}));
  const w = {
    page,
    expectStatus(answer) {
      const i = answers.indexOf(answer);
      assert.ok(i >= 0, `expected the answer ${answer}; error answers seen: ${JSON.stringify(answers)}`);
      answers.splice(i, 1);
    },
    // tolerateFailures lets requests that ok(req) accepts fail (a paused
    // upload's aborted PUTs); it answers a function that ends the leave.
    tolerateFailures(ok) {
      tolerated.push(ok);
      return () => tolerated.splice(tolerated.indexOf(ok), 1);
    },
    checkClean() {
      assert.deepEqual([...problems, ...answers.map((a) => `unexpected answer: ${a}`)], [], "the page reported errors");
    },
  };
  await page.goto("/");
  return w;
}

// sleep waits ms milliseconds.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// eventually polls get until its value satisfies ok, then returns it; after
// ms (the 5 s timeout by default; longer for what takes longer, such as a
// whole fetch or 50 MB on a busy machine) it fails with what it last got.
export async function eventually(what, get, ok, ms = timeout) {
  const end = Date.now() + ms;
  let got;
  for (;;) {
    got = await get();
    if (ok(got)) return got;
    if (Date.now() > end) assert.fail(`${what}: got ${JSON.stringify(got)}`);
    await sleep(50);
  }
}

export const text = (loc) => loc.innerText().catch((err) => `<${err.message.split("\n")[0]}>`);

export async function waitText(what, loc, re) {
  return eventually(`${what} should match ${re}`, () => text(loc), (s) => re.test(s));
}

export const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// signedIn waits for the signed-in view of account name.
export async function signedIn(page, account) {
  const status = page.getByRole("status", { name: "Account" });
  try {
    await waitText("the account status", status, new RegExp(`${escape(account)}.*available`, "s"));
  } catch (err) {
    const alerts = (await page.getByRole("alert").allInnerTexts()).filter((s) => s.trim());
    if (alerts.length) err.message += `; the page's alert says: ${alerts.join(" | ")}`;
    throw err;
  }
  const nav = page.getByRole("navigation");
  await nav.getByRole("link", { name: "Keys" }).waitFor();
  await nav.getByRole("button", { name: "Sign out" }).waitFor();
  assert.equal(await page.getByRole("form", { name: "Sign in" }).count(), 0, "the Sign in form is shown while signed in");
}

// signedOut waits for the signed-out view.
export async function signedOut(page) {
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  await page.getByRole("form", { name: "Sign up" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0, "Sign out is shown while signed out");
}

// noAlert checks that no error is shown: the alert, if there is one, is
// empty.
export async function noAlert(page, where) {
  const alerts = await page.getByRole("alert").allInnerTexts();
  assert.deepEqual(alerts.filter((s) => s.trim()), [], `${where}: an error is shown`);
}

export async function noSideScroll(page, where) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${where}: the page is ${scroll}px wide in a ${width}px viewport`);
}

// apiStatus answers the status of GET /v1/account with an API key.
export async function apiStatus(secret) {
  const res = await fetch(new URL("/v1/account", base), { headers: { Authorization: `Bearer ${secret}` } });
  await res.arrayBuffer();
  return res.status;
}


// signUp makes a fresh account through the API (not the page) and answers
// { email, name, token, id }.
export async function signUp(name = "Test Media") {
  const email = `${unique("acct")}@example.com`;
  const res = await fetch(new URL("/v1/auth/signup", base), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password, account_name: name }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, `signup: ${JSON.stringify(body)}`);
  return { email, name, token: body.token, id: body.account.id };
}

// openSignedIn opens the UI as the user of a fresh account (signUp), at
// route (a fragment such as "#files"), and waits for the signed-in view.
// It answers open's handle with the account.
export async function openSignedIn(t, opts = {}, { name = "Test Media", route = "" } = {}) {
  const acct = await signUp(name);
  const w = await open(t, opts);
  await w.page.evaluate((token) => sessionStorage.setItem("mediagate.token", token), acct.token);
  await w.page.goto(`/${route}`);
  await signedIn(w.page, name);
  return { ...w, acct };
}

// apiJSON calls the API as token and answers { status, body }.
export async function apiJSON(token, method, path, body) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

// balance answers the account's balance as GET /v1/account does
// ({ balance, held, available }, micro-credits).
export async function balance(token) {
  const { status, body } = await apiJSON(token, "GET", "/v1/account");
  assert.equal(status, 200, `GET /v1/account: ${JSON.stringify(body)}`);
  return body;
}

// screenshot saves the page to SCREENSHOT_DIR/name.png when opts asks for
// screenshots (the desktop viewport).
export async function screenshot(page, opts, name) {
  if (!opts.screenshots) return;
  await mkdir(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// --- Money, as the server charges it and the page writes it.

// cost is mediagate.Cost: n bytes at perMiB micro-credits a MiB, rounded up
// to a whole micro-credit (n × perMiB is exact in a double here, and the
// division is by a power of two). The test server runs the default prices:
// upload 1,000, download 2,000, fetch 1,000 a MiB and 100 a URL.
export const cost = (n, perMiB) => Math.ceil((n * perMiB) / 1048576);
export const uploadCost = (n) => cost(n, 1_000);
export const downloadCost = (n) => cost(n, 2_000);

// credits writes micro-credits as the page does (lib.js): "0.991", "1".
export const credits = (micro) => (micro / 1e6).toLocaleString("en", { maximumFractionDigits: 6 });
// creditsText adds the unit: "1 credit", "0.5 credits".
export const creditsText = (micro) => `${credits(micro)} ${micro === 1e6 ? "credit" : "credits"}`;

export const sha256 = (data) => createHash("sha256").update(data).digest("hex");

// --- Files the tests upload: real formats, so the server's sniffing takes them.

// png is an opaque width×height RGB gradient PNG (signature, IHDR, one
// IDAT, IEND, with their CRCs).
export function png(width = 640, height = 480) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (x * 255) / width;
      raw[row + 2 + x * 3] = (y * 255) / height;
      raw[row + 3 + x * 3] = ((x + y) * 7) & 255;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// wav is a 440 Hz tone as 16-bit mono PCM at rate samples a second, with
// size bytes of samples (the default: one second at 8 kHz).
export function wav(size = 16_000, rate = 8000) {
  const n = size >> 1;
  const b = Buffer.alloc(44 + n * 2);
  b.write("RIFF", 0, "latin1");
  b.writeUInt32LE(36 + n * 2, 4);
  b.write("WAVEfmt ", 8, "latin1");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "latin1");
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return b;
}

// store uploads data as filename through the API, as a client would:
// declare, PUT the bytes to the signed URL, complete. It answers the ready
// object.
export async function store(token, filename, contentType, data) {
  const declared = await apiJSON(token, "POST", "/v1/uploads", { filename, content_type: contentType, size: data.length });
  assert.equal(declared.status, 201, `declare ${filename}: ${JSON.stringify(declared.body)}`);
  const { url, method = "PUT", headers = {} } = declared.body.upload;
  const res = await fetch(new URL(url, base), { method, headers, body: data });
  const answer = await res.text();
  assert.ok(res.ok, `PUT the bytes of ${filename}: ${res.status} ${answer}`);
  const done = await apiJSON(token, "POST", `/v1/uploads/${declared.body.object.id}/complete`, {});
  assert.equal(done.status, 200, `complete ${filename}: ${JSON.stringify(done.body)}`);
  assert.equal(done.body.state, "ready", `${filename} after completion`);
  return done.body;
}
