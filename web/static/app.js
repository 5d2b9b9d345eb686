// The mediagate browser UI: one page of plain modules over the JSON API of
// the same server, with the signed-in user's token (kept in sessionStorage,
// so it survives a reload but not the closing of the tab). app.js signs in
// and out, keeps the account's status line and shows one view at a time by
// the URL's fragment (#files, #credits, #jobs, #fetches, #keys).
import { api, bus, creditsText, guard, session, showError, $ } from "./lib.js";
import * as upload from "./upload.js";
import * as files from "./files.js";
import * as credits from "./credits.js";
import * as jobs from "./jobs.js";
import * as fetches from "./fetches.js";
import * as keys from "./keys.js";

// views are shown by route; a route may show several (Files: the upload
// panel above the file browser).
const views = [
  { route: "files", id: "upload", mod: upload },
  { route: "files", id: "files", mod: files },
  { route: "credits", id: "credits", mod: credits },
  { route: "jobs", id: "jobs", mod: jobs },
  { route: "fetches", id: "fetches", mod: fetches },
  { route: "keys", id: "keys", mod: keys },
];
const routes = [...new Set(views.map((v) => v.route))];
let route = "files";

for (const v of views) v.mod.init($(`#${v.id}`));

async function render() {
  const signedIn = !!session.token();
  $("#auth").hidden = signedIn;
  $("#nav").hidden = !signedIn;
  const hash = location.hash.slice(1);
  if (routes.includes(hash)) route = hash;
  for (const a of $("#nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === `#${route}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const v of views) $(`#${v.id}`).hidden = !signedIn || v.route !== route;
  if (!signedIn) {
    $("#account").textContent = "Signed out";
    return;
  }
  await Promise.all([refreshAccount(), ...views.filter((v) => v.route === route).map((v) => v.mod.show())]);
}

async function refreshAccount() {
  if (!session.token()) return;
  const acct = await api("GET", "/v1/account");
  $("#account").textContent = `${acct.name}: ${creditsText(acct.available)} available`;
}

function signOut() {
  session.clear();
  for (const v of views) v.mod.reset();
  bus.emit("signed-out");
  history.replaceState(null, "", location.pathname);
  route = "files";
  render().catch(showError);
}

async function signIn(token) {
  session.set(token);
  showError(null);
  await render();
}

bus.on("unauthorized", signOut);
bus.on("balance-changed", () => refreshAccount().catch(showError));
window.addEventListener("hashchange", () => {
  if (!routes.includes(location.hash.slice(1))) return; // "#main" of the skip link
  showError(null);
  render().catch(showError);
});

const values = (form) => Object.fromEntries(new FormData(form));

$("#signup-form").addEventListener("submit", guard(async (ev) => {
  const v = values(ev.target);
  const res = await api("POST", "/v1/auth/signup", { email: v.email, password: v.password, account_name: v.account_name });
  ev.target.reset();
  await signIn(res.token);
}));

$("#signin-form").addEventListener("submit", guard(async (ev) => {
  const v = values(ev.target);
  const res = await api("POST", "/v1/auth/login", { email: v.email, password: v.password });
  ev.target.reset();
  await signIn(res.token);
}));

$("#signout").addEventListener("click", signOut);

render().catch(showError);
