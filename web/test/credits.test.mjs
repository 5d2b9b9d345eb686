// Real-browser tests of the Credits view: the balance, held and available
// figures, the active holds, the usage chart (with its table) and the
// by-operation totals, the ledger and its paging, and Refresh — against
// charges made through the API whose amounts the test works out itself
// from the price list. Helpers: lib.mjs.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  apiJSON, balance, base, credits, creditsText, downloadCost, eventually, noAlert, noSideScroll, openSignedIn, screenshot, store, uploadCost, viewports,
} from "./lib.mjs";

const MiB = 1 << 20;
const signupCredit = 1_000_000;
const today = () => new Date().toISOString().slice(0, 10);

async function call(token, method, path, body, want) {
  const { status, body: got } = await apiJSON(token, method, path, body);
  assert.equal(status, want, `${method} ${path}: ${JSON.stringify(got)}`);
  return got;
}

// uploadNotes stores bytes as notes.txt and answers its id.
const uploadNotes = async (token, bytes) => (await store(token, "notes.txt", "text/plain", bytes)).id;

// downloadURL makes a download URL of id and checks what it was charged.
async function downloadURL(token, id, size) {
  const d = await call(token, "POST", `/v1/objects/${id}/url`, {}, 200);
  assert.equal(d.charged, downloadCost(size), `the download URL of ${size} bytes charged`);
}

// ledger answers the account's whole ledger from the API, newest first.
async function ledger(token) {
  return (await call(token, "GET", "/v1/ledger?limit=1000", undefined, 200)).entries;
}

// rows answers the texts of a table's body rows and of its footer rows.
const rows = (table) => table.evaluate((t) => {
  const texts = (section) => [...(section?.rows ?? [])].map((r) => [...r.cells].map((c) => c.innerText.trim()));
  return { body: texts(t.tBodies[0]), foot: texts(t.tFoot) };
});

// A ledger entry as the page should show it: kind, operation, amount,
// reference (the time is the browser's locale).
const kindWords = { credit: "Credit", settle: "Charge", hold: "Hold", release: "Release" };
const shown = (e) => [kindWords[e.kind], e.operation,
  { credit: `+${credits(e.amount)}`, settle: `\u2212${credits(e.amount)}`, hold: `held ${credits(e.amount)}`, release: `released ${credits(e.amount)}` }[e.kind],
  e.reference ?? ""];
const ledgerRows = async (table) => (await rows(table)).body.map((r) => r.slice(1));

for (const vp of viewports) {
  test(`${vp.name}: credits — balance, holds, usage, ledger, refresh, paging`, { timeout: 60_000 }, async (t) => {
    const w = await openSignedIn(t, vp, { name: "Credits Test", route: "#credits" });
    const { page, acct } = w;
    const view = page.getByRole("region", { name: "Credits" });
    // Each figure is a group named by its label: "Balance" then "0.991 credits".
    const figure = async (name) => (await view.getByRole("group", { name }).innerText()).replace(name, "").trim();
    const figures = async () => ({ balance: await figure("Balance"), held: await figure("Held"), available: await figure("Available") });
    const expectFigures = (what, b, h) => eventually(`${what}: Balance, Held, Available`, figures,
      (f) => f.balance === creditsText(b) && f.held === creditsText(h) && f.available === creditsText(b - h));
    const refresh = () => view.getByRole("button", { name: "Refresh" }).click();

    // A fresh account: the signup credit, nothing held, nothing charged.
    await view.getByRole("heading", { name: "Credits", level: 2 }).waitFor();
    await expectFigures("a fresh account", signupCredit, 0);
    await view.getByText("No active holds").waitFor();
    await view.getByRole("img", { name: "Usage over the last 30 days: no charges" }).waitFor();
    const ledgerTable = view.getByRole("table", { name: "Ledger" });
    await eventually("the fresh account's ledger", () => ledgerRows(ledgerTable), (r) => JSON.stringify(r) === JSON.stringify([["Credit", "signup", "+1", ""]]));

    // Known charges through the API: a 3 MiB upload, a download URL of it,
    // and a 100 MiB upload declared but never sent (held).
    const big = 3 * MiB;
    const bigID = await uploadNotes(acct.token, Buffer.alloc(big, "a"));
    await downloadURL(acct.token, bigID, big);
    const pending = await call(acct.token, "POST", "/v1/uploads", { filename: "later.txt", content_type: "text/plain", size: 100 * MiB }, 201);
    let charged = { upload: uploadCost(big), download: downloadCost(big) };
    const held = uploadCost(100 * MiB);
    assert.deepEqual([charged.upload, charged.download, held], [3_000, 6_000, 100_000], "the price list's arithmetic");
    const sum = (c) => c.upload + c.download;

    // Shown again (leave and come back): everything reloads.
    const nav = page.getByRole("navigation");
    await nav.getByRole("link", { name: "Keys" }).click();
    await nav.getByRole("link", { name: "Credits" }).click();

    // 1. The figures, as the API has them and as the prices say.
    await expectFigures("after the charges", signupCredit - sum(charged), held);
    const api = await balance(acct.token);
    assert.deepEqual(await figures(), { balance: creditsText(api.balance), held: creditsText(api.held), available: creditsText(api.available) },
      "the figures differ from GET /v1/account");

    // 2. The pending upload's hold.
    const holds = view.getByRole("table", { name: "Active holds" });
    const holdRows = await eventually("the active holds", async () => (await rows(holds)).body, (r) => r.length === 1);
    assert.deepEqual(holdRows[0].slice(0, 3), ["upload", pending.object.id, credits(held)], "the hold's operation, reference, amount");
    assert.equal(await view.getByText("No active holds").isVisible(), false, "'No active holds' is shown beside a hold");

    // 3. Usage: today's stacked bar, the legend, the table and the totals.
    const checkUsage = async (counts) => {
      const total = sum(charged);
      const most = charged.download >= charged.upload ? "download" : "upload";
      const chart = view.getByRole("img", { name: `Usage over the last 30 days: ${creditsText(total)}, most on ${most}` });
      await chart.waitFor();
      assert.equal(await chart.locator("[data-day]").count(), 30, "the chart's days: one per day of the period");
      const bars = chart.locator(`[data-day="${today()}"] rect`);
      // Each segment: its operation, top, height, and paint (class and fill).
      const segs = await bars.evaluateAll((rs) => rs.map((r) => [r.dataset.operation, Number(r.getAttribute("y")),
        Number(r.getAttribute("height")), `${r.getAttribute("class")} ${r.getAttribute("fill") ?? ""}`]));
      assert.deepEqual(segs.map((s) => s[0]).sort(), ["download", "upload"], "today's bar's segments");
      const seg = Object.fromEntries(segs.map(([op, y, h, p]) => [op, { y, h, p }]));
      assert.ok(Math.abs(seg.download.h / seg.upload.h - charged.download / charged.upload) < 0.01,
        `today's segments are not in proportion: ${JSON.stringify(seg)}, charged ${JSON.stringify(charged)}`);
      const [upper, lower] = [seg.upload, seg.download].sort((a, b) => a.y - b.y);
      assert.ok(Math.abs(upper.y + upper.h - lower.y) < 0.01, `today's segments are not stacked: ${JSON.stringify(seg)}`);
      assert.notEqual(seg.upload.p, seg.download.p, "upload and download are painted alike");
      assert.equal(await chart.locator("[data-day] rect").count(), 2, "bars on days without charges");
      const items = view.getByRole("list", { name: "Legend" }).getByRole("listitem");
      const legend = await items.evaluateAll((lis) => lis.map((li) => [li.innerText.trim(),
        `${li.querySelector("rect").getAttribute("class")} ${li.querySelector("rect").getAttribute("fill") ?? ""}`]));
      assert.deepEqual(legend.map((l) => l[0]).sort(), ["download", "upload"], "the legend");
      for (const [op, p] of legend) assert.equal(p, seg[op].p, `the legend's colour of ${op} is not its segment's`);

      const byDay = view.getByRole("table", { name: "Usage by day and operation" });
      const want = [[today(), "download", String(counts.download), credits(charged.download)], [today(), "upload", String(counts.upload), credits(charged.upload)]];
      const got = await rows(byDay);
      assert.deepEqual(got.body.sort(), want, "the table 'Usage by day and operation'");
      assert.deepEqual(got.foot, [["Total", String(counts.upload + counts.download), credits(total)]], "the day table's total");
      const byOp = await rows(view.getByRole("table", { name: "Usage by operation" }));
      assert.deepEqual(byOp.body.sort(), [["download", String(counts.download), credits(charged.download)], ["upload", String(counts.upload), credits(charged.upload)]],
        "the table 'Usage by operation'");
      assert.deepEqual(byOp.foot, [["Total", String(counts.upload + counts.download), credits(total)]], "the by-operation total");
    };
    const toggle = view.getByRole("button", { name: "Show as table" });
    assert.equal(await view.getByRole("table", { name: "Usage by day and operation" }).isVisible(), false, "the day table shows before asked");
    await screenshot(page, vp, "credits");
    await toggle.click();
    await view.getByRole("table", { name: "Usage by day and operation" }).waitFor();
    assert.equal(await view.getByRole("button", { name: "Hide table" }).getAttribute("aria-expanded"), "true", "the toggle's aria-expanded");
    await checkUsage({ upload: 1, download: 1 });

    // The period: 7 days, then back.
    const period = view.getByLabel("Period");
    await period.selectOption({ label: "Last 7 days" });
    const week = view.getByRole("img", { name: `Usage over the last 7 days: ${creditsText(sum(charged))}, most on download` });
    await week.waitFor();
    assert.equal(await week.locator("[data-day]").count(), 7, "the chart's days over 7 days");
    await period.selectOption({ label: "Last 30 days" });

    // 4. The ledger: exactly the API's, newest first, in words.
    let all = await ledger(acct.token);
    assert.equal(all.length, 6, "entries: signup credit, upload hold + settle, download hold + settle, pending hold");
    let want = all.map(shown);
    for (const row of [["Credit", "signup", "+1", ""], ["Charge", "upload", `\u2212${credits(charged.upload)}`, bigID],
      ["Hold", "upload", `held ${credits(held)}`, pending.object.id]]) {
      assert.ok(want.some((r) => JSON.stringify(r) === JSON.stringify(row)), `the API's ledger lacks ${row}`);
    }
    assert.ok(want.some((r) => r[0] === "Charge" && r[1] === "download" && r[2] === `\u2212${credits(charged.download)}`), "no download charge in the API's ledger");
    await eventually("the ledger", () => ledgerRows(ledgerTable), (r) => JSON.stringify(r) === JSON.stringify(want));
    assert.equal(await view.getByRole("button", { name: "Older entries" }).isVisible(), false, "Older entries shown with one page");

    // 5. A charge elsewhere, then Refresh: the figures move by exactly it.
    await downloadURL(acct.token, bigID, big);
    charged = { ...charged, download: 2 * downloadCost(big) };
    await refresh();
    await expectFigures("after a new download URL and Refresh", signupCredit - sum(charged), held);
    await checkUsage({ upload: 1, download: 2 });
    await noSideScroll(page, `${vp.name}: credits`);

    // Paging: a tiny object and 30 download URLs of it (a hold and a settle
    // entry each) make more than 50 entries.
    const tiny = Buffer.from("hello, credits\n");
    const tinyID = await uploadNotes(acct.token, tiny);
    await Promise.all(Array.from({ length: 30 }, () => downloadURL(acct.token, tinyID, tiny.length)));
    all = await ledger(acct.token);
    assert.equal(all.length, 8 + 2 + 60, "entries after a second download, a tiny upload and 30 download URLs");
    want = all.map(shown);
    await refresh();
    await eventually("the ledger's first page", () => ledgerRows(ledgerTable), (r) => JSON.stringify(r) === JSON.stringify(want.slice(0, 50)));
    await view.getByRole("button", { name: "Older entries" }).click();
    const got = await eventually("the ledger after Older entries", () => ledgerRows(ledgerTable), (r) => r.length >= want.length);
    assert.deepEqual(got, want, "the ledger after Older entries: the API's entries, each once, in order");
    assert.equal(new Set(got.filter((r) => r[1] === "download").map((r) => r.join())).size, 2 * 32, "download entries repeated or missing");
    await eventually("Older entries after the last page", () => view.getByRole("button", { name: "Older entries" }).isVisible(), (v) => !v);
    await expectFigures("after the paging charges", signupCredit - sum(charged) - uploadCost(tiny.length) - 30 * downloadCost(tiny.length), held);
    await noAlert(page, "credits");
    await noSideScroll(page, `${vp.name}: credits, all ledger pages`);

    // Sign out: nothing of the account stays in the view.
    await nav.getByRole("button", { name: "Sign out" }).click();
    await eventually("the view's text after sign out (no ids, no figures)", () => page.locator("#credits").textContent(),
      (s) => !/obj_|dl_|\d\.\d|signup/.test(s));
    w.checkClean();
  });
}
