// Real-browser tests of the Files view: thumbnails, filters, search,
// pages, share links, players, downloads, pin and delete, at a phone's and
// a desktop's size. Files are set up through the API as the fresh account;
// outcomes are checked through the API too (bytes, balance, pin, deletion).
// The screenshot "files" is the desktop's view with a thumbnail, a player
// and a share link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  apiJSON, balance, base, blobOrigin, credits, downloadCost, escape, eventually, noAlert, noSideScroll, openSignedIn, png, screenshot, signedIn, store, text, viewports, waitText, wav,
} from "./lib.mjs";

// setup stores the test's files: notes (note-1.txt … note-30.txt, oldest)
// when asked, then a text file, the WAV and the PNG (newest, on page 1).
async function setup(token, { notes = false } = {}) {
  const files = { png: png(), wav: wav(), txt: Buffer.from("Minutes of the meeting.\nNothing was decided.\n") };
  const names = [];
  if (notes) {
    for (let i = 1; i <= 30; i++) {
      await store(token, `note-${i}.txt`, "text/plain", Buffer.from(`note ${i}\n`));
      names.push(`note-${i}.txt`);
    }
  }
  const objects = {
    txt: await store(token, "minutes.txt", "text/plain", files.txt),
    wav: await store(token, "tone.wav", "audio/wav", files.wav),
    png: await store(token, "gradient.png", "image/png", files.png),
  };
  names.push("minutes.txt", "tone.wav", "gradient.png");
  return { files, objects, names };
}

// openFiles opens the Files view of a fresh account holding setup's files.
async function openFiles(t, vp, opts) {
  const w = await openSignedIn(t, vp, { name: "Files Test", route: "#files" });
  const stored = await setup(w.acct.token, opts);
  // The view listed an empty account at sign-in: load it again.
  await w.page.reload();
  await signedIn(w.page, "Files Test");
  const list = w.page.getByRole("list", { name: "Files" });
  const card = (name) => list.getByRole("article", { name, exact: true });
  const shownNames = async () => (await list.getByRole("heading", { level: 3 }).allInnerTexts()).sort();
  return { ...w, ...stored, list, card, shownNames };
}

async function expectNames(what, shownNames, want) {
  want = [...want].sort();
  await eventually(`${what}: the cards shown`, shownNames, (got) => JSON.stringify(got) === JSON.stringify(want));
}

async function thumbnailLoaded(card, name) {
  const img = card.getByRole("img", { name, exact: true });
  await img.waitFor();
  const size = await eventually(`the thumbnail of ${name} (complete, natural size)`,
    () => img.evaluate((i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, blob: i.src.startsWith("blob:") })),
    (s) => s.complete && s.w > 0);
  assert.deepEqual(size, { complete: true, w: 256, h: 192, blob: true }, `the thumbnail of ${name}: a 256×192 object URL`);
}

for (const vp of viewports) {
  test(`${vp.name}: files: thumbnail, type filter, search, pages`, { timeout: 40_000 }, async (t) => {
    const w = await openFiles(t, vp, { notes: true });
    const { page, card, shownNames, names } = w;
    const filters = page.getByRole("search", { name: "Filter files" });

    await thumbnailLoaded(card("gradient.png"), "gradient.png");
    // The thumbnail was charged: the header follows (balance-changed).
    const { available } = await balance(w.acct.token);
    await waitText("the account status after the thumbnail", page.getByRole("status", { name: "Account" }),
      new RegExp(`${escape(credits(available))} credits available`));
    await waitText("the text file's card", card("minutes.txt"), /TXT[\s\S]*text\/plain[\s\S]*Ready/);

    // 33 files, 24 a page: page 1 has 24, page 2 the other 9.
    assert.equal(await filters.getByLabel("Per page").inputValue(), "24", "the default page size");
    const pageText = page.getByRole("navigation", { name: "Pages" });
    await waitText("the pager", pageText, /Page 1/);
    const first = await eventually("page 1's cards", shownNames, (n) => n.length === 24);
    await page.getByRole("button", { name: "Next page" }).click();
    await waitText("the pager after Next page", pageText, /Page 2/);
    const second = await eventually("page 2's cards", shownNames, (n) => n.length === names.length - 24);
    assert.deepEqual([...first, ...second].sort(), [...names].sort(), "pages 1 and 2 together are not all the files, once each");
    assert.ok(await page.getByRole("button", { name: "Next page" }).isDisabled(), "Next page is enabled on the last page");
    await page.getByRole("button", { name: "Previous page" }).click();
    await waitText("the pager after Previous page", pageText, /Page 1/);
    await expectNames("page 1 again", shownNames, first);
    await noSideScroll(page, "page 1 of the files");

    await filters.getByLabel("Type").selectOption({ label: "Images" });
    await expectNames("Type Images", shownNames, ["gradient.png"]);
    await filters.getByLabel("Type").selectOption({ label: "Audio" });
    await expectNames("Type Audio", shownNames, ["tone.wav"]);
    await filters.getByLabel("Type").selectOption({ label: "All" });

    // From page 2, a search starts again at page 1.
    await page.getByRole("button", { name: "Next page" }).click();
    await waitText("the pager after Next page", pageText, /Page 2/);
    await filters.getByRole("searchbox", { name: "Search by name" }).fill("NOTE-1");
    const matching = ["note-1.txt", ...Array.from({ length: 10 }, (_, i) => `note-1${i}.txt`)];
    await expectNames('search "NOTE-1"', shownNames, matching);
    await waitText("the pager after a search", pageText, /Page 1/);
    await filters.getByRole("searchbox", { name: "Search by name" }).fill("no such file");
    await expectNames("a search matching nothing", shownNames, []);
    await waitText("the status of an empty search", page.getByRole("status").filter({ hasText: /match/ }), /No files match/);
    await filters.getByRole("searchbox", { name: "Search by name" }).fill("");
    await expectNames("no search", shownNames, first);

    await filters.getByLabel("Per page").selectOption("12");
    await eventually("cards at 12 per page", shownNames, (n) => n.length === 12);

    await noAlert(page, "after browsing");
    await noSideScroll(page, "after browsing");
    w.checkClean();
  });

  test(`${vp.name}: files: share, play, download, pin, delete`, { timeout: 40_000 }, async (t) => {
    const w = await openFiles(t, vp);
    const { page, card, shownNames, files, objects, acct } = w;
    const image = card("gradient.png");
    await thumbnailLoaded(image, "gradient.png");
    await noSideScroll(page, "the files");

    // An upload declared but not finished: the upload view's event
    // ("objects-changed") brings its card, pending, with only Delete, which
    // aborts it and so releases the credit it holds.
    const declared = await apiJSON(acct.token, "POST", "/v1/uploads", { filename: "unfinished.wav", content_type: "audio/wav", size: 100_000 });
    assert.equal(declared.status, 201, `declare unfinished.wav: ${JSON.stringify(declared.body)}`);
    assert.ok((await balance(acct.token)).held > 0, "the pending upload holds no credit");
    await page.evaluate(async () => (await import("/ui/lib.js")).bus.emit("objects-changed"));
    const unfinished = card("unfinished.wav");
    await waitText("the pending upload's card", unfinished, /Uploading: not ready yet/);
    assert.deepEqual(await unfinished.getByRole("button").allInnerTexts(), ["Delete"], "the pending upload's buttons");
    await unfinished.getByRole("button", { name: "Delete unfinished.wav" }).click();
    await expectNames("after deleting the pending upload", shownNames, ["gradient.png", "minutes.txt", "tone.wav"]);
    assert.equal((await balance(acct.token)).held, 0, "the aborted upload still holds credit");

    // Share: a 1-hour link, charged the download price once, whose bytes
    // are the PNG's.
    const before = await balance(acct.token);
    await image.getByRole("button", { name: "Share gradient.png" }).click();
    const shareForm = image.getByRole("form", { name: "Share gradient.png" });
    await shareForm.getByLabel("Link expires in").selectOption({ label: "1 hour" });
    await shareForm.getByRole("button", { name: "Create link" }).click();
    const link = image.getByRole("textbox", { name: "Share link for gradient.png" });
    await link.waitFor();
    const url = await link.inputValue();
    assert.equal(new URL(url).origin, blobOrigin, `the share link ${url} is not a URL of the blob store`);
    const after = await balance(acct.token);
    const shareCost = downloadCost(files.png.length);
    assert.equal(before.balance - after.balance, shareCost, `the share link of ${files.png.length} bytes should cost ceil(size × 2000 / MiB)`);
    await waitText("the share link's card", image, new RegExp(`cost ${escape(credits(shareCost))} credits`));
    const expires = Date.parse(await image.locator(".share-info time").getAttribute("datetime"));
    assert.ok(Math.abs(expires - (Date.now() + 3600_000)) < 10_000, `the link expires at ${new Date(expires).toISOString()}, not in an hour`);
    const res = await fetch(new URL(url, base));
    assert.equal(res.status, 200, `GET the share link ${url}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(files.png), "the share link's bytes are not the PNG's");
    assert.equal((await balance(acct.token)).balance, after.balance, "using the share link charged again");
    if (vp.clipboard) {
      await image.getByRole("button", { name: "Copy the share link for gradient.png" }).click();
      await eventually("the clipboard after Copy", () => page.evaluate(() => navigator.clipboard.readText()), (s) => s === url);
      await waitText("the share link's card after Copy", image, /Copied/);
    }

    // Play: the price is shown first; a player of the 1-second tone.
    const tone = card("tone.wav");
    const playCost = downloadCost(files.wav.length);
    await waitText("the WAV's price", tone, new RegExp(`Playing or downloading costs ${escape(credits(playCost))} credits`));
    const beforePlay = await balance(acct.token);
    await tone.getByRole("button", { name: "Play tone.wav" }).click();
    const audio = tone.locator("audio");
    await audio.waitFor();
    const media = await eventually("the player's metadata", () => audio.evaluate((a) => ({ src: a.src, ready: a.readyState, duration: a.duration })),
      (m) => m.ready >= 1);
    assert.ok(media.src.startsWith("http"), `the player's src: ${media.src}`);
    assert.equal(new URL(media.src).origin, blobOrigin, `the player's src ${media.src} is not a URL of the blob store`);
    assert.ok(Math.abs(media.duration - 1) < 0.05, `the player's duration is ${media.duration} s, not 1 s`);
    const afterPlay = await balance(acct.token);
    assert.equal(beforePlay.balance - afterPlay.balance, playCost, "playing the WAV should cost its download price");
    // The header follows the charges (balance-changed).
    await waitText("the account status after playing", page.getByRole("status", { name: "Account" }),
      new RegExp(`${escape(credits(afterPlay.available))} credits available`));

    // Download: the browser receives the text file's bytes.
    const minutes = card("minutes.txt");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      minutes.getByRole("button", { name: "Download minutes.txt" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "minutes.txt", "the download's filename");
    assert.equal(new URL(download.url()).origin, blobOrigin, `the download ${download.url()} is not from the blob store`);
    assert.ok((await readFile(await download.path())).equals(files.txt), "the downloaded bytes are not the text file's");
    await waitText("the text file's card after Download", minutes, /Download started/);

    await noSideScroll(page, "with a player and a share link");
    await screenshot(page, vp, "files");

    // Delete (the page's confirm is accepted): the card goes, and the object.
    await minutes.getByRole("button", { name: "Delete minutes.txt" }).click();
    await expectNames("after Delete", shownNames, ["gradient.png", "tone.wav"]);
    let got = await apiJSON(acct.token, "GET", `/v1/objects/${objects.txt.id}`);
    assert.ok(got.status === 404 || got.body.state === "deleted", `the API's object after Delete: ${got.status} ${JSON.stringify(got.body)}`);
    // The reload kept the other cards as they were: player, link, thumbnail.
    assert.equal(await tone.locator("audio").count(), 1, "the player is gone after another file's deletion");
    assert.equal(await link.inputValue(), url, "the share link is gone after another file's deletion");
    assert.equal(await image.getByRole("img", { name: "gradient.png" }).count(), 1, "the thumbnail is gone after another file's deletion");

    // Pin, the Pinned filter, Unpin: shown and as the API says.
    await image.getByRole("button", { name: "Pin gradient.png", exact: true }).click();
    await waitText("the image's card after Pin", image, /pinned \(active\)/);
    await image.getByRole("button", { name: "Unpin gradient.png" }).waitFor();
    got = await apiJSON(acct.token, "GET", `/v1/objects/${objects.png.id}`);
    assert.deepEqual([got.body.pinned, got.body.pin_state], [true, "active"], "the API's object after Pin");
    const filters = page.getByRole("search", { name: "Filter files" });
    await filters.getByLabel("Pinned").selectOption({ label: "Pinned" });
    await expectNames("Pinned", shownNames, ["gradient.png"]);
    await filters.getByLabel("Pinned").selectOption({ label: "Not pinned" });
    await expectNames("Not pinned", shownNames, ["tone.wav"]);
    await filters.getByLabel("Pinned").selectOption({ label: "All" });
    await expectNames("Pinned: All", shownNames, ["gradient.png", "tone.wav"]);
    await image.getByRole("button", { name: "Unpin gradient.png" }).click();
    await image.getByRole("button", { name: "Pin gradient.png", exact: true }).waitFor();
    assert.doesNotMatch(await text(image), /pinned \(active\)/, "the image's card after Unpin still says pinned");
    got = await apiJSON(acct.token, "GET", `/v1/objects/${objects.png.id}`);
    assert.equal(got.body.pinned, false, "the API's object after Unpin");

    await noAlert(page, "after the actions");
    await noSideScroll(page, "after the actions");
    w.checkClean();
  });
}

test("desktop: files: short credit, a file deleted elsewhere, sign out", { timeout: 30_000 }, async (t) => {
  const vp = viewports.find((v) => v.name === "desktop");
  const w = await openFiles(t, vp);
  const { page, card, objects, acct } = w;
  const tone = card("tone.wav");
  const minutes = card("minutes.txt");
  await thumbnailLoaded(card("gradient.png"), "gradient.png");

  // Short credit: the server's 402 (made up here: a fresh account has
  // enough) is said in the card, with what is needed and available.
  await page.route("**/v1/objects/*/url", (route) => route.fulfill({
    status: 402,
    contentType: "application/problem+json",
    body: JSON.stringify({ type: "urn:mediagate:problem:insufficient_credit", title: "Payment Required", status: 402,
      detail: "insufficient credit: 2500000 micro-credits needed, 1200 available", code: "insufficient_credit", needed: 2_500_000, available: 1200 }),
  }), { times: 1 });
  await tone.getByRole("button", { name: "Play tone.wav" }).click();
  await waitText("the WAV card's alert after a 402", tone.getByRole("alert"), /Not enough credit: this needs 2\.5 credits, and 0\.0012 credits are available/);
  w.expectStatus("402 POST /v1/objects/" + objects.wav.id + "/url");
  assert.equal(await tone.locator("audio").count(), 0, "a player without a URL");
  await page.getByRole("button", { name: "Play tone.wav" }).click();
  await tone.locator("audio").waitFor();
  assert.equal(await text(tone.getByRole("alert")), "", "the 402 is still shown after playing");

  // Deleted elsewhere: sharing it says so, and its buttons are disabled.
  assert.equal((await apiJSON(acct.token, "DELETE", `/v1/objects/${objects.txt.id}`)).status, 204, "DELETE minutes.txt through the API");
  await minutes.getByRole("button", { name: "Share minutes.txt" }).click();
  await minutes.getByRole("button", { name: "Create link" }).click();
  await waitText("the deleted file's alert", minutes.getByRole("alert"), /minutes\.txt is gone: it was deleted elsewhere/);
  w.expectStatus(`404 POST /v1/objects/${objects.txt.id}/url`);
  assert.ok(await minutes.getByRole("button", { name: "Download minutes.txt" }).isDisabled(), "the deleted file's Download is enabled");

  // Sign out: nothing of the user remains, filters included.
  await page.getByRole("searchbox", { name: "Search by name" }).fill("tone");
  await eventually("the search for tone", () => w.shownNames(), (n) => n.join() === "tone.wav");
  await page.getByRole("navigation").getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  assert.equal(await page.locator("#files article, #files img, #files audio").count(), 0, "files of the signed-out user remain in the page");
  assert.equal(await page.getByRole("searchbox", { name: "Search by name", includeHidden: true }).inputValue(), "", "the search survives sign-out");
  w.checkClean();
});
