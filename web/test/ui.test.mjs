// Real-browser tests of the mediagate web UI's accounts and keys:
// sign up, keys (create, copy, revoke), sign out, sign in, reload, keyboard
// only, at a phone's and a desktop's size. Screenshots of the signed-out page
// and the keys page go to SCREENSHOT_DIR. Helpers: lib.mjs.
//
// Run by `go test ./web` (TestBrowser), which starts the API in-process;
// by hand: MEDIAGATE_URL=http://127.0.0.1:8080 node --test web/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { apiStatus, base, eventually, noAlert, noSideScroll, open, password, shots, signedIn, signedOut, signUp, unique, viewports, waitText } from "./lib.mjs";

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
    // Signing in shows the files; the keys are a click away (and listed:
    // no request of the page's is still running, for the reload to cut short).
    await page.getByRole("heading", { name: "Files" }).waitFor();
    await page.getByRole("navigation").getByRole("link", { name: "Keys" }).click();
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

test("a 429 is waited out: the page asks again after Retry-After", { timeout: 30_000 }, async (t) => {
  const acct = await signUp("Paced Media");
  const w = await open(t, viewports[1]);
  const { page } = w;
  // Only the Keys view reads GET /v1/keys: the first read is refused.
  const asked = [];
  await page.route("**/v1/keys", async (route) => {
    asked.push(Date.now());
    if (asked.length === 1) {
      return route.fulfill({ status: 429, headers: { "Retry-After": "1", "Content-Type": "application/problem+json" },
        body: JSON.stringify({ title: "Too Many Requests", status: 429, code: "rate_limited", detail: "slow down" }) });
    }
    return route.continue();
  });
  await page.evaluate((token) => sessionStorage.setItem("mediagate.token", token), acct.token);
  await page.goto("/#keys");
  await signedIn(page, "Paced Media");
  const row = page.getByRole("table", { name: "API keys" }).getByRole("row");
  await eventually("the keys table after the 429", () => row.count(), (n) => n === 1); // the header: a new account has no key
  await eventually("the second read of the keys", () => asked.length, (n) => n === 2);
  assert.ok(asked[1] - asked[0] >= 900, `asked again ${asked[1] - asked[0]} ms after a Retry-After of 1 s`);
  await noAlert(page, "after a 429 waited out");
  w.expectStatus("429 GET /v1/keys");
  w.checkClean();
});
