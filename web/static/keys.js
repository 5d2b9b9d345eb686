// The Keys view: create API keys (the secret shown once, with a copy
// button), list them, revoke them.
import { api, el, guard, scrollBox, when, $ } from "./lib.js";

const scopes = ["objects:read", "objects:write", "jobs", "fetch"];
let root;

export function init(section) {
  root = section;
  const form = el("form", { "aria-label": "Create key", onsubmit: guard(create) },
    el("label", {}, "Key name ", el("input", { name: "name", required: true, maxlength: 100 })),
    el("fieldset", {}, el("legend", { text: "Scopes" }),
      scopes.map((s) => el("label", {}, el("input", { type: "checkbox", name: "scope", value: s, checked: true }), ` ${s}`))),
    el("button", { type: "submit", text: "Create key" }));
  const secret = el("div", { id: "secret", role: "region", "aria-label": "New key secret", hidden: true },
    el("p", {}, "The secret of ", el("strong", { id: "secret-name" }), ", shown only once: copy it now."),
    el("p", { class: "secret" }, el("code", { id: "secret-value" }), " ",
      el("button", { type: "button", id: "copy", onclick: guard(copy), text: "Copy" })));
  const table = scrollBox(el("table", { "aria-label": "API keys" },
    el("thead", {}, el("tr", {}, ["Name", "Key", "Scopes", "Created", "State"].map((h) => el("th", { scope: "col", text: h })),
      el("th", { scope: "col" }, el("span", { class: "vh", text: "Actions" })))),
    el("tbody", { id: "key-rows" })));
  root.append(el("h2", { id: "keys-heading", text: "API keys" }), form, secret, table);
}

export async function show() {
  await list();
}

// reset hides a key's secret: it is shown once, to whoever made it, never
// to the next user of the tab.
export function reset() {
  $("#secret", root).hidden = true;
  $("#secret-value", root).textContent = "";
  $("#key-rows", root).replaceChildren();
}

async function list() {
  const { keys } = await api("GET", "/v1/keys");
  $("#key-rows", root).replaceChildren(...keys.map((k) => el("tr", {},
    el("td", { text: k.name }),
    el("td", { text: `${k.hint}…` }),
    el("td", { text: k.scopes.join(" ") }),
    el("td", { text: when(k.created_at) }),
    el("td", { text: k.revoked_at ? "revoked" : "active" }),
    el("td", {}, k.revoked_at ? null : el("button", {
      type: "button", class: "quiet", text: "Revoke", "aria-label": `Revoke ${k.name}`,
      onclick: guard(async () => {
        if (!confirm(`Revoke the key ${k.name}? Programs using it stop working at once.`)) return;
        await api("DELETE", `/v1/keys/${encodeURIComponent(k.id)}`);
        await list();
      }),
    })))));
}

async function create(ev) {
  const form = ev.target;
  const chosen = [...form.querySelectorAll('input[name="scope"]:checked')].map((c) => c.value);
  const key = await api("POST", "/v1/keys", { name: form.elements.name.value, scopes: chosen });
  $("#secret-name", root).textContent = key.name;
  $("#secret-value", root).textContent = key.secret;
  $("#secret", root).hidden = false;
  $("#copy", root).textContent = "Copy";
  form.elements.name.value = "";
  await list();
  $("#copy", root).focus();
}

async function copy() {
  const button = $("#copy", root);
  try {
    await navigator.clipboard.writeText($("#secret-value", root).textContent);
    button.textContent = "Copied";
  } catch {
    // No clipboard (permission, plain http): select the text to copy by hand.
    getSelection().selectAllChildren($("#secret-value", root));
    button.textContent = "Selected: press Ctrl+C";
  }
}
