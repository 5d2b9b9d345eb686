// Real-browser tests of the upload panel (web/static/upload.js): a PNG and
// a 50 MB WAV chosen together and a file dropped, sent through pre-signed
// URLs (the WAV as parallel multipart parts), verified byte for byte and
// charged exactly; a reload in the middle and a resume with the same file
// (never another, never another user's); pause and resume; cancel, an
// upload the server lost, discard; refused types, bytes that are not what
// they claim, and short credit. The fixtures are made
// here, in a temporary directory. Screenshot: upload.png (desktop, the WAV
// part way). Helpers: lib.mjs. The same tests run over the disk store and
// over S3 (MEDIAGATE_BLOB_STORE), where the page PUTs to the store itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  apiJSON, balance, blobOrigin, blobStore, escape, eventually, noAlert, noSideScroll, openSignedIn, password, png, screenshot, sha256, signedIn, signedOut, signUp, sleep, text, unique, uploadCost, viewports, waitText, wav,
} from "./lib.mjs";

const MiB = 1 << 20;
const desktop = viewports.find((v) => v.name === "desktop");

let dir;
const fx = {};
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mediagate-upload-"));
  for (const [key, name, data] of [["png", unique("photo") + ".png", png(64, 48)], ["wav", unique("song") + ".wav", wav(50_000_000)]]) {
    const path = join(dir, name);
    await writeFile(path, data);
    fx[key] = { name, path, size: data.length, sha: sha256(data) };
  }
});
after(() => rm(dir, { recursive: true, force: true }));

// isBlobURL tells the signed URLs the page sends bytes to: this server's
// /blob/… on the disk store, the store's own origin on S3.
const isBlobURL = (url) => (blobStore === "s3" ? new URL(url).origin === blobOrigin : new URL(url).pathname.startsWith("/blob/"));
const isPut = (req) => req.method() === "PUT" && isBlobURL(req.url());
// partOf is the part number a PUT's URL names, 0 for a whole file: the
// disk store's X-Mg-Part, or an S3 UploadPart's partNumber (with its
// uploadId; a whole file's PutObject has neither).
const partOf = (url) => {
  const q = new URL(url).searchParams;
  if (blobStore !== "s3") return Number(q.get("X-Mg-Part") || 0);
  // A part without its upload, or the other way round, is neither: NaN
  // fails every check of parts.
  if (q.has("partNumber") !== q.has("uploadId")) return NaN;
  return Number(q.get("partNumber") || 0);
};

// allowAborts lets the page abort its PUTs (pause, reload) while allowed.on
// is true, counting them in allowed.seen; any other failed request still
// fails the test.
function allowAborts(w) {
  const allowed = { on: false, seen: 0 };
  w.tolerateFailures((req) => {
    if (!allowed.on || !isPut(req) || req.failure()?.errorText !== "net::ERR_ABORTED") return false;
    allowed.seen++;
    return true;
  });
  return allowed;
}

// watchPuts records the page's PUTs to signed blob URLs: part number and
// answer. inFlight counts those the test has not yet heard the end of.
function watchPuts(page) {
  const w = { all: [], inFlight: 0 };
  const seen = new Map();
  page.on("request", (req) => {
    if (!isPut(req)) return;
    const p = { part: partOf(req.url()), status: null, url: req.url() };
    seen.set(req, p);
    w.all.push(p);
    w.inFlight++;
  });
  const end = (failed) => async (req) => {
    const p = seen.get(req);
    if (!p) return;
    seen.delete(req);
    w.inFlight--;
    p.status = failed ? "failed" : (await req.response())?.status();
  };
  page.on("requestfinished", end(false));
  page.on("requestfailed", end(true));
  return w;
}

// routeParts passes each PUT to a blob URL through hold(part), which may
// delay or hold it, then lets it go on; a PUT the page gave up on
// meanwhile is dropped.
async function routeParts(page, hold) {
  await page.route((url) => isBlobURL(url.href), async (route) => {
    if (route.request().method() === "PUT") await hold(partOf(route.request().url()));
    await route.continue().catch(() => {});
  });
}

const rowOf = (page, name) => page.getByRole("list", { name: "Uploads" }).getByRole("listitem").filter({ hasText: name });
const fraction = (bar) => bar.evaluate((e) => e.value / e.max);

async function objects(token, query = "") {
  const { status, body } = await apiJSON(token, "GET", `/v1/objects${query}`);
  assert.equal(status, 200, `GET /v1/objects${query}: ${JSON.stringify(body)}`);
  return body.objects;
}

async function storedParts(token, id) {
  const { status, body } = await apiJSON(token, "GET", `/v1/uploads/${id}/parts`);
  assert.equal(status, 200, `GET /v1/uploads/${id}/parts: ${JSON.stringify(body)}`);
  return body.parts.map((p) => p.number).sort((a, b) => a - b);
}

// ready waits until the account has a ready object named name and checks
// its size and SHA-256 against the file's.
async function ready(token, f) {
  const list = await eventually(`a ready object ${f.name}`, () => objects(token, "?state=ready"),
    (l) => l.some((o) => o.filename === f.name));
  const o = list.find((x) => x.filename === f.name);
  assert.equal(o.size, f.size, `${f.name}: the stored size differs from the file's`);
  assert.equal(o.sha256, f.sha, `${f.name}: the stored bytes' SHA-256 differs from the file's`);
  return o;
}

// charges answers the account's settled charges (the ledger's settle
// entries) by operation and, for uploads, by object.
async function charges(token) {
  const { status, body } = await apiJSON(token, "GET", "/v1/ledger?limit=1000");
  assert.equal(status, 200, `GET /v1/ledger: ${JSON.stringify(body)}`);
  const out = { upload: {}, other: 0 };
  for (const e of body.entries.filter((x) => x.kind === "settle")) {
    if (e.operation === "upload") out.upload[e.reference] = (out.upload[e.reference] ?? 0) + e.amount;
    else out.other += e.amount; // the file list's thumbnails are downloads
  }
  return out;
}

// charged checks that each file's upload was charged its price exactly
// once, and that the balance fell by that and nothing unexplained.
async function charged(token, start, files) {
  const end = await eventually("the balance once no upload is held", () => balance(token), (b) => b.held === 0);
  const c = await charges(token);
  let cost = 0;
  for (const f of files) {
    cost += uploadCost(f.size);
    assert.equal(c.upload[f.id], uploadCost(f.size), `the upload of ${f.name} (${f.size} bytes) was charged ${c.upload[f.id]}`);
  }
  assert.equal(Object.keys(c.upload).length, files.length, `upload charges ${JSON.stringify(c.upload)}, for ${files.length} files`);
  assert.equal(end.available, start - cost - c.other,
    `available went from ${start} to ${end.available}; the uploads cost ${cost} and other charges ${c.other}`);
}

// dropFiles drops files made in the page (zeros, or text) on target, the
// drop zone by default.
async function dropFiles(page, files, target = page.getByText("Drop files here or choose files")) {
  const dt = await page.evaluateHandle((list) => {
    const d = new DataTransfer();
    for (const f of list) d.items.add(new File([f.size ? new Uint8Array(f.size) : f.text], f.name, { type: f.type }));
    return d;
  }, files);
  await target.dispatchEvent("drop", { dataTransfer: dt });
}

for (const vp of viewports) {
  test(`${vp.name}: a PNG and a 50 MB WAV chosen, a text file dropped: stored byte for byte, in parallel parts, charged exactly`, { timeout: 45_000 }, async (t) => {
    const { page, acct, ...w } = await openSignedIn(t, vp, { name: "Upload Media", route: "#files" });
    const start = (await balance(acct.token)).available;
    const puts = watchPuts(page);
    // Every PUT waits at first: the page must have 4 in flight at once and
    // no more. Then parts 5 and 6 of the WAV wait until the page has been
    // seen part way (and shot).
    const held = new Set();
    let go, shot;
    const first = new Promise((r) => (go = r));
    const last = new Promise((r) => (shot = r));
    await routeParts(page, async (part) => {
      const me = {};
      held.add(me);
      await first;
      if (part >= 5) await last;
      held.delete(me);
    });
    const notes = `dropped on the upload panel ${unique("drop")}\n`.repeat(200);
    const dropped = { name: unique("notes") + ".txt", size: Buffer.byteLength(notes), sha: sha256(notes) };

    await page.getByRole("heading", { name: "Upload" }).waitFor();
    await page.getByLabel("Choose files").setInputFiles([fx.png.path, fx.wav.path]);
    await dropFiles(page, [{ name: dropped.name, type: "text/plain", text: notes }]);
    await eventually("PUTs in flight at once", () => held.size, (n) => n >= 4, 10_000);
    await sleep(700);
    assert.equal(held.size, 4, "the page should have exactly 4 PUTs in flight at once while none is answered");
    assert.equal(puts.all.length, 4, `the page sent ${puts.all.length} PUTs while 4 were unanswered, over the limit of 4`);
    go();

    const wavBar = page.getByRole("progressbar", { name: `Upload of ${fx.wav.name}` });
    await eventually("the WAV's progress once 4 of its 6 parts are in", () => fraction(wavBar), (f) => f > 0.6 && f < 1, 30_000);
    await waitText("the WAV's row part way", rowOf(page, fx.wav.name), /uploading \d+%/);
    await waitText("the overall progress", page.getByRole("status").filter({ hasText: / of .* files? done/ }), /MiB of 48 MiB/);
    await noSideScroll(page, "uploading");
    await screenshot(page, vp, "upload");
    shot();

    const stored = [];
    for (const f of [fx.png, fx.wav, dropped]) {
      await eventually(`the row of ${f.name} saying done`, () => text(rowOf(page, f.name)), (s) => /\bdone\b/.test(s), 30_000);
      assert.equal(await fraction(page.getByRole("progressbar", { name: `Upload of ${f.name}` })), 1, `${f.name}: its bar is not full`);
      stored.push({ ...f, id: (await ready(acct.token, f)).id });
    }
    assert.equal(await fraction(page.getByRole("progressbar", { name: "All uploads" })), 1, "the overall bar is not full");
    await waitText("the overall status", page.getByRole("status").filter({ hasText: /files done/ }), /3 of 3 files done/);

    const parts = await eventually("the answers to the PUTs", () => puts.all, (l) => l.every((p) => p.status), 30_000);
    assert.deepEqual(parts.map((p) => p.part).sort(), [0, 0, 1, 2, 3, 4, 5, 6],
      `the PNG and the text file should go as one PUT each and the WAV as 6 parts; PUTs: ${JSON.stringify(parts)}`);
    assert.ok(parts.every((p) => p.status === 200), `a PUT failed: ${JSON.stringify(parts)}`);

    await charged(acct.token, start, stored);
    assert.deepEqual(await objects(acct.token, "?state=pending"), [], "a pending upload was left behind");
    await noAlert(page, "after the uploads");
    await noSideScroll(page, "after the uploads");
    w.checkClean();
  });
}

test("desktop: a reload in the middle of the WAV, then Resume with the same file sends only the missing parts", { timeout: 45_000 }, async (t) => {
  const { page, acct, ...w } = await openSignedIn(t, desktop, { name: "Reload Media", route: "#files" });
  const start = (await balance(acct.token)).available;
  const aborts = allowAborts(w);
  const puts = watchPuts(page);
  let holding = true;
  let release;
  const held = new Promise((r) => (release = r));
  t.after(() => release());
  await routeParts(page, async (part) => {
    if (holding && part >= 3) await held; // until the reload cuts it off
  });

  await page.getByLabel("Choose files").setInputFiles(fx.wav.path);
  const [pending] = await eventually("the WAV's pending upload", () => objects(acct.token, "?state=pending"), (l) => l.length === 1);
  await eventually("parts 1 and 2 stored", () => storedParts(acct.token, pending.id), (p) => p.join() === "1,2");
  await eventually("parts 3 to 6 sent and held", () => puts.all.length, (n) => n === 6);

  holding = false;
  aborts.on = true;
  await page.reload({ timeout: 15_000 });
  await signedIn(page, "Reload Media");
  const region = page.getByRole("region", { name: "Interrupted uploads" });
  const item = region.getByRole("listitem").filter({ hasText: fx.wav.name });
  await waitText("the interrupted WAV", item, /16 MiB of 48 MiB stored/);
  await eventually("the held part PUTs cut off by the reload", () => aborts.seen, (n) => n === 4);
  release();
  aborts.on = false;
  const afterReload = puts.all.length;

  // Another user of the tab sees none of it; the same user again does.
  await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
  await signedOut(page);
  const other = await signUp("Other Media");
  const signIn = async (email, name) => {
    const form = page.getByRole("form", { name: "Sign in" });
    await form.getByRole("textbox", { name: "Email" }).fill(email);
    await form.getByLabel("Password").fill(password);
    await form.getByRole("button", { name: "Sign in" }).click();
    await signedIn(page, name);
  };
  await signIn(other.email, "Other Media");
  await page.getByRole("heading", { name: "Upload" }).waitFor();
  await sleep(1000);
  assert.equal(await region.count(), 0, "another user of the tab is shown the first user's interrupted uploads");
  assert.equal(await page.getByText(fx.wav.name).count(), 0, "another user of the tab is shown the first user's file name");
  await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
  await signIn(acct.email, "Reload Media");
  await waitText("the interrupted WAV after signing in again", item, /16 MiB of 48 MiB stored/);

  // The wrong file is refused and nothing is sent.
  const choose = async (path) => {
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), item.getByRole("button", { name: `Resume ${fx.wav.name}` }).click()]);
    await chooser.setFiles(path);
  };
  await choose(fx.png.path);
  await waitText("the refusal of another file", item.getByRole("alert"), new RegExp(`not the file of this upload.*${escape(fx.png.name)}.*Nothing was sent`, "s"));
  await sleep(500);
  assert.equal(puts.all.length, afterReload, "a PUT was sent for the wrong file");
  assert.deepEqual(await storedParts(acct.token, pending.id), [1, 2], "the parts stored changed after choosing the wrong file");

  await choose(fx.wav.path);
  await eventually("the resumed WAV's row saying done", () => text(rowOf(page, fx.wav.name)), (s) => /\bdone\b/.test(s), 30_000);
  const o = await ready(acct.token, fx.wav);
  assert.equal(o.id, pending.id, "the resume made a new upload instead of finishing the interrupted one");
  const resent = puts.all.slice(afterReload).map((p) => p.part).sort();
  assert.deepEqual(resent, [3, 4, 5, 6], "after the reload, exactly the missing parts 3 to 6 should have been PUT");
  assert.equal(await region.isVisible(), false, "the finished upload is still listed as interrupted");
  await charged(acct.token, start, [{ ...fx.wav, id: o.id }]);

  await page.reload({ timeout: 15_000 });
  await signedIn(page, "Reload Media");
  await page.getByRole("heading", { name: "Upload" }).waitFor();
  await sleep(500);
  assert.equal(await region.count(), 0, "the finished upload is listed as interrupted after another reload");
  await noAlert(page, "after the resume");
  w.checkClean();
});

test("desktop: Pause stops the PUTs, Resume sends the rest", { timeout: 30_000 }, async (t) => {
  const { page, acct, ...w } = await openSignedIn(t, desktop, { name: "Pause Media", route: "#files" });
  const start = (await balance(acct.token)).available;
  const aborts = allowAborts(w);
  const puts = watchPuts(page);
  await routeParts(page, (part) => sleep(part ? 300 : 0));
  await page.getByLabel("Choose files").setInputFiles(fx.wav.path);
  const [pending] = await eventually("the WAV's pending upload", () => objects(acct.token, "?state=pending"), (l) => l.length === 1);
  await eventually("a part stored", () => storedParts(acct.token, pending.id), (p) => p.length >= 1);

  const row = rowOf(page, fx.wav.name);
  aborts.on = true;
  await row.getByRole("button", { name: `Pause ${fx.wav.name}` }).click();
  await waitText("the paused row", row, /paused at \d+%/);
  await eventually("no PUT in flight once paused", () => puts.inFlight, (n) => n === 0);
  const sent = puts.all.length;
  await sleep(1000);
  assert.equal(puts.all.length, sent, "PUTs were sent while paused");
  aborts.on = false;
  const stored = await storedParts(acct.token, pending.id);
  assert.ok(stored.length < 6, `all parts arrived before the pause (${stored}): nothing was left to resume`);

  await row.getByRole("button", { name: `Resume ${fx.wav.name}` }).click();
  await eventually("the resumed row saying done", () => text(row), (s) => /\bdone\b/.test(s), 30_000);
  const o = await ready(acct.token, fx.wav);
  const resent = puts.all.slice(sent).map((p) => p.part).sort();
  assert.deepEqual([...stored, ...resent].sort(), [1, 2, 3, 4, 5, 6],
    `parts stored before the pause ${stored}, sent after it ${resent}: each missing part once, no stored one again`);
  await charged(acct.token, start, [{ ...fx.wav, id: o.id }]);
  w.checkClean();
});

// Every other multipart test routes the PUTs, and with a route in place
// Playwright answers CORS preflights itself: here nothing is routed, so on
// S3 each part's PUT to the store's origin passes the store's own preflight.
test("desktop: a multipart upload with nothing intercepted: every part stored once, byte for byte", { timeout: 30_000 }, async (t) => {
  const { page, acct, ...w } = await openSignedIn(t, desktop, { name: "Direct Media", route: "#files" });
  const start = (await balance(acct.token)).available;
  const puts = watchPuts(page);
  await page.getByLabel("Choose files").setInputFiles(fx.wav.path);
  await eventually("the WAV's row saying done", () => text(rowOf(page, fx.wav.name)), (s) => /\bdone\b/.test(s), 30_000);
  const o = await ready(acct.token, fx.wav);
  const parts = await eventually("the answers to the PUTs", () => puts.all, (l) => l.every((p) => p.status), 30_000);
  assert.deepEqual(parts.map((p) => p.part).sort(), [1, 2, 3, 4, 5, 6], `the WAV should go as 6 parts, each once; PUTs: ${JSON.stringify(parts)}`);
  assert.ok(parts.every((p) => p.status === 200), `a PUT failed: ${JSON.stringify(parts)}`);
  assert.ok(parts.every((p) => new URL(p.url).origin === blobOrigin), `the PUTs should go to the blob store at ${blobOrigin}: ${JSON.stringify(parts)}`);
  await charged(acct.token, start, [{ ...fx.wav, id: o.id }]);
  await noAlert(page, "after the upload");
  w.checkClean();
});

for (const vp of viewports) {
  test(`${vp.name}: refused types and short credit say why, leave nothing behind and cost nothing`, { timeout: 30_000 }, async (t) => {
    const { page, acct, ...w } = await openSignedIn(t, vp, { name: "Refused Media", route: "#files" });
    const start = (await balance(acct.token)).available;
    const zip = unique("archive") + ".zip";
    const blob = unique("blob") + ".bin";
    await page.getByRole("heading", { name: "Upload" }).waitFor();
    await dropFiles(page, [{ name: zip, type: "application/zip", text: "PK\x03\x04 not really" }, { name: blob, type: "", text: "some bytes" }]);
    for (const [name, type] of [[zip, "application/zip"], [blob, "application/octet-stream"]]) {
      await waitText(`the refusal of ${name}`, rowOf(page, name).getByRole("alert"),
        new RegExp(`content type ${escape(type)} is not allowed here \\(allowed: .*image/\\*`));
      await waitText(`the status of ${name}`, rowOf(page, name), /failed/);
      w.expectStatus("415 POST /v1/uploads");
    }
    assert.deepEqual(await objects(acct.token, "?state=pending"), [], "a refused upload left a pending object");
    assert.equal((await balance(acct.token)).available, start, "a refused upload changed the balance");

    // Text that says it is a PNG is sent, then refused when verified.
    const fake = unique("fake") + ".png";
    await dropFiles(page, [{ name: fake, type: "image/png", text: "this is not a picture\n" }]);
    await waitText(`the refusal of ${fake}`, rowOf(page, fake).getByRole("alert"), /content type mismatch: declared image\/png, but the bytes are text\/plain/);
    const [gone] = await objects(acct.token, "?state=deleted");
    assert.equal(gone?.filename, fake, "the refused upload should be deleted");
    w.expectStatus(`422 POST /v1/uploads/${gone.id}/complete`);
    assert.deepEqual(await objects(acct.token, "?state=pending"), [], "the refused upload left a pending object");
    assert.equal((await balance(acct.token)).available, start, "the upload refused when verified changed the balance");

    // 990 MiB declared through the API (never sent) holds all but 10,000 µcredits.
    const big = await apiJSON(acct.token, "POST", "/v1/uploads",
      { filename: unique("held") + ".wav", content_type: "audio/wav", size: 990 * MiB, multipart: true });
    assert.equal(big.status, 201, `declaring 990 MiB: ${JSON.stringify(big.body)}`);
    const left = start - uploadCost(990 * MiB);
    assert.equal((await balance(acct.token)).available, left, "the 990 MiB hold");
    const song = unique("long") + ".wav";
    const size = 20_000_000;
    await dropFiles(page, [{ name: song, type: "audio/wav", size }]);
    const alert = rowOf(page, song).getByRole("alert");
    const needed = (uploadCost(size) / 1e6).toString();
    const available = (left / 1e6).toString();
    await waitText("the short credit message", alert,
      new RegExp(`^Not enough credit: this upload needs ${escape(needed)} credits, and ${escape(available)} credits are available\\.`));
    assert.equal(await alert.getByRole("link", { name: "Add credit" }).getAttribute("href"), "#credits", "the way to add credit");
    w.expectStatus("402 POST /v1/uploads");
    assert.equal((await balance(acct.token)).available, left, "the refused upload changed the balance");
    assert.deepEqual((await objects(acct.token, "?state=pending")).map((o) => o.id), [big.body.object.id],
      "the refused upload left a pending object");
    assert.equal((await apiJSON(acct.token, "DELETE", `/v1/uploads/${big.body.object.id}`)).status, 204);
    await noSideScroll(page, "refusals");
    w.checkClean();
  });
}

test("desktop: Cancel frees the hold; after a reload an upload the server lost is dropped with a note, Discard frees the rest", { timeout: 30_000 }, async (t) => {
  const { page, acct, ...w } = await openSignedIn(t, desktop, { name: "Discard Media", route: "#files" });
  const start = (await balance(acct.token)).available;
  const aborts = allowAborts(w);
  aborts.on = true; // Cancel and the reload cut off PUTs
  let release;
  const held = new Promise((r) => (release = r));
  t.after(() => release());
  await routeParts(page, () => held); // no byte arrives
  const names = ["a", "b", "c"].map((x) => unique(`take-${x}`) + ".wav");
  const size = 17 * MiB + 1; // multipart
  // Dropped anywhere on the page, here on the file list's heading.
  await dropFiles(page, names.map((name) => ({ name, type: "audio/wav", size })), page.getByRole("heading", { name: "Files", exact: true }));
  const pending = await eventually("three pending uploads", () => objects(acct.token, "?state=pending"), (l) => l.length === 3, 10_000);
  const id = (name) => pending.find((o) => o.filename === name).id;
  assert.equal((await balance(acct.token)).available, start - 3 * uploadCost(size), "three uploads should hold their cost");

  await rowOf(page, names[2]).getByRole("button", { name: `Cancel ${names[2]}` }).click();
  await eventually("the cancelled upload gone from the server", async () => (await objects(acct.token, "?state=pending")).map((o) => o.filename).sort(),
    (l) => l.join() === [names[0], names[1]].sort().join());
  await waitText("the note of the cancel", page.getByRole("status").filter({ hasText: "Cancelled" }), new RegExp(escape(names[2])));
  assert.equal(await rowOf(page, names[2]).count(), 0, "the cancelled upload still has a row");
  assert.equal((await balance(acct.token)).available, start - 2 * uploadCost(size), "Cancel did not free the hold");

  // The server forgets the first upload; the page is reloaded.
  assert.equal((await apiJSON(acct.token, "DELETE", `/v1/uploads/${id(names[0])}`)).status, 204);
  await page.reload({ timeout: 15_000 });
  await signedIn(page, "Discard Media");
  const region = page.getByRole("region", { name: "Interrupted uploads" });
  const item = region.getByRole("listitem").filter({ hasText: names[1] });
  await waitText("the interrupted upload", item, /0 B of 17 MiB stored/);
  assert.equal(await region.getByRole("listitem").count(), 1, "only the upload the server still has should be listed");
  await waitText("the note on the lost upload", page.getByRole("status").filter({ hasText: names[0] }), /no longer on the server/);
  w.expectStatus(`404 GET /v1/uploads/${id(names[0])}/parts`);

  await item.getByRole("button", { name: `Discard ${names[1]}` }).click();
  await eventually("no pending upload after Discard", () => objects(acct.token, "?state=pending"), (l) => l.length === 0);
  await eventually("the interrupted list after Discard", () => region.count(), (n) => n === 0);
  const end = await balance(acct.token);
  assert.equal(end.available, start, "Discard and Cancel should have given back every hold");
  assert.equal(end.held, 0, "a hold is left");
  w.checkClean();
});
