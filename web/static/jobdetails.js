// The details of a job in the Jobs view: what it was asked to do, and once
// it finished its result, error and output files.
import { bytes, creditsText, el, when } from "./lib.js";

// active says whether a job has yet to finish.
export const active = (j) => j.status === "queued" || j.status === "running";

// paintDetails fills region (a job's details) with j: its input (named
// input), params, times and price, and once it finished its result, error
// and output files, each with a button that calls download(output).
export function paintDetails(region, j, input, download) {
  const facts = [
    ["Job", el("code", { text: j.id })],
    ["Input", `${input} (${j.input_object_id})`],
    ["Params", el("code", { text: JSON.stringify(j.params ?? {}) })],
    ["Submitted", when(j.created_at)],
    j.started_at && ["Started", when(j.started_at)],
    j.finished_at && ["Finished", when(j.finished_at)],
    ["Attempts", String(j.attempts)],
    ["Price", j.status === "succeeded" ? `${creditsText(j.charged)}, charged` : active(j) ? `${creditsText(j.charged)}, held until it ends`
      : `${creditsText(j.charged)}, not charged`],
    j.expires_at && ["Kept until", when(j.expires_at)],
  ].filter(Boolean);
  const parts = [el("dl", { class: "job-facts" }, facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]))];
  if (active(j)) parts.push(el("p", { class: "muted", text: "The result is shown here when the job finishes." }));
  if (j.status === "failed" || j.status === "canceled") parts.push(el("p", { class: "job-error", text: `Error: ${j.error || j.status}` }));
  if (j.status === "expired") parts.push(el("p", { class: "muted", text: "This job expired: its result and files are deleted." }));
  if (j.status === "succeeded") {
    parts.push(el("h4", { text: "Result" }),
      el("pre", { role: "region", "aria-label": `Result of ${j.id}`, tabindex: "0", class: "job-result", text: pretty(j.result) }));
    const outs = j.outputs ?? [];
    parts.push(el("h4", { text: "Output files" }), outs.length === 0 ? el("p", { class: "muted", text: "None." })
      : el("ul", { class: "job-outputs" }, outs.map((o) => el("li", {},
        el("span", { text: `${o.filename} (${bytes(o.size)}, ${o.content_type}) ` }),
        el("button", { type: "button", class: "quiet", text: `Download ${o.filename}`, onclick: guardIn(region, () => download(o)) })))));
  }
  parts.push(el("p", { class: "job-error", role: "alert" }));
  region.replaceChildren(...parts);
}

const pretty = (raw) => {
  try {
    return JSON.stringify(typeof raw === "string" ? JSON.parse(raw) : raw, null, 2);
  } catch {
    return String(raw);
  }
};

// guardIn is guard, with the error shown in the details region's alert.
function guardIn(region, fn) {
  return async (ev) => {
    const button = ev.currentTarget;
    const alert = region.querySelector('[role="alert"]');
    alert.textContent = "";
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      alert.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  };
}
