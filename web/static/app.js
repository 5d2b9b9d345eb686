// The mediagate browser UI: one page, plain modules, the JSON API of the
// same server with the signed-in user's token (kept in sessionStorage, so it
// survives a reload but not the closing of the tab).

const $ = (sel) => document.querySelector(sel);
const tokenKey = "mediagate.token";

// api calls the JSON API; a problem answer becomes an Error with its detail.
async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && token) signOut();
    const err = new Error(data.detail || data.title || `HTTP ${res.status}`);
    err.code = data.code;
    throw err;
  }
  return data;
}

function showError(err) {
  $("#error").textContent = err ? String(err.message || err) : "";
}

// guard runs an action, showing its error, and disables the button meanwhile.
function guard(fn) {
  return async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || ev.currentTarget;
    showError(null);
    if (button instanceof HTMLButtonElement) button.disabled = true;
    try {
      await fn(ev);
    } catch (err) {
      showError(err);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  };
}

const credits = (micro) => (micro / 1e6).toLocaleString(undefined, { maximumFractionDigits: 6 });

async function signedIn(token) {
  sessionStorage.setItem(tokenKey, token);
  await render();
}

function signOut() {
  sessionStorage.removeItem(tokenKey);
  // A key's secret is shown once, to whoever made it: never to the next user.
  $("#secret").hidden = true;
  $("#secret-value").textContent = "";
  location.hash = "";
  render();
}

async function render() {
  const token = sessionStorage.getItem(tokenKey);
  $("#auth").hidden = !!token;
  $("#nav").hidden = !token;
  $("#keys").hidden = !token;
  if (!token) {
    $("#account").textContent = "Signed out";
    return;
  }
  const acct = await api("GET", "/v1/account");
  const n = acct.available / 1e6;
  $("#account").textContent = `${acct.name}: ${credits(acct.available)} ${n === 1 ? "credit" : "credits"} available`;
  await renderKeys();
}

async function renderKeys() {
  const { keys } = await api("GET", "/v1/keys");
  const rows = keys.map((k) => {
    const tr = document.createElement("tr");
    const cell = (text) => {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
      return td;
    };
    cell(k.name);
    cell(`${k.hint}…`);
    cell(k.scopes.join(" "));
    cell(new Date(k.created_at).toLocaleString());
    cell(k.revoked_at ? "revoked" : "active");
    const actions = cell("");
    if (!k.revoked_at) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "quiet";
      b.textContent = "Revoke";
      b.setAttribute("aria-label", `Revoke ${k.name}`);
      b.addEventListener("click", guard(async () => {
        if (!confirm(`Revoke the key ${k.name}? Programs using it stop working at once.`)) return;
        await api("DELETE", `/v1/keys/${encodeURIComponent(k.id)}`);
        await renderKeys();
      }));
      actions.append(b);
    }
    return tr;
  });
  $("#key-rows").replaceChildren(...rows);
}

function formValues(form) {
  return Object.fromEntries(new FormData(form));
}

$("#signup-form").addEventListener("submit", guard(async (ev) => {
  const v = formValues(ev.target);
  const res = await api("POST", "/v1/auth/signup", { email: v.email, password: v.password, account_name: v.account_name });
  ev.target.reset();
  await signedIn(res.token);
}));

$("#signin-form").addEventListener("submit", guard(async (ev) => {
  const v = formValues(ev.target);
  const res = await api("POST", "/v1/auth/login", { email: v.email, password: v.password });
  ev.target.reset();
  await signedIn(res.token);
}));

$("#signout").addEventListener("click", () => signOut());

$("#key-form").addEventListener("submit", guard(async (ev) => {
  const form = ev.target;
  const scopes = [...form.querySelectorAll('input[name="scope"]:checked')].map((c) => c.value);
  const key = await api("POST", "/v1/keys", { name: form.elements.name.value, scopes });
  $("#secret-name").textContent = key.name;
  $("#secret-value").textContent = key.secret;
  $("#secret").hidden = false;
  form.elements.name.value = "";
  await renderKeys();
  $("#copy").focus();
}));

$("#copy").addEventListener("click", guard(async () => {
  try {
    await navigator.clipboard.writeText($("#secret-value").textContent);
    $("#copy").textContent = "Copied";
  } catch {
    // No clipboard (permission, plain http): select the text to copy by hand.
    getSelection().selectAllChildren($("#secret-value"));
    $("#copy").textContent = "Selected: press Ctrl+C";
  }
}));

render().catch(showError);
