// Real-browser tests of the Jobs view: submit a stored file and a file from
// this computer for the test job type (MEDIAGATE_JOB_TYPE, run by the
// worker browser_test.go starts), watch the job's states live, read its
// result, download its output, and the refusals: bad params (the server's
// and the page's own), short credit, and a cancel. Credits are checked to
// the micro-credit against the price list. Screenshot: jobs.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  apiJSON, balance, base, credits, downloadCost, escape, eventually, noAlert, noSideScroll, openSignedIn, screenshot, sha256, store, text, unique, uploadCost, viewports, waitText,
} from "./lib.mjs";

const jobType = process.env.MEDIAGATE_JOB_TYPE;
assert.ok(jobType, "MEDIAGATE_JOB_TYPE names the job type the test worker runs");
const jobPrice = 50_000; // browser_test.go's media.report
const MiB = 1 << 20;
const stateWords = /\b(queued|running|succeeded|failed|canceled|expired)\b/;
const desktop = viewports.find((v) => v.screenshots);

// uploadText stores content as a ready text file of the account.
const uploadText = (token, filename, content) => store(token, filename, "text/plain", Buffer.from(content));

// submitForm fills the form (stored: the object's name; or file: a file
// from this computer), calls beforeSubmit if given, submits the form and
// answers the server's answer.
async function submitForm(page, { stored, file, params, beforeSubmit }) {
  const form = page.getByRole("form", { name: "Submit a job" });
  const typeSelect = form.getByRole("combobox", { name: "Job type" });
  await typeSelect.selectOption(jobType);
  await waitText("the option of the job type", typeSelect.locator("option:checked"), new RegExp(`${escape(jobType)}.*${escape(credits(jobPrice))} credits`));
  await waitText("what the job type accepts", form, /Accepts audio\/\*, image\/\*, text\/\*, up to/);
  if (stored) {
    await form.getByRole("radio", { name: "A stored file" }).check();
    const select = form.getByRole("combobox", { name: "Stored file" });
    const option = select.locator("option", { hasText: stored });
    await option.waitFor({ state: "attached" });
    await select.selectOption({ label: await option.innerText() });
  } else {
    await form.getByRole("radio", { name: "A file on this computer" }).check();
    await form.getByLabel("Choose a file").setInputFiles(file);
  }
  if (params !== undefined) await form.getByRole("textbox", { name: "Params (JSON)" }).fill(params);
  await beforeSubmit?.();
  const answer = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/v1/jobs");
  await form.getByRole("button", { name: "Submit" }).click();
  const res = await answer;
  return { status: res.status(), body: await res.json() };
}

// jobRow is the row of job id in the list.
const jobRow = (page, id) =>
  page.getByRole("table", { name: "Jobs" }).getByRole("row").filter({ has: page.getByRole("button", { name: `Details of ${id}` }) });

const stateOf = async (row) => (await text(row)).match(stateWords)?.[1] ?? "";

// watchStates samples the state word of the job's row every 50 ms until it
// is finished, and notes whether a running row showed its progress bar.
async function watchStates(page, id) {
  const row = jobRow(page, id);
  const seen = [];
  let bar = false;
  const end = Date.now() + 15_000;
  for (;;) {
    const s = await stateOf(row);
    if (s && s !== seen.at(-1)) seen.push(s);
    if (s === "running" && !bar) bar = (await page.getByRole("progressbar", { name: `Progress of ${id}` }).count()) === 1;
    if (["succeeded", "failed", "canceled", "expired"].includes(s) || Date.now() > end) return { seen, bar };
    await new Promise((r) => setTimeout(r, 50));
  }
}

// openDetails opens a finished job's details and checks its result
// against the input's bytes and hash.
async function checkResult(page, id, content) {
  await jobRow(page, id).getByRole("button", { name: `Details of ${id}` }).click();
  const result = page.getByRole("region", { name: `Result of ${id}` });
  const raw = await waitText(`the result of ${id}`, result, /sha256/);
  let parsed;
  assert.doesNotThrow(() => (parsed = JSON.parse(raw)), `the result shown is not JSON: ${raw}`);
  assert.deepEqual(parsed, { bytes: Buffer.byteLength(content), sha256: sha256(content) }, "the result shown is not the input's size and hash");
  return page.getByRole("region", { name: `Details of ${id}` });
}

async function jobsOf(token) {
  const { status, body } = await apiJSON(token, "GET", "/v1/jobs");
  assert.equal(status, 200, `GET /v1/jobs: ${JSON.stringify(body)}`);
  return body.jobs;
}

for (const vp of viewports) {
  test(`${vp.name}: run a job on a stored file, watch it, read its result, download its output`, { timeout: 45_000 }, async (t) => {
    const w = await openSignedIn(t, vp, { route: "#files" });
    const { page, acct } = w;
    const name = `${unique("input")}.txt`;
    const content = `hello from the jobs test ${name}\n`.repeat(4);
    await uploadText(acct.token, name, content);
    await page.getByRole("navigation").getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Jobs", exact: true }).waitFor();
    await page.getByRole("table", { name: "Jobs" }).waitFor();

    const before = await balance(acct.token);
    const sub = await submitForm(page, { stored: name, params: '{"label": "ci"}' });
    assert.equal(sub.status, 202, `submit: ${JSON.stringify(sub.body)}`);
    const id = sub.body.id;
    const { seen, bar } = await watchStates(page, id);
    const run = seen.indexOf("running");
    assert.ok(run >= 0 && seen.indexOf("succeeded") > run, `the row's states should go running then succeeded; seen: ${seen.join(" → ")}`);
    assert.ok(seen.every((s) => ["queued", "running", "succeeded"].includes(s)), `unexpected states: ${seen.join(" → ")}`);
    assert.ok(bar, `no progress bar named "Progress of ${id}" while the row said running`);
    await waitText("the job updates", page.getByRole("status", { name: "Job updates" }), /succeeded/);
    assert.equal(await jobRow(page, id).getByRole("button", { name: `Cancel ${id}` }).count(), 0, "a succeeded job offers Cancel");
    const rowText = await text(jobRow(page, id));
    assert.ok(rowText.includes(jobType) && rowText.includes(name), `the row should show the type and the input's name: ${rowText}`);

    const details = await checkResult(page, id, content);
    await waitText("the details' input", details, new RegExp(escape(name)));
    await waitText("the details' params", details, /"label":"ci"/);
    const api = await apiJSON(acct.token, "GET", `/v1/jobs/${id}`);
    assert.equal(api.status, 200, `GET /v1/jobs/${id}: ${JSON.stringify(api.body)}`);
    const report = api.body.outputs?.find((o) => o.filename === "report.txt");
    assert.ok(report, `the job has no report.txt output: ${JSON.stringify(api.body.outputs)}`);
    await waitText("the output listed", details, new RegExp(`report\\.txt \\(${report.size} B, text/plain`));
    await noSideScroll(page, `${vp.name}: details open`);
    await screenshot(page, vp, "jobs");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      details.getByRole("button", { name: "Download report.txt" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "report.txt");
    const saved = await readFile(await download.path(), "utf8");
    assert.match(saved, new RegExp(`sha256: ${sha256(content)}`), `the downloaded report does not name the input's hash: ${saved}`);

    const want = before.available - jobPrice - downloadCost(report.size);
    const after = await eventually("the available credit after the job and the download", () => balance(acct.token), (b) => b.available === want && b.held === 0);
    assert.equal(after.balance, before.balance - jobPrice - downloadCost(report.size));
    await waitText("the header's balance", page.getByRole("status", { name: "Account" }), new RegExp(`${escape(credits(want))} credits available`));
    // A second click saves it again with the same URL: no second charge.
    const [again] = await Promise.all([page.waitForEvent("download"), details.getByRole("button", { name: "Download report.txt" }).click()]);
    await again.path();
    assert.equal((await balance(acct.token)).available, want, "downloading the same output again charged again");

    const small = await page.locator("#jobs button:visible").evaluateAll((bs) =>
      bs.filter((b) => b.getBoundingClientRect().height < 32).map((b) => b.textContent));
    assert.deepEqual(small, [], "buttons under 32 px high");
    await noAlert(page, "after the job");
    await noSideScroll(page, vp.name);
    w.checkClean();
  });
}

test("desktop: run a job on a file from this computer", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#jobs" });
  const { page, acct } = w;
  const name = `${unique("local")}.txt`;
  const content = `a file from this computer ${name}\n`;
  const before = await balance(acct.token);
  const sub = await submitForm(page, { file: { name, mimeType: "text/plain", buffer: Buffer.from(content) } });
  assert.equal(sub.status, 202, `submit: ${JSON.stringify(sub.body)}`);
  const id = sub.body.id;
  const row = jobRow(page, id);
  await waitText("the row of the local file's job", row, new RegExp(escape(name)));
  await eventually(`the state of ${id}`, () => stateOf(row), (s) => s === "succeeded");
  await checkResult(page, id, content);
  const input = await apiJSON(acct.token, "GET", `/v1/objects/${sub.body.input_object_id}`);
  assert.equal(input.body.filename, name, "the stored input does not have the file's name");
  assert.equal(input.body.sha256, sha256(content), "the stored input is not the file's bytes");
  const after = await eventually("the available credit after the job", () => balance(acct.token), (b) => b.held === 0);
  assert.equal(after.available, before.available - jobPrice, "a job on a file from this computer should cost its price, no more");
  await noAlert(page, "after the job");
  w.checkClean();
});

test("desktop: params the schema refuses, and params that are not a JSON object", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#jobs" });
  const { page, acct } = w;
  const form = page.getByRole("form", { name: "Submit a job" });
  const file = { name: `${unique("params")}.txt`, mimeType: "text/plain", buffer: Buffer.from("params test\n") };
  const sub = await submitForm(page, { file, params: '{"colour": 1}' });
  assert.equal(sub.status, 400, `submit with params the schema refuses: ${JSON.stringify(sub.body)}`);
  w.expectStatus("400 POST /v1/jobs");
  assert.match(sub.body.detail, /colour/, "the server's detail should name the refused key");
  const detail = sub.body.detail.replace(/\s+/g, " ");
  await eventually("the form's alert should show the server's detail", async () => (await text(form.getByRole("alert"))).replace(/\s+/g, " "),
    (s) => s.includes(detail));
  assert.deepEqual(await jobsOf(acct.token), [], "a job was made with refused params");

  let posts = 0;
  page.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/v1/jobs") posts++;
  });
  const box = form.getByRole("textbox", { name: "Params (JSON)" });
  for (const [bad, said] of [["{", /not valid JSON/], ['["label"]', /must be a JSON object/]]) {
    await box.fill(bad);
    await form.getByRole("button", { name: "Submit" }).click();
    await waitText(`the form's alert for params ${bad}`, form.getByRole("alert"), said);
    assert.equal(await box.getAttribute("aria-invalid"), "true", `params ${bad} are not marked invalid`);
  }
  assert.equal(posts, 0, "the page sent params that are not a JSON object");
  assert.deepEqual(await jobsOf(acct.token), [], "a job was made with bad params");
  w.checkClean();
});

test("desktop: not enough credit for a job", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#jobs" });
  const { page, acct } = w;
  // A pending upload of 990 MiB, never sent, holds most of the credit.
  const big = await apiJSON(acct.token, "POST", "/v1/uploads", { filename: "big.txt", content_type: "text/plain", size: 990 * MiB });
  assert.equal(big.status, 201, `declaring the big upload: ${JSON.stringify(big.body)}`);
  const { available } = await balance(acct.token);
  assert.equal(available, 1_000_000 - uploadCost(990 * MiB), "the signup credit less the big upload's hold");
  assert.ok(available < jobPrice, "the account should be short of a job's price");

  const name = `${unique("short")}.txt`;
  const sub = await submitForm(page, { file: { name, mimeType: "text/plain", buffer: Buffer.from("short of credit\n") } });
  assert.equal(sub.status, 402, `submit while short: ${JSON.stringify(sub.body)}`);
  w.expectStatus("402 POST /v1/jobs");
  const alert = page.getByRole("form", { name: "Submit a job" }).getByRole("alert");
  await waitText("the form's alert", alert, /Not enough credit/);
  const said = await text(alert);
  assert.ok(said.includes(`needs ${credits(jobPrice)} credits`), `the alert should say what the job needs: ${said}`);
  assert.ok(said.includes(`${credits(available)} credits are available`), `the alert should say what is available: ${said}`);
  assert.deepEqual(await jobsOf(acct.token), [], "a job was made without the credit for it");
  const kept = await apiJSON(acct.token, "GET", "/v1/objects?state=ready");
  assert.deepEqual(kept.body.objects.map((o) => o.filename), [], "the refused job's input was kept");
  assert.equal((await balance(acct.token)).available, available, "a refused job changed the credit");
  w.checkClean();
});

test("desktop: cancel a queued job", { timeout: 40_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#files" });
  const { page, acct } = w;
  const name = `${unique("cancel")}.txt`;
  const content = "cancel me\n";
  const obj = await uploadText(acct.token, name, content);
  await page.getByRole("navigation").getByRole("link", { name: "Jobs" }).click();
  const before = await balance(acct.token);
  // Four jobs submitted (through the API) just before the page's keep the
  // worker, two at a time, busy for ~3 s: the page's job waits, queued.
  const ahead = [];
  const sub = await submitForm(page, {
    stored: name,
    beforeSubmit: async () => {
      for (let i = 0; i < 4; i++) {
        const r = await apiJSON(acct.token, "POST", "/v1/jobs", { type: jobType, input_object_id: obj.id });
        assert.equal(r.status, 202, `submitting a job ahead: ${JSON.stringify(r.body)}`);
        ahead.push(r.body.id);
      }
    },
  });
  assert.equal(sub.status, 202, `submit: ${JSON.stringify(sub.body)}`);
  const id = sub.body.id;
  const row = jobRow(page, id);
  const canceled = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().endsWith(`/v1/jobs/${id}`));
  await row.getByRole("button", { name: `Cancel ${id}` }).click();
  const answer = await (await canceled).json();
  assert.equal(answer.status, "canceled", `the job was not canceled while queued (it was ${answer.status}); the jobs ahead did not hold the worker`);
  await eventually(`the state of ${id}`, () => stateOf(row), (s) => s === "canceled");
  assert.equal(await row.getByRole("button", { name: `Cancel ${id}` }).count(), 0, "a canceled job still offers Cancel");
  const got = await apiJSON(acct.token, "GET", `/v1/jobs/${id}`);
  assert.equal(got.body.status, "canceled", `the API says ${got.body.status}`);
  await waitText("the job updates", page.getByRole("status", { name: "Job updates" }), new RegExp(`canceled`));

  // The canceled job is not charged: once the jobs ahead are done, only
  // their prices are.
  const after = await eventually("the credit once the jobs ahead are done", () => balance(acct.token), (b) => b.held === 0);
  for (const j of await jobsOf(acct.token)) {
    if (j.id !== id) assert.equal(j.status, "succeeded", `the job ahead ${j.id} ended ${j.status}`);
  }
  assert.equal(after.available, before.available - ahead.length * jobPrice, "the canceled job was charged, or its hold kept");
  await jobRow(page, id).getByRole("button", { name: `Details of ${id}` }).click();
  await waitText("the canceled job's details", page.getByRole("region", { name: `Details of ${id}` }), /canceled by its owner[\s\S]*not charged|not charged[\s\S]*canceled by its owner/);
  await noAlert(page, "after the cancel");
  w.checkClean();
});

test("desktop: polling stops while the view is hidden and at sign out", { timeout: 30_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#jobs" });
  const { page, acct } = w;
  const polls = [];
  page.on("request", (r) => {
    if (r.method() === "GET" && new URL(r.url()).pathname.startsWith("/v1/jobs")) polls.push(Date.now());
  });
  const name = `${unique("hidden")}.txt`;
  const sub = await submitForm(page, { file: { name, mimeType: "text/plain", buffer: Buffer.from("polling test\n") } });
  assert.equal(sub.status, 202, `submit: ${JSON.stringify(sub.body)}`);
  const id = sub.body.id;
  await eventually("polls of the running job", () => polls.length, (n) => n >= 1);

  const nav = page.getByRole("navigation");
  await nav.getByRole("link", { name: "Keys" }).click();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
  await new Promise((r) => setTimeout(r, 300)); // a read under way may end
  const hiddenAt = polls.length;
  await new Promise((r) => setTimeout(r, 2500)); // the job finishes meanwhile
  assert.equal(polls.length, hiddenAt, "the jobs view polled while hidden");

  await nav.getByRole("link", { name: "Jobs" }).click();
  await eventually(`the state of ${id} once shown again`, () => stateOf(jobRow(page, id)), (s) => s === "succeeded");

  // A second job runs as the user signs out: nothing of it stays, nothing
  // more is read.
  const next = await submitForm(page, { file: { name: `${unique("signout")}.txt`, mimeType: "text/plain", buffer: Buffer.from("sign out\n") } });
  assert.equal(next.status, 202, `submit: ${JSON.stringify(next.body)}`);
  await jobRow(page, next.body.id).getByRole("button", { name: `Details of ${next.body.id}` }).click();
  await nav.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("form", { name: "Sign in" }).waitFor();
  await new Promise((r) => setTimeout(r, 300));
  const outAt = polls.length;
  const left = await page.locator("#jobs").evaluate((s) => ({
    rows: s.querySelectorAll("tbody tr").length, params: s.querySelector("textarea").value,
    options: s.querySelectorAll("option").length, said: s.querySelector('[role="status"]').textContent,
  }));
  assert.deepEqual(left, { rows: 0, params: "{}", options: 0, said: "" }, "the jobs view kept the signed-out user's data");
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(polls.length, outAt, "the jobs view polled after sign out");
  await noAlert(page, "after sign out");
  w.checkClean();
});

test("desktop: a server without job types says so instead of the form", { timeout: 20_000 }, async (t) => {
  const w = await openSignedIn(t, desktop, { route: "#files" });
  const { page } = w;
  const nav = page.getByRole("navigation");
  const form = page.getByRole("form", { name: "Submit a job" });
  const said = page.locator("#jobs");

  await page.route("**/v1/job-types", (r) => r.fulfill({ json: { job_types: [] } }));
  await nav.getByRole("link", { name: "Jobs" }).click();
  await waitText("the jobs view with no job types", said, /No job types are configured/);
  assert.equal(await form.count(), 0, "the submit form is shown with no job types");
  await page.getByRole("table", { name: "Jobs" }).waitFor(); // jobs made before may still be listed

  await nav.getByRole("link", { name: "Files" }).click();
  await page.unroute("**/v1/job-types");
  await page.route("**/v1/job-types", (r) => r.fulfill({ status: 503, contentType: "application/problem+json",
    json: { title: "Service Unavailable", status: 503, detail: "this server's metadata store has no job queue" } }));
  await nav.getByRole("link", { name: "Jobs" }).click();
  await waitText("the jobs view without a queue", said, /runs no jobs/);
  w.expectStatus("503 GET /v1/job-types");
  assert.equal(await form.count(), 0, "the submit form is shown without a queue");
  assert.equal(await page.getByRole("table", { name: "Jobs" }).count(), 0, "the job list is shown without a queue");
  await noAlert(page, "without a queue");
  w.checkClean();
});
