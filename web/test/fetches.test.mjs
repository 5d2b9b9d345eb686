// Real-browser tests of the Fetches view: paste a URL list or upload a list
// file, watch the fetch live, open its manifest, see refusals, cancel a slow
// fetch. What the page shows is checked against the API, the objects
// against the bytes served, and the credits against the price list. The
// URLs are served by a small origin this file starts on 127.0.0.1 (the
// test server lets fetches reach loopback). Helpers: lib.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import {
  apiJSON, balance, base, cost, creditsText, escape, eventually, noAlert, noSideScroll, openSignedIn, screenshot, sha256, signedIn, signedOut, signUp, sleep, text, viewports, waitText,
} from "./lib.mjs";

const MiB = 1 << 20;
// The server's prices (GET /v1/prices; the test server's are the defaults:
// 100 per URL and 1,000 per MiB fetched, 2,000 per MiB downloaded), in
// micro-credits: the credit arithmetic below is computed from them.
let fetchPerURL, fetchPerMiB, downloadPerMiB;

// The origin's files: 20 text files of distinct known sizes (100 to 4,970
// bytes), a 404, a zip (a type the server does not store) and slow files
// for the cancel.
const sizes = Array.from({ length: 20 }, (_, i) => 100 + i * 256 + i);
const files = sizes.map((n, i) => Buffer.from(`file ${String(i).padStart(2, "0")}\n${"the quick brown fox jumps over the lazy dog\n".repeat(120)}`.slice(0, n)));
const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]), Buffer.alloc(300, 7)]);
const origin = http.createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const answer = (status, type, body) => {
    if (res.destroyed) return;
    res.writeHead(status, { "Content-Type": type, "Content-Length": body.length });
    res.end(body);
  };
  let m;
  if ((m = path.match(/^\/f\/(\d\d)\.txt$/)) && files[Number(m[1])]) setTimeout(() => answer(200, "text/plain", files[Number(m[1])]), 150);
  else if (path === "/f/archive.zip") setTimeout(() => answer(200, "application/zip", zip), 150);
  else if (path.startsWith("/slow/")) setTimeout(() => answer(200, "text/plain", Buffer.from(`slow ${path}\n`)), 2000);
  else setTimeout(() => answer(404, "text/plain", Buffer.from("not found\n")), 150);
});
let at; // the origin's base URL
before(async () => {
  await new Promise((resolve) => origin.listen(0, "127.0.0.1", resolve));
  at = `http://127.0.0.1:${origin.address().port}`;
  const res = await fetch(new URL("/v1/prices", base), { headers: { Authorization: `Bearer ${(await signUp("Prices")).token}` } });
  const p = await res.json();
  assert.equal(res.status, 200, `GET /v1/prices: ${JSON.stringify(p)}`);
  ({ fetch_per_url: fetchPerURL, fetch_per_mib: fetchPerMiB, download_per_mib: downloadPerMiB } = p);
  assert.ok(fetchPerURL > 0 && fetchPerMiB > 0 && downloadPerMiB > 0, `the price list: ${JSON.stringify(p)}`);
});
after(() => {
  origin.closeAllConnections();
  origin.close();
});
const fileURL = (i) => `${at}/f/${String(i).padStart(2, "0")}.txt`;

// fetchOf answers GET /v1/fetches/{id}.
async function fetchOf(token, id) {
  const { status, body } = await apiJSON(token, "GET", `/v1/fetches/${id}`);
  assert.ok(status === 200 || status === 202, `GET /v1/fetches/${id}: ${status} ${JSON.stringify(body)}`);
  return body;
}

// startFetch submits the form and answers the panel of the new fetch and
// its id (from the panel's heading; the API's newest fetch must agree).
async function startFetch(page, token) {
  await page.getByRole("form", { name: "New fetch" }).getByRole("button", { name: "Start fetch" }).click();
  const panel = page.getByRole("region", { name: /^Fetch fetch_/ });
  const heading = await waitText("the fetch panel's heading", panel.getByRole("heading", { level: 3 }), /^Fetch fetch_\w+$/);
  const id = heading.slice("Fetch ".length);
  const { body } = await apiJSON(token, "GET", "/v1/fetches");
  assert.equal(body.fetches[0]?.id, id, "the panel does not show the fetch just made (the API's newest)");
  return { panel, id };
}

// statusLine is the panel's status as the page writes it from the API's
// fetch.
const statusLine = (f) => `${f.status}: ${f.counts.done} of ${f.urls} URLs done, ${f.counts.ok} stored, ${f.counts.errors} failed` +
  `${f.counts.duplicates ? `, ${f.counts.duplicates} duplicates` : ""}.`;

for (const vp of viewports) {
  test(`${vp.name}: paste 22 URLs, watch the fetch live, open its manifest`, { timeout: 60_000 }, async (t) => {
    const w = await openSignedIn(t, vp, { name: "Fetch Media", route: "#fetches" });
    const { page, acct } = w;
    await page.getByRole("heading", { name: "Fetches", level: 2 }).waitFor();
    const form = page.getByRole("form", { name: "New fetch" });
    const urls = [...files.map((_, i) => fileURL(i)), `${at}/f/missing.txt`, `${at}/f/archive.zip`];
    await form.getByLabel("URLs, one per line").fill(`# the test's list\n${urls.join("\n")}\n\n`);
    await form.getByText("Options", { exact: true }).click();
    await form.getByLabel("Concurrency").fill("1"); // one at a time: the fetch takes seconds, progress is seen
    const hold = 22 * fetchPerURL + cost(22 * 16 * MiB, fetchPerMiB);
    await waitText("the estimate before submitting", form.getByText(/holds at most/), new RegExp(`^22 URLs: holds at most ${escape(creditsText(hold))} `));

    const before = await balance(acct.token);
    const { panel, id } = await startFetch(page, acct.token);
    const bar = panel.getByRole("progressbar", { name: `Progress of ${id}` });
    const status = panel.getByRole("status");
    const seen = [];
    await eventually("the fetch's status until it ends", async () => {
      const s = await text(status);
      if (seen.at(-1) !== s) seen.push(s);
      return s;
    }, (s) => /^(succeeded|failed|canceled):/.test(s), 20_000);
    const running = seen.filter((s) => s.startsWith("running:")).map((s) => Number(s.match(/^running: (\d+) of 22/)?.[1]));
    assert.ok(new Set(running).size >= 3, `the progress should change at least twice while running (live); the status went: ${seen.join(" → ")}`);
    assert.deepEqual(running, [...running].sort((a, b) => a - b), `the progress went backwards: ${seen.join(" → ")}`);

    const f = await fetchOf(acct.token, id);
    assert.equal(f.status, "succeeded", `the fetch: ${JSON.stringify(f)}`);
    assert.deepEqual({ ok: f.counts.ok, errors: f.counts.errors, duplicates: f.counts.duplicates, by_kind: f.counts.by_kind },
      { ok: 20, errors: 2, duplicates: 0, by_kind: { http: 1, type: 1 } }, "the API's counts");
    const served = sizes.reduce((a, b) => a + b, 0);
    assert.equal(f.counts.bytes, served, "bytes stored (API) differ from the bytes served");
    const charge = 20 * fetchPerURL + cost(served, fetchPerMiB);
    assert.equal(f.charged, charge, "the API's charge differs from the price list's");
    assert.equal(await text(status), statusLine(f), "the page's status line differs from the API's counts");
    assert.equal(await bar.getAttribute("value"), "22", "the progress bar is not full");
    assert.equal(await bar.getAttribute("max"), "22", "the progress bar's total is not the 22 URLs");
    const facts = await text(panel.getByRole("definition").first().locator(".."));
    for (const re of [/Stored\s+20\b/, new RegExp(`Bytes stored\\s+${Math.round(served / 1024)} KiB`), /Failed\s+2\b/, /Errors by kind\s+http: 1, type: 1/, /Rate\s+[\d.]+ URLs\/s/,
      /Elapsed\s+\d+ s/, new RegExp(`Cost\\s+${escape(creditsText(charge))}`)]) {
      assert.match(facts, re, "the panel's facts");
    }
    assert.equal(await panel.getByRole("button", { name: "Cancel fetch" }).count(), 0, "Cancel fetch is offered for a finished fetch");

    await panel.getByRole("button", { name: "Open manifest" }).click();
    const table = panel.getByRole("table", { name: `Manifest of ${id}` });
    await table.waitFor();
    const rows = await table.getByRole("row").evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.cells].map((c) => c.innerText)));
    assert.equal(rows.length, 22, `the manifest's rows: ${JSON.stringify(rows)}`);
    assert.deepEqual(rows.map((r) => r[0]).sort(), [...urls].sort(), "the manifest's URLs are not the list's");
    const byURL = new Map(rows.map((r) => [r[0], r]));
    const missing = byURL.get(`${at}/f/missing.txt`);
    assert.equal(missing[1], "failed (http)", "the 404's outcome");
    assert.match(missing[2], /404/, "the 404's error");
    const refused = byURL.get(`${at}/f/archive.zip`);
    assert.equal(refused[1], "failed (type)", "the zip's outcome");
    assert.match(refused[2], /application\/zip/, "the zip's error");

    const { body: page1 } = await apiJSON(acct.token, "GET", "/v1/objects?limit=1000");
    const objects = new Map(page1.objects.map((o) => [o.id, o]));
    for (let i = 0; i < files.length; i++) {
      const r = byURL.get(fileURL(i));
      assert.equal(r[1], "stored", `${fileURL(i)}'s outcome`);
      const oid = r[2].match(/^(obj_[0-9a-z]{26}) \(/)?.[1];
      assert.ok(oid, `${fileURL(i)}'s row names no object: ${r[2]}`);
      const o = objects.get(oid);
      assert.ok(o, `the object ${oid} the manifest row of ${fileURL(i)} names is not in the account`);
      assert.deepEqual({ state: o.state, size: o.size, sha256: o.sha256 }, { state: "ready", size: sizes[i], sha256: sha256(files[i]) },
        `the object of ${fileURL(i)} differs from what the origin served`);
    }
    const manifest = objects.get(f.manifest_object_id);
    assert.ok(manifest, "the manifest object is not in the account");
    const manifestCharge = cost(manifest.size, downloadPerMiB);
    await waitText("the manifest's summary", panel.getByText(/opening its manifest cost/),
      new RegExp(`The fetch cost ${escape(creditsText(charge))}; opening its manifest cost ${escape(creditsText(manifestCharge))}\\.`));
    const href = await panel.getByRole("link", { name: "Download manifest" }).getAttribute("href");
    const lines = (await (await fetch(new URL(href, page.url()))).text()).trim().split("\n");
    assert.equal(lines.length, 22, "the Download manifest link does not give the 22 results");

    const want = before.available - charge - manifestCharge;
    const after = await eventually("the balance after the fetch and the manifest", () => balance(acct.token), (b) => b.available === want, 20_000);
    assert.equal(after.held, 0, "credit is still held after the fetch ended");
    await waitText("the header's balance", page.getByRole("status", { name: "Account" }), new RegExp(`${escape(creditsText(want))} available`));

    const past = page.getByRole("table", { name: "Past fetches" }).getByRole("row").filter({ hasText: id });
    await waitText("the fetch's row in Past fetches", past, /succeeded\s+22\s+20\s+2\b/);
    await noAlert(page, "after the fetch");
    await noSideScroll(page, "the fetch and its manifest");
    await screenshot(page, vp, "fetches");
    w.checkClean();
  });
}

const desktop = viewports.find((v) => v.name === "desktop");

test("desktop: a list file is sent as it is and fetched", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { name: "List Media", route: "#fetches" });
  const { page, acct } = w;
  const form = page.getByRole("form", { name: "New fetch" });
  const list = `${[0, 1, 2, 3, 4].map(fileURL).join("\n")}\n`;
  await form.getByLabel("Or a list file (one URL per line)").setInputFiles({ name: "list.txt", mimeType: "text/plain", buffer: Buffer.from(list) });
  await waitText("the estimate of the file", form.getByText(/holds at most/), new RegExp(`^5 URLs: holds at most ${escape(creditsText(5 * fetchPerURL + cost(5 * 16 * MiB, fetchPerMiB)))} `));
  const sent = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/v1/fetches");
  const { panel, id } = await startFetch(page, acct.token);
  const req = await sent;
  assert.match(req.headers()["content-type"], /^text\/plain/, "the list file is not sent as text/plain");
  assert.equal(new URL(req.url()).searchParams.get("max_size"), String(16 * MiB), "the max size is not in the query");
  await eventually("the file's fetch", () => text(panel.getByRole("status")), (s) => /^(succeeded|failed|canceled):/.test(s), 20_000);
  const f = await fetchOf(acct.token, id);
  assert.deepEqual({ status: f.status, urls: f.urls, ok: f.counts.ok }, { status: "succeeded", urls: 5, ok: 5 }, "the API's fetch of the file");
  assert.equal(await text(panel.getByRole("status")), statusLine(f), "the page's status line differs from the API's");
  assert.equal(await form.getByLabel("Or a list file (one URL per line)").inputValue(), "", "the file stays chosen after the fetch started");
  // The server keeps the list it was sent as the fetch's shard list.
  const { body: objs } = await apiJSON(acct.token, "GET", "/v1/objects?limit=1000");
  const stored = objs.objects.find((o) => o.filename === `${id}-list-0.txt`);
  assert.equal(stored?.sha256, sha256(Buffer.from(list)), `the list the server got is not the file: ${JSON.stringify(stored)}`);
  await noAlert(page, "after the file's fetch");

  // The next user of the tab sees nothing of this one's fetches.
  await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
  await signedOut(page);
  const other = await signUp("Other Media");
  await page.evaluate((token) => sessionStorage.setItem("mediagate.token", token), other.token);
  await page.goto("/#fetches");
  await signedIn(page, "Other Media");
  await page.getByText("No fetches yet.").waitFor();
  assert.equal(await page.getByRole("region", { name: /^Fetch fetch_/ }).count(), 0, "the previous user's fetch panel is shown to the next user");
  assert.equal(await page.getByText(id).count(), 0, "the previous user's fetch id is shown to the next user");
  w.checkClean();
});

test("desktop: no URLs, a refused option, short credit, a line that is no URL", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { name: "Refused Media", route: "#fetches" });
  const { page, acct } = w;
  const form = page.getByRole("form", { name: "New fetch" });
  const alert = form.getByRole("alert");
  const posts = [];
  page.on("request", (r) => r.method() === "POST" && new URL(r.url()).pathname === "/v1/fetches" && posts.push(r));
  const start = form.getByRole("button", { name: "Start fetch" });

  await form.getByLabel("URLs, one per line").fill("# only a comment\n\n");
  await start.click();
  await waitText("the message for no URLs", alert, /Paste at least one URL/);
  await sleep(200);
  assert.equal(posts.length, 0, "a fetch of no URLs was sent");

  const u = fileURL(7);
  await form.getByLabel("URLs, one per line").fill(u);
  await form.getByText("Options", { exact: true }).click();
  await form.getByLabel("Allowed types").fill("pdf");
  const refusal = await apiJSON(acct.token, "POST", "/v1/fetches", { urls: [u], options: { max_size: 16 * MiB, types: ["pdf"] } });
  assert.equal(refusal.status, 400, `the API takes the type "pdf": ${JSON.stringify(refusal.body)}`);
  await start.click();
  await waitText("the refusal of the type", alert, new RegExp(`^${escape(refusal.body.detail)}$`));
  w.expectStatus("400 POST /v1/fetches");

  await form.getByLabel("Allowed types").fill("");
  await form.getByLabel("Max size per file (MiB)").fill("1000");
  await form.getByLabel("URLs, one per line").fill(`${u}\n${fileURL(8)}`);
  const needed = 2 * fetchPerURL + cost(2 * 1000 * MiB, fetchPerMiB);
  await waitText("the estimate of a large max size", form.getByText(/holds at most/), new RegExp(`^2 URLs: holds at most ${escape(creditsText(needed))} `));
  await start.click();
  await waitText("the short credit's problem", alert, new RegExp(`^Not enough credit: this fetch needs ${escape(creditsText(needed))}, and ${escape(creditsText(1e6))} is available\\.$`));
  w.expectStatus("402 POST /v1/fetches");
  assert.equal(posts.length, 2, "the refused submits were not each sent once");
  assert.equal((await balance(acct.token)).available, 1e6, "a refused fetch changed the balance");

  // The server takes a line that is no URL and reports it as the URL's
  // error (kind url); it is charged nothing.
  await form.getByLabel("Max size per file (MiB)").fill("16");
  await form.getByLabel("URLs, one per line").fill(`not a url\n${u}`);
  const { panel, id } = await startFetch(page, acct.token);
  assert.equal(await alert.count(), 0, "the form's alert keeps an old error after a fetch started");
  await eventually("the fetch with a line that is no URL", () => text(panel.getByRole("status")), (s) => /^(succeeded|failed|canceled):/.test(s), 20_000);
  const f = await fetchOf(acct.token, id);
  assert.deepEqual({ ok: f.counts.ok, errors: f.counts.errors, by_kind: f.counts.by_kind }, { ok: 1, errors: 1, by_kind: { url: 1 } }, "the API's counts");
  assert.equal(await text(panel.getByRole("status")), statusLine(f), "the page's status line differs from the API's");
  assert.match(await text(panel.getByRole("definition").first().locator("..")), /Errors by kind\s+url: 1/, "the errors by kind");
  await noAlert(page, "after the fetch");
  w.checkClean();
});

test("desktop: cancel a slow fetch", { timeout: 40_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { name: "Cancel Media", route: "#fetches" });
  const { page, acct } = w;
  const form = page.getByRole("form", { name: "New fetch" });
  const slow = Array.from({ length: 50 }, (_, i) => `${at}/slow/${i}.txt`);
  await form.getByLabel("URLs, one per line").fill(slow.join("\n"));
  const before = await balance(acct.token);
  const { panel, id } = await startFetch(page, acct.token);
  const status = panel.getByRole("status");
  await waitText("the slow fetch's status", status, /^running: \d+ of 50 URLs done/);
  await panel.getByRole("button", { name: "Cancel fetch" }).click();
  await eventually("the status after Cancel fetch", () => text(status), (s) => s.startsWith("canceled:"), 15_000);
  const f = await fetchOf(acct.token, id);
  assert.equal(f.status, "canceled", "the API's state after Cancel fetch");
  assert.ok(f.counts.ok < 50 && f.counts.by_kind?.canceled > 0, `the canceled fetch's URLs were not canceled: ${JSON.stringify(f.counts)}`);
  assert.equal(await text(status), statusLine(f), "the page's status line differs from the API's");
  assert.equal(await panel.getByRole("button", { name: "Cancel fetch" }).count(), 0, "Cancel fetch is still offered");
  const after = await eventually("the balance after the cancel", () => balance(acct.token), (b) => b.held === 0, 20_000);
  assert.equal(after.available, before.available - f.charged, "the cancel's balance: before − what it stored");
  assert.equal(f.charged, f.counts.ok * fetchPerURL + cost(f.counts.bytes, fetchPerMiB), "the canceled fetch's charge");
  const past = page.getByRole("table", { name: "Past fetches" }).getByRole("row").filter({ hasText: id });
  await waitText("the canceled fetch's row", past, /canceled\s+50\b/);
  await noAlert(page, "after the cancel");
  w.checkClean();
});

test("desktop: past fetches, newest first, a page at a time", { timeout: 40_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { name: "Many Media", route: "#credits" });
  const { page, acct } = w;
  const ids = [];
  for (let i = 0; i < 21; i++) {
    const { status, body } = await apiJSON(acct.token, "POST", "/v1/fetches", { urls: [`${at}/gone/${i}`] });
    assert.equal(status, 202, `fetch ${i}: ${JSON.stringify(body)}`);
    ids.unshift(body.id);
  }
  for (const id of ids) await eventually(`fetch ${id} to end`, () => fetchOf(acct.token, id), (f) => f.status !== "running", 20_000);
  await page.getByRole("navigation").getByRole("link", { name: "Fetches" }).click();
  const rows = page.getByRole("table", { name: "Past fetches" }).getByRole("row");
  await eventually("the first page of past fetches", () => rows.count(), (n) => n === 21, 20_000); // a header and 20
  const shown = async () => (await rows.allInnerTexts()).slice(1).map((s) => s.split(/\s/)[0]);
  assert.deepEqual(await shown(), ids.slice(0, 20), "the past fetches are not the newest 20, newest first");
  const panel = page.getByRole("region", { name: `Fetch ${ids[0]}` });
  await waitText("the newest fetch's panel", panel.getByRole("status"), /^succeeded: 1 of 1 URLs done, 0 stored, 1 failed\.$/);
  await page.getByRole("button", { name: "More fetches" }).click();
  await eventually("all past fetches", () => rows.count(), (n) => n === 22, 20_000);
  assert.deepEqual(await shown(), ids, "the past fetches after More fetches");
  assert.equal(await page.getByRole("button", { name: "More fetches" }).count(), 0, "More fetches is offered after the last page");
  await rows.filter({ hasText: ids[20] }).getByRole("button", { name: `Show ${ids[20]}` }).click();
  await page.getByRole("region", { name: `Fetch ${ids[20]}` }).getByRole("progressbar", { name: `Progress of ${ids[20]}` }).waitFor();
  assert.equal((await balance(acct.token)).available, 1e6, "fetches that stored nothing were charged");
  await noAlert(page, "past fetches");
  w.checkClean();
});
