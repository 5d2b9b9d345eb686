// Real-browser tests of the mediagate web UI: playwright-core drives the
// system's chromium against a running server (MEDIAGATE_URL) through the
// page's accessible names only, at a phone's and a desktop's size. Any page
// error, console error or unexpected HTTP error answer fails the test that
// caused it. Screenshots of the signed-out page and the keys page are saved
// to SCREENSHOT_DIR (default docs/screenshots).
//
// Run by `go test ./web` (TestBrowser), which starts the API in-process;
// by hand: MEDIAGATE_URL=http://127.0.0.1:8080 node web/test/ui.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const base = process.env.MEDIAGATE_URL;
if (!base) {
  console.error("ui.test.mjs: set MEDIAGATE_URL to the server's base URL (http://127.0.0.1:PORT)");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = process.env.SCREENSHOT_DIR || fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const password = "correct horse battery staple";
const timeout = 5_000; // per wait: the server is local, nothing should take long

const viewports = [
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  // On the desktop the page may use the clipboard, and the test reads it.
  { name: "desktop", viewport: { width: 1280, height: 800 }, screenshots: true, clipboard: true },
];

let browser;
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
function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${++seq}`;
}

// open starts a fresh browser context (its own storage) at the UI's page and
// watches it for errors: page errors, console errors and answers of 400 and
// above from the server. A test lists the error answers it causes with
// expectStatus; checkClean fails on anything else.
async function open(t, opts = {}) {
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
    if (res.status() >= 400 && res.url().startsWith(base)) {
      answers.push(`${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`);
    }
  });
  page.on("requestfailed", (req) => problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  // Confirm whatever the page asks (Revoke may ask first).
  page.on("dialog", (d) => d.accept().catch(() => {}));
  const w = {
    page,
    expectStatus(answer) {
      const i = answers.indexOf(answer);
      assert.ok(i >= 0, `expected the answer ${answer}; error answers seen: ${JSON.stringify(answers)}`);
      answers.splice(i, 1);
    },
    checkClean() {
      assert.deepEqual([...problems, ...answers.map((a) => `unexpected answer: ${a}`)], [], "the page reported errors");
    },
  };
  await page.goto("/");
  return w;
}

// eventually polls get until its value satisfies ok, then returns it; after
// the timeout it fails with what it last got.
async function eventually(what, get, ok) {
  const end = Date.now() + timeout;
  let got;
  for (;;) {
    got = await get();
    if (ok(got)) return got;
    if (Date.now() > end) assert.fail(`${what}: got ${JSON.stringify(got)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const text = (loc) => loc.innerText().catch((err) => `<${err.message.split("\n")[0]}>`);

async function waitText(what, loc, re) {
  return eventually(`${what} should match ${re}`, () => text(loc), (s) => re.test(s));
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// signedIn waits for the signed-in view of account name.
async function signedIn(page, account) {
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
async function signedOut(page) {
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  await page.getByRole("form", { name: "Sign up" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0, "Sign out is shown while signed out");
}

// noAlert checks that no error is shown: the alert, if there is one, is
// empty.
async function noAlert(page, where) {
  const alerts = await page.getByRole("alert").allInnerTexts();
  assert.deepEqual(alerts.filter((s) => s.trim()), [], `${where}: an error is shown`);
}

async function noSideScroll(page, where) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${where}: the page is ${scroll}px wide in a ${width}px viewport`);
}

// apiStatus answers the status of GET /v1/account with an API key.
async function apiStatus(secret) {
  const res = await fetch(new URL("/v1/account", base), { headers: { Authorization: `Bearer ${secret}` } });
  await res.arrayBuffer();
  return res.status;
}

for (const vp of viewports) {
  test(`${vp.name}: sign up, make and revoke a key, sign out, sign in, reload`, { timeout: 30_000 }, async (t) => {
    const w = await open(t, vp);
    const { page } = w;
    const email = `${unique("ui")}@example.com`;
    const account = "Acme Media"; // seen in the screenshots; the email is what is unique

    await signedOut(page);
    await noSideScroll(page, "signed out");
    if (vp.screenshots) {
      await mkdir(shots, { recursive: true });
      await page.screenshot({ path: `${shots}/signin.png`, fullPage: true });
    }

    const signup = page.getByRole("form", { name: "Sign up" });
    await signup.getByRole("heading", { name: "Sign up" }).waitFor();
    await signup.getByRole("textbox", { name: "Email" }).fill(email);
    await signup.getByLabel("Password").fill(password);
    await signup.getByRole("textbox", { name: "Account name" }).fill(account);
    await signup.getByRole("button", { name: "Sign up" }).click();
    await signedIn(page, account);

    await page.getByRole("navigation").getByRole("link", { name: "Keys" }).click();
    const keys = page.getByRole("heading", { name: "API keys" });
    await keys.waitFor();
    const create = page.getByRole("form", { name: "Create key" });
    await create.getByRole("textbox", { name: "Key name" }).fill("ci");
    for (const scope of ["objects:read", "objects:write", "jobs", "fetch"]) {
      assert.ok(await create.getByRole("checkbox", { name: scope, exact: true }).isChecked(), `scope ${scope} is not checked by default`);
    }
    await create.getByRole("button", { name: "Create key" }).click();

    const region = page.getByRole("region", { name: "New key secret" });
    await region.waitFor();
    const secret = await waitText("the new key's secret", region.locator("code"), /^mg_\S+$/);
    await waitText("the secret region", region, /shown only once/);
    assert.equal(await apiStatus(secret), 200, "the secret shown does not authenticate");

    const table = page.getByRole("table", { name: "API keys" });
    const row = table.getByRole("row").filter({ has: page.getByRole("cell", { name: "ci", exact: true }) });
    await eventually("rows of key ci", () => row.count(), (n) => n === 1);
    await noSideScroll(page, "keys");
    if (vp.screenshots) await page.screenshot({ path: `${shots}/keys.png`, fullPage: true });

    // Without the clipboard permission the click must just not break the
    // page (checkClean below); with it, the secret must be on the clipboard.
    await region.getByRole("button", { name: "Copy" }).click();
    await noAlert(page, "after Copy");
    if (vp.clipboard) {
      await eventually("the clipboard after Copy", () => page.evaluate(() => navigator.clipboard.readText()), (s) => s === secret);
    }

    await row.getByRole("button", { name: "Revoke ci" }).click();
    await waitText("the row of the revoked key", row, /revoked/);
    assert.equal(await row.getByRole("button", { name: /^Revoke/ }).count(), 0, "a revoked key still has a Revoke button");
    assert.equal(await apiStatus(secret), 401, "the revoked key still authenticates");
    await noAlert(page, "after Revoke");

    await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
    await signedOut(page);

    const signin = page.getByRole("form", { name: "Sign in" });
    await signin.getByRole("heading", { name: "Sign in" }).waitFor();
    await signin.getByRole("textbox", { name: "Email" }).fill(email);
    await signin.getByLabel("Password").fill("not the password");
    await signin.getByRole("button", { name: "Sign in" }).click();
    await waitText("the alert after a wrong password", page.getByRole("alert"), /invalid|password/i);
    w.expectStatus("401 POST /v1/auth/login");
    await signedOut(page);

    await signin.getByRole("textbox", { name: "Email" }).fill(email);
    await signin.getByLabel("Password").fill(password);
    await signin.getByRole("button", { name: "Sign in" }).click();
    await signedIn(page, account);
    assert.equal(await region.count(), 0, "the secret of the key made before signing out is shown again after signing in");
    // The keys are listed (no request of the page's is still running, for
    // the reload to cut short).
    await waitText("the key row after signing in", row, /revoked/);

    await page.reload();
    await signedIn(page, account);
    await waitText("the key row after a reload", row, /revoked/);
    assert.equal(await region.count(), 0, "the secret is shown again after a reload");
    w.checkClean();
  });
}

test("keyboard only: tab to the Sign in form, fill it, press Enter", { timeout: 30_000 }, async (t) => {
  const email = `${unique("kb")}@example.com`;
  const account = "Keyboard Media";
  const res = await fetch(new URL("/v1/auth/signup", base), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password, account_name: account }),
  });
  assert.equal(res.status, 201, `signup: ${await res.text()}`);

  const w = await open(t, viewports[1]);
  const { page } = w;
  await signedOut(page);
  const signin = page.getByRole("form", { name: "Sign in" });
  const fields = [
    [signin.getByRole("textbox", { name: "Email" }), email],
    [signin.getByLabel("Password"), password],
  ];
  const button = signin.getByRole("button", { name: "Sign in" });
  const focused = (loc) => loc.evaluate((el) => el === document.activeElement);
  const path = [];
  for (let i = 0; ; i++) {
    assert.ok(i < 30, `30 Tabs did not reach the Sign in button; focus went: ${path.join(" → ")}`);
    await page.keyboard.press("Tab");
    path.push(await page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}${el.name ? `[${el.name}]` : ""}${el.textContent.trim() && el.tagName === "BUTTON" ? `(${el.textContent.trim()})` : ""}` : "none";
    }));
    for (const [field, value] of fields) {
      if ((await focused(field)) && !(await field.inputValue())) await page.keyboard.type(value);
    }
    if (await focused(button)) break;
  }
  for (const [field, value] of fields) {
    assert.equal(await field.inputValue(), value, "a Sign in field was not reached by Tab before the button");
  }
  await page.keyboard.press("Enter");
  await signedIn(page, account);
  w.checkClean();
});
