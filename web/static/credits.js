// The Credits view: the balance (what is held, what is available), the
// active holds, what was charged by day and by operation over a period (a
// stacked bar chart with a table of the same numbers), and the ledger, 50
// entries a page. It refreshes when shown, on "balance-changed" while
// visible, and on its Refresh button.
import { api, bus, credits, creditsText, el, guard, scrollBox, session, showError, when, $ } from "./lib.js";

const svgNS = "http://www.w3.org/2000/svg";
const pageSize = 50; // ledger entries a page
const maxHolds = 100; // holds listed
// Operations with a colour of their own, in stacking order (bottom first);
// others take the next free colours in the order they appear.
const knownOps = ["upload", "download", "job", "fetch", "pin"];
const palette = 8; // colour classes c0…c7 in credits.css
// Ledger kinds in words, and how each shows its amount.
const kinds = {
  credit: ["Credit", (m) => `+${credits(m)}`],
  settle: ["Charge", (m) => `\u2212${credits(m)}`],
  hold: ["Hold", (m) => `held ${credits(m)}`],
  release: ["Release", (m) => `released ${credits(m)}`],
};

let root;
// gen counts loads and resets: an answer that arrives after a newer load
// started (or after reset) is dropped, so no request is ever aborted.
let gen = 0;
let cursor = "";

export function init(section) {
  root = section;
  // One group per figure, named by its label (a <dd> cannot carry a name).
  const summary = el("div", { class: "credit-summary" },
    ["Balance", "Held", "Available"].map((name) => el("div", { role: "group", "aria-labelledby": `credits-${name.toLowerCase()}-label` },
      el("span", { id: `credits-${name.toLowerCase()}-label`, text: name }),
      el("strong", { id: `credits-${name.toLowerCase()}` }))));
  root.append(
    el("div", { class: "credits-bar" },
      el("h2", { id: "credits-heading", text: "Credits" }),
      el("button", { type: "button", class: "quiet", text: "Refresh", onclick: guard(refresh) }),
      el("p", { id: "credits-updated", class: "muted", role: "status", "aria-live": "polite" })),
    summary,
    el("p", { class: "muted", text: "Held: reserved for work in progress (uploads not yet finished, jobs running, fetches under way), " +
      "then charged or given back when it ends. Available = balance \u2212 held: what you can still spend." }),
    part("holds", "Active holds",
      el("p", { id: "credits-noholds", class: "muted", text: "No active holds", hidden: true }),
      el("p", { id: "credits-moreholds", class: "muted", text: `The newest ${maxHolds} holds; Held above counts them all.`, hidden: true }),
      scrollBox(table("Active holds", ["Operation", "Reference", "Amount", "Since", "Expires"], "credits-hold-rows"))),
    part("usage", "Usage",
      el("label", { class: "credits-period" }, "Period ",
        el("select", { id: "credits-period", onchange: guard(() => loadUsage(gen)) },
          [7, 30, 90].map((d) => el("option", { value: d, selected: d === 30, text: `Last ${d} days` })))),
      el("div", { id: "credits-chart", class: "credits-chart" }),
      el("ul", { id: "credits-legend", class: "credits-legend", "aria-label": "Legend" }),
      el("button", { type: "button", id: "credits-toggle", class: "quiet", "aria-expanded": "false",
        "aria-controls": "credits-daily", text: "Show as table", onclick: toggleTable }),
      scrollBox(table("Usage by day and operation", ["Day", "Operation", "Times", "Credits"], "credits-day-rows", "credits-day-total"),
        { id: "credits-daily", hidden: true }),
      el("h4", { text: "Usage by operation" }),
      scrollBox(table("Usage by operation", ["Operation", "Times", "Credits"], "credits-op-rows", "credits-op-total"))),
    part("ledger", "Ledger",
      el("p", { class: "muted", text: "Every change to your credit, newest first. A hold reserves credit while work runs; " +
        "it ends in a charge of what the work cost and a release of the rest." }),
      scrollBox(table("Ledger", ["Time", "Kind", "Operation", "Amount", "Reference"], "credits-ledger-rows")),
      el("button", { type: "button", id: "credits-older", class: "quiet", text: "Older entries", hidden: true, onclick: guard(loadOlder) })));
  bus.on("balance-changed", () => {
    if (!root.hidden && session.token()) refresh().catch(showError);
  });
}

export async function show() {
  await refresh();
}

// reset drops everything of the signed-out user and any answer still on
// its way.
export function reset() {
  gen++;
  cursor = "";
  for (const id of ["balance", "held", "available", "updated"]) $(`#credits-${id}`, root).textContent = "";
  for (const id of ["hold-rows", "day-rows", "day-total", "op-rows", "op-total", "ledger-rows", "chart", "legend"]) {
    $(`#credits-${id}`, root).replaceChildren();
  }
  for (const id of ["noholds", "moreholds", "older"]) $(`#credits-${id}`, root).hidden = true;
  $("#credits-period", root).value = "30";
  if ($("#credits-toggle", root).getAttribute("aria-expanded") === "true") toggleTable();
}

// refresh reloads every part of the view.
async function refresh() {
  const g = ++gen;
  await Promise.all([loadBalance(g), loadHolds(g), loadUsage(g), loadLedger(g)]);
  if (g === gen) $("#credits-updated", root).textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function loadBalance(g) {
  const a = await api("GET", "/v1/account");
  if (g !== gen) return;
  for (const k of ["balance", "held", "available"]) $(`#credits-${k}`, root).textContent = creditsText(a[k]);
}

async function loadHolds(g) {
  const { holds } = await api("GET", `/v1/holds?limit=${maxHolds}`);
  if (g !== gen) return;
  $("#credits-noholds", root).hidden = holds.length > 0;
  $("#credits-moreholds", root).hidden = holds.length < maxHolds;
  $("#credits-hold-rows", root).closest(".scroll").hidden = holds.length === 0;
  $("#credits-hold-rows", root).replaceChildren(...holds.map((h) => el("tr", {},
    el("td", { text: h.operation }), el("td", { class: "credits-ref", text: h.reference }),
    el("td", { text: credits(h.amount) }), el("td", { text: when(h.created_at) }), el("td", { text: when(h.expires_at) }))));
}

async function loadLedger(g) {
  const page = await api("GET", `/v1/ledger?limit=${pageSize}`);
  if (g !== gen) return;
  $("#credits-ledger-rows", root).replaceChildren();
  addEntries(page);
}

// loadOlder appends the next page, unless the ledger was reloaded
// meanwhile (its cursor moved: the page would not follow the rows shown).
async function loadOlder() {
  const g = gen, from = cursor;
  const page = await api("GET", `/v1/ledger?limit=${pageSize}&cursor=${encodeURIComponent(from)}`);
  if (g === gen && cursor === from) addEntries(page);
}

function addEntries({ entries, next_cursor: next }) {
  $("#credits-ledger-rows", root).append(...entries.map((e) => {
    const [kind, amount] = kinds[e.kind] ?? [e.kind, credits];
    return el("tr", { class: `credits-${e.kind}` },
      el("td", { text: when(e.created_at) }), el("td", { text: kind }), el("td", { text: e.operation }),
      el("td", { class: "credits-amount", text: amount(e.amount) }), el("td", { class: "credits-ref", text: e.reference ?? "" }));
  }));
  cursor = next || "";
  $("#credits-older", root).hidden = !cursor;
}

// loadUsage reads the period's charges by day and operation (the chart and
// its table) and by operation (the totals).
async function loadUsage(g) {
  const n = Number($("#credits-period", root).value);
  const days = lastDays(n);
  const from = days[0];
  const [byDay, byOp] = await Promise.all([
    api("GET", `/v1/usage?from=${from}&group_by=day,operation`),
    api("GET", `/v1/usage?from=${from}&group_by=operation`),
  ]);
  if (g !== gen || Number($("#credits-period", root).value) !== n) return;
  const ops = seriesOrder(byOp.rows.map((r) => r.operation));
  drawChart(days, byDay.rows, ops, byOp.total, n);
  $("#credits-legend", root).replaceChildren(...ops.map((op, i) => el("li", {}, swatch(i, op), ` ${op}`)));
  fillUsageTable("day", byDay.rows.map((r) => [r.day, r.operation, r.count, r.amount]), byDay);
  fillUsageTable("op", byOp.rows.map((r) => [r.operation, r.count, r.amount]), byOp);
}

// lastDays answers the n days (YYYY-MM-DD, UTC as the API counts them)
// that end today.
function lastDays(n) {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  return Array.from({ length: n }, (_, i) => new Date(today - (n - 1 - i) * 864e5).toISOString().slice(0, 10));
}

// seriesOrder puts the known operations first, in their order, then the
// others by name: stacks and legend follow it, and an operation keeps its
// colour from one period to the next.
function seriesOrder(ops) {
  const set = new Set(ops);
  return [...knownOps.filter((o) => set.has(o)), ...[...set].filter((o) => !knownOps.includes(o)).sort()];
}

// colour answers the colour class of op, the i-th series: a known
// operation's own, else one of the colours no known operation has.
const colour = (op, i) => (knownOps.includes(op) ? knownOps.indexOf(op)
  : knownOps.length + (i % (palette - knownOps.length)));

function fillUsageTable(name, rows, usage) {
  const cols = rows[0]?.length ?? (name === "day" ? 4 : 3);
  $(`#credits-${name}-rows`, root).replaceChildren(...(rows.length
    ? rows.map((r) => el("tr", {}, r.map((v, i) => el("td", { text: i === r.length - 1 ? credits(v) : String(v) }))))
    : [el("tr", {}, el("td", { colspan: cols, class: "muted", text: "No charges in this period" }))]));
  const count = usage.rows.reduce((s, r) => s + r.count, 0);
  $(`#credits-${name}-total`, root).replaceChildren(el("tr", {},
    el("th", { scope: "row", colspan: cols - 2, text: "Total" }), el("td", { text: String(count) }), el("td", { text: credits(usage.total) })));
}

function toggleTable() {
  const button = $("#credits-toggle", root);
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  button.textContent = open ? "Hide table" : "Show as table";
  $("#credits-daily", root).hidden = !open;
}

// svg builds an SVG element; attributes as el's.
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

// fill answers the attributes that paint series i of op: a colour class,
// and every other colour hatched, so neighbours differ without colour too.
const fill = (op, i) => {
  const c = colour(op, i);
  return c % 2 ? { class: "hatched", fill: `url(#credits-hatch-${c})` } : { class: `c${c}` };
};

function swatch(i, op) {
  return svg("svg", { width: 14, height: 14, viewBox: "0 0 14 14", "aria-hidden": "true", class: "credits-swatch" },
    svg("rect", { width: 14, height: 14, ...fill(op, i) }));
}

// drawChart draws one stacked bar per day, at the width the chart has now
// (it scales with the page after: viewBox and width 100%).
function drawChart(days, rows, ops, total, n) {
  const box = $("#credits-chart", root);
  const W = Math.max(300, Math.min(960, box.clientWidth || 640)), H = 220;
  const byDay = new Map(days.map((d) => [d, new Map()]));
  for (const r of rows) byDay.get(r.day)?.set(r.operation, r);
  const max = Math.max(0, ...[...byDay.values()].map((m) => [...m.values()].reduce((s, r) => s + r.amount, 0)));
  const ticks = yTicks(max);
  const top = ticks.at(-1);
  const left = 10 + 7 * Math.max(...ticks.map((t) => credits(t).length)), right = 24, topPad = 10, bottom = 24;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const y = (v) => topPad + plotH - (v / top) * plotH;
  const slot = plotW / days.length;
  const barW = Math.max(1, slot * 0.72);
  const most = ops.map((op) => [op, rows.filter((r) => r.operation === op).reduce((s, r) => s + r.amount, 0)]).sort((a, b) => b[1] - a[1])[0];
  const label = `Usage over the last ${n} days: ` + (total ? `${creditsText(total)}, most on ${most[0]}` : "no charges");
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" },
    svg("defs", {}, ...Array.from({ length: palette / 2 }, (_, k) => {
      const c = 2 * k + 1;
      return svg("pattern", { id: `credits-hatch-${c}`, patternUnits: "userSpaceOnUse", width: 6, height: 6, patternTransform: "rotate(45)" },
        svg("rect", { width: 6, height: 6, class: `c${c}` }), svg("rect", { width: 2, height: 6, class: "hatch" }));
    })),
    ...ticks.map((t) => svg("g", { class: "tick" },
      svg("line", { x1: left, x2: W - right, y1: y(t), y2: y(t) }),
      svg("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end" }, credits(t)))));
  const every = Math.ceil(56 / slot); // a day label every 56 px at least
  days.forEach((d, i) => {
    const g = svg("g", { "data-day": d });
    let base = 0;
    for (const [k, op] of ops.entries()) {
      const r = byDay.get(d).get(op);
      if (!r) continue;
      const h = (r.amount / top) * plotH;
      g.append(svg("rect", { x: left + i * slot + (slot - barW) / 2, y: y(base) - h, width: barW, height: h, "data-operation": op, ...fill(op, k) },
        svg("title", {}, `${d} ${op}: ${creditsText(r.amount)} (${r.count}\u00d7)`)));
      base += r.amount;
    }
    if ((days.length - 1 - i) % every === 0) {
      g.append(svg("text", { class: "day", x: left + i * slot + slot / 2, y: H - 6, "text-anchor": "middle" }, dayLabel(d)));
    }
    chart.append(g);
  });
  chart.append(svg("line", { class: "axis", x1: left, x2: W - right, y1: y(0), y2: y(0) }));
  box.replaceChildren(chart);
}

// yTicks answers 3 or 4 round values (micro-credits) from 0 up past max:
// steps of 1, 2 or 5 times a power of ten.
function yTicks(max) {
  max ||= 10_000; // an empty chart still has a scale
  const raw = Math.max(1, max / 3);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const n = Math.max(1, Math.ceil(max / step));
  return Array.from({ length: n + 1 }, (_, i) => i * step);
}

const dayLabel = (d) => new Date(`${d}T00:00:00Z`).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });

const part = (id, title, ...children) =>
  el("section", { class: "credits-part", "aria-labelledby": `credits-${id}-heading` }, el("h3", { id: `credits-${id}-heading`, text: title }), ...children);

function table(name, heads, body, foot) {
  return el("table", { "aria-label": name },
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", { id: body }),
    foot ? el("tfoot", { id: foot }) : null);
}
