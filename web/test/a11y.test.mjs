// Accessibility audit of the web UI with axe-core: each main state of the
// page (signed out; Files with a thumbnail, a player, a share link and a
// finished upload; Credits with charges; Jobs with a finished job's
// details; Fetches with a finished fetch's manifest; Keys with a new key's
// secret) is checked against WCAG 2.0 and 2.1, levels A and AA, at the
// phone's and the desktop's size, and must have no violation. And a
// keyboard-only walk of the Files route: Choose files, then a card's Share.
//
// The page's CSP allows only its own scripts, so the audit's contexts
// bypass it (bypassCSP, in this file only) to inject axe.min.js.
// Helpers: lib.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  apiJSON, eventually, noAlert, open, openSignedIn, png, signedIn, signedOut, store, viewports, waitText, wav,
} from "./lib.mjs";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const jobType = process.env.MEDIAGATE_JOB_TYPE;
assert.ok(jobType, "MEDIAGATE_JOB_TYPE names the job type the test worker runs");
const desktop = viewports.find((v) => v.name === "desktop");

// A small origin for the fetch: two text files and a 404.
const origin = http.createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const body = Buffer.from(path === "/missing.txt" ? "not found\n" : `the file ${path}\n`);
  res.writeHead(path === "/missing.txt" ? 404 : 200, { "Content-Type": "text/plain", "Content-Length": body.length });
  res.end(body);
});
let at; // the origin's base URL
let dir; // files the page uploads
before(async () => {
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  at = `http://127.0.0.1:${origin.address().port}`;
  dir = await mkdtemp(join(tmpdir(), "mediagate-a11y-"));
  await writeFile(join(dir, "notes.txt"), "Notes sent through the upload panel.\n");
});
after(async () => {
  origin.closeAllConnections();
  origin.close();
  await rm(dir, { recursive: true, force: true });
});

// audit runs axe-core on the page as it is and fails on any violation,
// saying for each its rule, impact, help and the elements at fault.
async function audit(page, where) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async (values) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values }, resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
  }, tags);
  const report = violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.url}\n` +
    v.nodes.map((n) => `    ${n.target}\n      ${n.summary.replace(/\n/g, "\n      ")}`).join("\n")).join("\n  ");
  assert.equal(violations.length, 0, `${where}: axe found ${violations.length} violations:\n  ${report}`);
}

// The audit's contexts bypass the CSP, so axe can be injected.
const audited = (vp) => ({ ...vp, bypassCSP: true });

// filesOf stores the Files view's files through the API: a text file, a
// WAV and a PNG (newest, so first).
async function filesOf(token) {
  await store(token, "minutes.txt", "text/plain", Buffer.from("Minutes of the meeting.\n"));
  await store(token, "tone.wav", "audio/wav", wav());
  await store(token, "gradient.png", "image/png", png());
}

// openFiles opens the Files view of a fresh account holding filesOf's
// files, with the thumbnail shown.
async function openFiles(t, vp) {
  const w = await openSignedIn(t, vp, { name: "A11y Files", route: "#files" });
  await filesOf(w.acct.token);
  await w.page.reload(); // it listed an empty account at sign-in
  await signedIn(w.page, "A11y Files");
  const list = w.page.getByRole("list", { name: "Files" });
  const card = (name) => list.getByRole("article", { name, exact: true });
  await card("gradient.png").getByRole("img", { name: "gradient.png" }).waitFor();
  await card("tone.wav").waitFor();
  await card("minutes.txt").waitFor();
  return { ...w, card };
}

// The views of Credits, Jobs and Fetches are opened from Keys, once the
// test made what they show: they load it when shown.

// uploadRow is the upload panel's row of a file.
const uploadRow = (page, name) => page.getByRole("list", { name: "Uploads" }).getByRole("listitem").filter({ hasText: name });

for (const vp of viewports) {
  test(`${vp.name}: axe: signed out`, { timeout: 30_000 }, async (t) => {
    const w = await open(t, audited(vp));
    await signedOut(w.page);
    await audit(w.page, `${vp.name}, signed out`);
    w.checkClean();
  });

  test(`${vp.name}: axe: files, with an upload done, a player and a share link`, { timeout: 30_000 }, async (t) => {
    const w = await openFiles(t, audited(vp));
    const { page, card } = w;
    await page.getByLabel("Choose files").setInputFiles(join(dir, "notes.txt"));
    await waitText("the uploaded file's row", uploadRow(page, "notes.txt"), /\bdone\b/);
    await card("notes.txt").waitFor();
    await audit(page, `${vp.name}, files`);

    await card("tone.wav").getByRole("button", { name: "Play tone.wav" }).click();
    await card("tone.wav").getByLabel("Player of tone.wav").waitFor();
    const pic = card("gradient.png");
    await pic.getByRole("button", { name: "Share gradient.png" }).click();
    await pic.getByRole("button", { name: "Create link" }).click();
    await pic.getByRole("textbox", { name: /^Share link/ }).waitFor();
    await noAlert(page, "files");
    await audit(page, `${vp.name}, files with a player and a share link`);
    w.checkClean();
  });

  test(`${vp.name}: axe: credits with charges`, { timeout: 30_000 }, async (t) => {
    const w = await openSignedIn(t, audited(vp), { name: "A11y Credits", route: "#keys" });
    const { page, acct } = w;
    const o = await store(acct.token, "notes.txt", "text/plain", Buffer.alloc(300_000, "a"));
    assert.equal((await apiJSON(acct.token, "POST", `/v1/objects/${o.id}/url`, {})).status, 200);
    const held = await apiJSON(acct.token, "POST", "/v1/uploads", { filename: "later.txt", content_type: "text/plain", size: 1 << 20 });
    assert.equal(held.status, 201, `declare later.txt: ${JSON.stringify(held.body)}`);
    await page.getByRole("navigation").getByRole("link", { name: "Credits" }).click();
    const view = page.getByRole("region", { name: "Credits" });
    await eventually("the ledger's rows", () => view.getByRole("table", { name: "Ledger" }).getByRole("row").count(), (n) => n >= 4);
    await view.getByRole("img", { name: /most on/ }).waitFor();
    await view.getByRole("button", { name: "Show as table" }).click();
    await view.getByRole("table", { name: "Usage by day and operation" }).waitFor();
    await view.getByRole("table", { name: "Active holds" }).getByRole("cell", { name: "upload" }).waitFor();
    await audit(page, `${vp.name}, credits`);
    if (vp.isMobile) {
      // The ledger is wider than a phone, and has nothing to focus: its
      // box takes the focus, and the arrow keys scroll it.
      const box = view.getByRole("region", { name: "Ledger, scrollable" });
      assert.equal(await box.getAttribute("tabindex"), "0", "the ledger's scroll box is not in the Tab order");
      await box.focus();
      await page.keyboard.press("ArrowRight");
      await eventually("the ledger's scroll after ArrowRight", () => box.evaluate((b) => b.scrollLeft), (x) => x > 0);
    }
    w.checkClean();
  });

  test(`${vp.name}: axe: jobs, a finished job's details open`, { timeout: 30_000 }, async (t) => {
    const w = await openSignedIn(t, audited(vp), { name: "A11y Jobs", route: "#keys" });
    const { page, acct } = w;
    const o = await store(acct.token, "input.txt", "text/plain", Buffer.from("the job's input\n"));
    const sub = await apiJSON(acct.token, "POST", "/v1/jobs", { type: jobType, params: { label: "a11y" }, input_object_id: o.id });
    assert.equal(sub.status, 202, `submit: ${JSON.stringify(sub.body)}`);
    const id = sub.body.id;
    await eventually(`the job ${id}`, async () => (await apiJSON(acct.token, "GET", `/v1/jobs/${id}`)).body, (j) => j.status !== "queued" && j.status !== "running", 20_000);
    await page.getByRole("navigation").getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("button", { name: `Details of ${id}` }).click();
    await waitText("the job's result", page.getByRole("region", { name: `Result of ${id}` }), /sha256/);
    await page.getByRole("region", { name: `Details of ${id}` }).getByRole("button", { name: "Download report.txt" }).waitFor();
    await audit(page, `${vp.name}, jobs`);
    w.checkClean();
  });

  test(`${vp.name}: axe: fetches, a finished fetch's manifest open`, { timeout: 30_000 }, async (t) => {
    const w = await openSignedIn(t, audited(vp), { name: "A11y Fetches", route: "#keys" });
    const { page, acct } = w;
    const made = await apiJSON(acct.token, "POST", "/v1/fetches",
      { urls: [`${at}/a.txt`, `${at}/b.txt`, `${at}/missing.txt`], options: { max_size: 1 << 20 } });
    assert.ok(made.status === 201 || made.status === 202, `POST /v1/fetches: ${made.status} ${JSON.stringify(made.body)}`);
    const id = made.body.id;
    await eventually(`the fetch ${id}`, async () => (await apiJSON(acct.token, "GET", `/v1/fetches/${id}`)).body, (f) => f.status !== "running", 20_000);
    await page.getByRole("navigation").getByRole("link", { name: "Fetches" }).click();
    const panel = page.getByRole("region", { name: `Fetch ${id}` });
    await waitText("the fetch's status", panel.getByRole("status"), /^succeeded:/);
    await panel.getByRole("button", { name: "Open manifest" }).click();
    await panel.getByRole("table", { name: `Manifest of ${id}` }).waitFor();
    const form = page.getByRole("form", { name: "New fetch" });
    await form.getByText("Options", { exact: true }).click();
    await form.getByLabel("URLs, one per line").fill(`${at}/c.txt\n`);
    await waitText("the estimate", form.getByText(/holds at most/), /^1 URL/);
    await audit(page, `${vp.name}, fetches`);
    w.checkClean();
  });

  test(`${vp.name}: axe: keys, a key just made`, { timeout: 30_000 }, async (t) => {
    const w = await openSignedIn(t, audited(vp), { name: "A11y Keys", route: "#keys" });
    const { page } = w;
    const create = page.getByRole("form", { name: "Create key" });
    await create.getByRole("textbox", { name: "Key name" }).fill("ci");
    await create.getByRole("button", { name: "Create key" }).click();
    const region = page.getByRole("region", { name: "New key secret" });
    await waitText("the new key's secret", region.locator("code"), /^mg_\S+$/);
    await page.getByRole("table", { name: "API keys" }).getByRole("button", { name: "Revoke ci" }).waitFor();
    await audit(page, `${vp.name}, keys`);
    w.checkClean();
  });
}

test("keyboard only: Files: Tab to Choose files and a card's Share, operate them", { timeout: 30_000 }, async (t) => {
  const w = await openFiles(t, desktop);
  const { page, card } = w;
  const pic = card("gradient.png");
  const share = pic.getByRole("button", { name: "Share gradient.png" });
  const focused = (loc) => loc.evaluate((el) => el === document.activeElement);
  const path = [];
  // tabTo presses key (Tab, or Shift+Tab to go back) until loc has the
  // focus, noting where the focus went.
  async function tabTo(loc, what, key = "Tab") {
    for (let i = 0; !(await focused(loc)); i++) {
      assert.ok(i < 40, `40 presses of ${key} did not reach ${what}; the focus went: ${path.join(" → ")}`);
      await page.keyboard.press(key);
      path.push(await page.evaluate(() => {
        const el = document.activeElement;
        const name = el?.getAttribute("aria-label") || el?.name || el?.textContent.trim().slice(0, 20);
        return el ? `${el.tagName.toLowerCase()}${name ? `(${name})` : ""}` : "none";
      }));
    }
  }

  // Choose files: reached by Tab, with its focus shown, and opened by Space.
  const choose = page.getByLabel("Choose files");
  await tabTo(choose, "Choose files");
  const ring = await page.locator("#upload-zone .choose").evaluate((l) => getComputedStyle(l).outlineStyle);
  assert.notEqual(ring, "none", "the focused Choose files shows no focus ring");
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Space")]);
  await chooser.setFiles(join(dir, "notes.txt"));
  await waitText("the uploaded file's row", uploadRow(page, "notes.txt"), /\bdone\b/);
  await card("notes.txt").waitFor();

  // Share: reached by Tab, opened by Enter (the focus goes to its form),
  // the link made by Space on Create link.
  await tabTo(share, "the Share button of gradient.png");
  assert.equal(await share.getAttribute("aria-expanded"), "false");
  await page.keyboard.press("Enter");
  assert.equal(await share.getAttribute("aria-expanded"), "true", "Enter on Share did not open it");
  const form = pic.getByRole("form", { name: "Share gradient.png" });
  assert.ok(await focused(form.getByRole("combobox", { name: "Link expires in" })), "the focus did not move to the share form");
  await tabTo(form.getByRole("button", { name: "Create link" }), "Create link");
  await page.keyboard.press("Space");
  const link = form.getByRole("textbox", { name: /^Share link/ });
  await link.waitFor();
  assert.match(await link.inputValue(), /^https?:\/\/.*\/blob\//, "the share link made");

  // Back to Share with Shift+Tab; Space closes it.
  await tabTo(share, "the Share button again", "Shift+Tab");
  await page.keyboard.press("Space");
  assert.equal(await share.getAttribute("aria-expanded"), "false", "Space on Share did not close it");
  assert.ok(await form.isHidden(), "the share form still shows");
  assert.ok(await focused(share), "the focus left Share when it closed");
  await noAlert(page, "keyboard only");
  w.checkClean();
});
