// weft's web UI: a single page over the HTTP API (/api/v1), routed by the URL's hash.
// Every element is built with DOM calls (never HTML from data), every call carries the
// bearer token the user logged in with (kept in this browser's sessionStorage).
const TOKEN_KEY = "weft.token";
const LIVE_MS = 2000;
const main = document.getElementById("main");
let timers = [];
let aborts = [];
let me = null;

// ---- helpers ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(c));
  return el;
}

// Replaces el's children (nulls, from optional parts, left out).
function put(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false)
    .map((k) => (k instanceof Node ? k : document.createTextNode(String(k)))));
}

function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.field = e.field;
  }
}

async function api(path, opts = {}) {
  const headers = { Authorization: "Bearer " + token(), ...(opts.headers || {}) };
  const res = await fetch(path, { ...opts, headers });
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (!location.hash.startsWith("#/login")) location.hash = "#/login";
    throw new ApiError(401, await res.json().catch(() => null));
  }
  const type = res.headers.get("Content-Type") || "";
  const body = type.startsWith("application/json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const post = (path, body) => api(path, {
  method: "POST", body: JSON.stringify(body || {}),
  headers: { "Content-Type": "application/json" },
});

function when(us) { return us ? new Date(us / 1000).toLocaleString() : ""; }

function took(a, b) {
  if (!a) return "";
  const ms = ((b || Date.now() * 1000) - a) / 1000;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

/* An attempt's CPU time (µs) as a duration; its peak memory in binary units. */
const cpuTime = (us) => (us == null ? "" : took(1, 1 + us));
function mib(bytes) {
  if (!bytes) return "";
  return bytes < 1 << 30 ? `${(bytes / (1 << 20)).toFixed(1)} MiB`
    : `${(bytes / (1 << 30)).toFixed(2)} GiB`;
}

const badge = (state) => h("span", { class: `state ${state}` }, state || "?");

function every(fn) {
  fn();
  timers.push(setInterval(fn, LIVE_MS));
}

function failed(where, e) {
  put(where, h("p", { class: "error" }, e.message));
}

// ---- login ----

function loginView() {
  const input = h("input", { type: "password", id: "token", placeholder: "weft_…",
                             autocomplete: "off" });
  const msg = h("p", { class: "error" });
  const form = h("form", { class: "card login", onsubmit: async (ev) => {
    ev.preventDefault();
    const res = await fetch("/api/v1/whoami",
                            { headers: { Authorization: "Bearer " + input.value.trim() } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      msg.textContent = (body.error && body.error.message) || `HTTP ${res.status}`;
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    me = body;
    location.hash = "#/runs";
  } },
  h("h1", {}, "Log in to weft"),
  h("p", { class: "muted" }, "Paste a token from ", h("code", {}, "weft keys token NAME"), "."),
  input, h("button", { class: "primary", type: "submit" }, "Log in"), msg);
  put(main, form);
  input.focus();
}

// ---- runs ----

function runsView(params) {
  const f = {
    workflow: h("input", { placeholder: "workflow", value: params.get("workflow") || "" }),
    state: h("select", {}, ["", "running", "succeeded", "failed", "cancelled"].map(
      (s) => h("option", { value: s, selected: s === (params.get("state") || "") }, s || "any state"))),
    project: h("input", { placeholder: "project", value: params.get("project") || "" }),
    label: h("input", { placeholder: "label k=v", value: params.get("label") || "" }),
  };
  const body = h("tbody");
  const more = h("button", { hidden: true }, "Older runs");
  let cursor = null;
  const query = () => {
    const q = new URLSearchParams({ limit: "50" });
    for (const k of ["workflow", "state", "project", "label"]) if (f[k].value) q.set(k, f[k].value);
    return q;
  };
  const row = (r) => h("tr", { class: "row", "data-run": r.id,
                               onclick: () => { location.hash = `#/runs/${r.id}`; } },
    h("td", {}, h("a", { href: `#/runs/${r.id}` }, r.id)), h("td", {}, r.workflow),
    h("td", {}, r.project), h("td", {}, badge(r.state)),
    h("td", {}, h("div", { class: "progress", title: `${r.succeeded}/${r.ntasks}` },
      h("div", { style: `width:${r.ntasks ? (100 * r.succeeded / r.ntasks) : 0}%` })),
      h("span", { class: "muted" }, ` ${r.succeeded}/${r.ntasks}`)),
    h("td", {}, when(r.created_us)), h("td", {}, took(r.created_us, r.finished_us)),
    h("td", { class: "error" }, r.error || ""));
  const load = async () => {
    try {
      const page = await api("/api/v1/runs?" + query());
      put(body, ...page.runs.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (e) { if (e.status !== 401) toast(e.message); }
  };
  more.addEventListener("click", async () => {
    const q = query();
    q.set("cursor", cursor);
    const page = await api("/api/v1/runs?" + q);
    body.append(...page.runs.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });
  for (const el of Object.values(f)) el.addEventListener("change", () => {
    const q = query();
    q.delete("limit");
    history.replaceState(null, "", "#/runs?" + q);
    load();
  });
  put(main, h("h1", {}, "Runs"), h("div", { class: "filters" }, Object.values(f)),
    h("table", {}, h("thead", {}, h("tr", {}, ["Run", "Workflow", "Project", "State",
      "Tasks", "Created", "Took", "Error"].map((t) => h("th", {}, t)))), body), more);
  every(load);
}

// A mapped task's elements that succeeded (the run counts all of them; it lists only some).
function elementsDone(t) {
  return (t.element_counts || {}).succeeded || 0;
}

// The graph of a run: dagre lays the tasks out, each drawn in its state's colour; a map
// task carries a bar of its elements done.
function drawGraph(run, box) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 46, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of run.tasks) g.setNode(String(t.idx), { width: Math.max(90, 8 * t.name.length + 24), height: 34, t });
  for (const [child, parent] of run.edges || []) g.setEdge(String(parent), String(child));
  dagre.layout(g);
  const css = getComputedStyle(document.documentElement);
  const colour = (s) => css.getPropertyValue({ succeeded: "--ok", failed: "--bad",
    cancelled: "--bad", running: "--run", retry_wait: "--run", waiting: "--run", skipped: "--skip",
    not_run: "--skip" }[s] || "--wait").trim();
  const graph = g.graph();
  const el = svg("svg", { class: "graph", viewBox: `0 0 ${graph.width} ${graph.height}`,
                          height: Math.min(520, graph.height) });
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    el.append(svg("path", { class: "edge", d: "M" + pts.map((p) => `${p.x},${p.y}`).join(" L") }));
  }
  for (const id of g.nodes()) {
    const n = g.node(id), t = n.t;
    const node = svg("g", { class: "node", "data-task": t.name, "data-state": t.state,
      transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`,
      onclick: () => { location.hash = `#/runs/${run.id}/tasks/${encodeURIComponent(t.name)}`; } },
      svg("rect", { width: n.width, height: n.height, fill: colour(t.state) }),
      svg("text", { x: 10, y: 21 }, t.name));
    if (t.elements_total) {
      const done = elementsDone(t);
      node.append(svg("rect", { class: "bar-bg", x: 6, y: 28, width: n.width - 12, height: 3 }),
        svg("rect", { class: "bar", x: 6, y: 28, height: 3,
                      width: (n.width - 12) * done / t.elements_total }));
      node.append(svg("title", {}, `${done}/${t.elements_total} elements done`));
    }
    el.append(node);
  }
  put(box, el);
}

function attemptsTable(t) {
  return h("table", {}, h("thead", {}, h("tr", {},
    ["#", "Worker", "State", "Took", "CPU", "Peak memory", "Error"]
      .map((x) => h("th", {}, x)))), h("tbody", {}, (t.attempt_list || []).map((a) => h("tr", {},
    h("td", {}, a.number), h("td", {}, a.worker), h("td", {}, badge(a.state)),
    h("td", {}, took(a.started_us, a.finished_us)), h("td", {}, cpuTime(a.cpu_us)),
    h("td", {}, mib(a.peak_mem_bytes)),
    h("td", { class: "error" }, a.error_class ? `${a.error_class}: ${a.error || ""}` : "")))));
}

async function retryFlow(run, from) {
  const body = from ? { from } : {};
  let plan;
  try {
    plan = await post(`/api/v1/runs/${run.id}/retry`, { ...body, dry_run: true });
  } catch (e) { toast(e.message); return; }
  const steps = (plan.plan.tasks || []).map((t) => `${t.name}: ${t.action}`).join("\n");
  const dlg = h("div", { class: "card", id: "retry-plan" },
    h("h2", {}, from ? `Retry from ${from}: the plan` : "Retry: the plan"),
    h("pre", {}, steps || JSON.stringify(plan.plan, null, 2)),
    h("div", { class: "actions" },
      h("button", { class: "primary", id: "retry-confirm", onclick: async () => {
        try {
          const r = await post(`/api/v1/runs/${run.id}/retry`, body);
          location.hash = `#/runs/${r.run_id}`;
        } catch (e) { toast(e.message); }
      } }, "Start the retry"),
      h("button", { onclick: () => dlg.remove() }, "Close")));
  main.prepend(dlg);
}

function runView(id) {
  const head = h("div"), graph = h("div"), tasks = h("tbody"), actions = h("div", { class: "actions" });
  put(main, head, actions, graph, h("h2", {}, "Tasks"),
    h("table", {}, h("thead", {}, h("tr", {}, ["Task", "Type", "State", "Attempts", "Worker",
      "Source", "Took", "Error"].map((x) => h("th", {}, x)))), tasks));
  let last = null;
  const load = async () => {
    let run;
    try { run = await api(`/api/v1/runs/${id}`); } catch (e) { failed(head, e); return; }
    put(head, h("h1", {}, `Run ${run.id}: ${run.workflow} `, badge(run.state)),
      h("table", { class: "kv" }, h("tbody", {},
        h("tr", {}, h("td", {}, "Project"), h("td", {}, run.project)),
        h("tr", {}, h("td", {}, "Created"), h("td", {}, when(run.created_us))),
        h("tr", {}, h("td", {}, "Took"), h("td", {}, took(run.created_us, run.finished_us))),
        run.retry_of ? h("tr", {}, h("td", {}, "Retry of"),
          h("td", {}, h("a", { href: `#/runs/${run.retry_of}` }, run.retry_of))) : null,
        run.error ? h("tr", {}, h("td", {}, "Error"), h("td", { class: "error" }, run.error)) : null)));
    const sig = JSON.stringify(run.tasks.map((t) => [t.state, t.attempts, t.element_counts]));
    if (sig !== last) { drawGraph(run, graph); last = sig; }
    put(tasks, ...run.tasks.map((t) => h("tr", { class: "row",
        onclick: () => { location.hash = `#/runs/${id}/tasks/${encodeURIComponent(t.name)}`; } },
      h("td", {}, t.name), h("td", {}, t.type), h("td", {}, badge(t.state),
        t.elements_total ? h("span", { class: "muted" }, ` ${elementsDone(t)}/${t.elements_total}`) : null),
      h("td", {}, t.attempts), h("td", {}, t.worker || ""), h("td", {}, t.source || ""),
      h("td", {}, took(t.started_us, t.finished_us)),
      h("td", { class: "error" }, t.error || ""))));
    const ended = run.state !== "running";
    put(actions, 
      ended ? null : h("button", { class: "danger", id: "cancel", onclick: async () => {
        try { await post(`/api/v1/runs/${id}/cancel`); toast(`run ${id}: cancel requested`); }
        catch (e) { toast(e.message); }
      } }, "Cancel"),
      ended ? h("button", { id: "retry", onclick: () => retryFlow(run) }, "Retry…") : null);
  };
  every(load);
}

// ---- a task: its log (followed while it runs), inputs and outputs ----

async function follow(run, task, attempt, pre, signal) {
  const res = await fetch(`/api/v1/runs/${run}/tasks/${encodeURIComponent(task)}/log?attempt=${attempt}`,
    { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" }, signal });
  if (!res.ok) { pre.textContent = (await res.json()).error.message; return; }
  const reader = res.body.getReader(), dec = new TextDecoder();
  let buf = "";
  pre.textContent = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const kind = /^event: (.*)$/m.exec(ev), data = /^data: (.*)$/m.exec(ev);
      if (kind && kind[1] === "log" && data) {
        pre.textContent += JSON.parse(data[1]).data;
        pre.scrollTop = pre.scrollHeight;
      } else if (kind && kind[1] === "end") {
        pre.dataset.ended = "true";
      }
    }
  }
}

function csvTable(text) {
  const rows = text.trim().split("\n").slice(0, 51).map((l) => l.split(","));
  return h("table", { class: "preview" }, h("thead", {}, h("tr", {}, rows[0].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.slice(1).map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

// An output: a value shown as JSON; a file downloadable and previewed (JSON pretty-printed,
// CSV as a table, text as it is).
function outputRow(run, task, name, v) {
  const cell = h("td");
  if (v && typeof v === "object" && v.artifact) {
    const url = `/api/v1/runs/${run}/tasks/${encodeURIComponent(task)}/outputs/${encodeURIComponent(name)}`;
    const preview = h("div");
    const get = async () => {
      const res = await fetch(url, { headers: { Authorization: "Bearer " + token() } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      return res;
    };
    cell.append(h("span", { class: "muted" }, `${v.kind}, ${v.size} bytes `),
      v.kind === "file" ? h("button", { class: "link", "data-download": name, onclick: async () => {
        try {
          const blob = await (await get()).blob();
          const a = h("a", { href: URL.createObjectURL(blob), download: v.name || name });
          document.body.append(a);
          a.click();
          a.remove();
        } catch (e) { toast(e.message); }
      } }, "Download") : null, preview);
    if (v.kind === "file" && v.size <= 1 << 20) {
      get().then((r) => r.text()).then((text) => {
        const lower = (v.name || name).toLowerCase();
        if (lower.endsWith(".csv") || /^[^,\n]+(,[^,\n]*)+\n/.test(text)) preview.append(csvTable(text));
        else {
          try { preview.append(h("pre", {}, JSON.stringify(JSON.parse(text), null, 2))); }
          catch { preview.append(h("pre", {}, text)); }
        }
      }).catch(() => {});
    }
  } else if (v && typeof v === "object") {
    const numbers = Object.entries(v).filter(([, x]) => typeof x === "number");
    cell.append(numbers.length ? h("table", { class: "kv" }, h("tbody", {}, numbers.map(([k, x]) =>
      h("tr", {}, h("td", {}, k), h("td", {}, x.toPrecision(6)))))) : null,
      h("pre", {}, JSON.stringify(v, null, 2)));
  } else {
    cell.append(h("pre", {}, JSON.stringify(v)));
  }
  return h("tr", {}, h("td", {}, name), cell);
}

function taskView(run, task) {
  const head = h("div"), log = h("pre", { class: "log", id: "log" }), io = h("div");
  const pick = h("select", { id: "attempt" });
  put(main, head, h("div", { class: "grid" },
    h("div", {}, h("h2", {}, "Log ", pick), log), io));
  const ctl = new AbortController();
  aborts.push(ctl);
  let shown = null, settled = false;
  const load = async () => {
    let t;
    try { t = await api(`/api/v1/runs/${run}/tasks/${encodeURIComponent(task)}`); }
    catch (e) { failed(head, e); return; }
    settled = t.run_state !== "running"; /* an ended run changes no more: shown once, then left */
    put(head, h("h1", {}, h("a", { href: `#/runs/${run}` }, `Run ${run}`), ` / ${task} `,
      badge(t.state)), t.error ? h("p", { class: "error" }, `${t.error_class}: ${t.error}`) : null,
      h("div", { class: "actions" }, settled ? h("button", { id: "retry-from",
        onclick: () => retryFlow({ id: run }, t.name.replace(/\[\d+\]$/, "")) }, "Retry from this task…") : null),
      attemptsTable(t));
    const n = (t.attempt_list || []).length;
    if (pick.options.length !== n) {
      put(pick, ...(t.attempt_list || []).map((a) => h("option", { value: a.number }, `attempt ${a.number}`)));
      pick.value = String(n);
    }
    if (n && shown !== pick.value) {
      shown = pick.value;
      follow(run, task, shown, log, ctl.signal).catch(() => {});
    }
    put(io, h("h2", {}, "Outputs"), h("table", { id: "outputs" }, h("tbody", {},
      Object.entries(t.outputs || {}).map(([k, v]) => outputRow(run, task, k, v)))),
      h("h2", {}, "Inputs"), h("pre", {}, JSON.stringify(t.inputs || {}, null, 2)));
  };
  pick.addEventListener("change", () => { shown = null; settled = false; load(); });
  every(() => { if (!settled) load(); });
}

// ---- submit: a form made from a registered workflow's typed parameters ----

async function submitView(name, params) {
  const list = await api("/api/v1/workflows");
  const pick = h("select", { id: "workflow", onchange: () => { location.hash = `#/submit/${pick.value}`; } },
    h("option", { value: "" }, "choose a workflow"),
    list.workflows.filter((w) => w.registered).map((w) =>
      h("option", { value: w.name, selected: w.name === name }, `${w.name} (${w.project})`)));
  put(main, h("h1", {}, "Submit"), pick);
  if (!name) return;
  const project = params.get("project");
  const wf = await api(`/api/v1/workflows/${encodeURIComponent(name)}` + (project ? `?project=${project}` : ""));
  const fields = wf.params.map((p) => {
    const file = ["file", "dataset", "model"].includes(p.type);
    const input = file ? h("input", { type: "file", name: `params.${p.name}`, required: p.required })
      : p.type === "bool" ? h("select", { name: `params.${p.name}` }, h("option", { value: "" }, "(default)"),
          h("option", { value: "true" }, "true"), h("option", { value: "false" }, "false"))
      : h("input", { name: `params.${p.name}`, required: p.required,
                     type: ["int", "float"].includes(p.type) ? "number" : "text",
                     step: p.type === "float" ? "any" : null,
                     placeholder: p.default === null ? "" : JSON.stringify(p.default) });
    const about = [p.type, p.required ? "required" : null,
      file && p.default !== null ? `default ${p.default}` : null, p.doc].filter(Boolean);
    return [h("label", {}, `${p.name} `, h("span", { class: "doc" }, about.join(" · "))), input];
  });
  const msg = h("p", { class: "error" });
  const form = h("form", { class: "card submit", id: "submit-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const data = new FormData();
    data.append("workflow", wf.name);
    data.append("project", wf.project);
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === "file") { if (el.files[0]) data.append(el.name, el.files[0], el.files[0].name); }
      else if (el.value !== "") data.append(el.name, el.value);
    }
    try {
      const r = await api("/api/v1/runs", { method: "POST", body: data });
      location.hash = `#/runs/${r.run_id}`;
    } catch (e) { msg.textContent = e.field ? `${e.field}: ${e.message}` : e.message; }
  } }, h("h2", {}, `${wf.name} (${wf.project}, version ${wf.version})`), fields,
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Run")), msg);
  main.append(form);
}

// ---- schedules, workers, cache ----

function tableView(title, path, key, columns, extra) {
  const body = h("tbody");
  put(main, h("h1", {}, title), h("table", {}, h("thead", {}, h("tr", {},
    [...columns.map((c) => h("th", {}, c[0])), extra ? h("th") : null])), body));
  every(async () => {
    try {
      const j = await api(path);
      put(body, ...j[key].map((r) => h("tr", {}, columns.map((c) => h("td", {}, c[1](r))),
        extra ? h("td", {}, extra(r)) : null)));
    } catch (e) { if (e.status !== 401) toast(e.message); }
  });
}

function schedulesView() {
  tableView("Schedules", "/api/v1/schedules", "schedules", [
    ["Name", (s) => s.name], ["Project", (s) => s.project], ["Workflow", (s) => s.workflow],
    ["State", (s) => s.state], ["Next fire", (s) => s.next_s ? when(s.next_s * 1e6) : ""],
    ["Last run", (s) => s.last_run ? h("a", { href: `#/runs/${s.last_run}` }, s.last_run) : ""],
  ], (s) => h("button", { onclick: async () => {
    try { await post(`/api/v1/schedules/${encodeURIComponent(s.name)}/${s.paused ? "resume" : "pause"}`); }
    catch (e) { toast(e.message); }
  } }, s.paused ? "Resume" : "Pause"));
}

function workersView() {
  tableView("Workers", "/api/v1/workers", "workers", [
    ["Name", (w) => w.name], ["State", (w) => badge(w.state === "up" ? "running" : "not_run")],
    ["Slots", (w) => w.slots], ["Running", (w) => w.running],
    ["Load", (w) => h("div", { class: "progress" }, h("div", { style: `width:${w.slots ? 100 * w.running / w.slots : 0}%` }))],
    ["Last heartbeat", (w) => when(w.last_seen_us)], ["Types", (w) => (w.types || []).length],
  ]);
}

function cacheView() {
  tableView("Cache", "/api/v1/cache", "entries", [
    ["Key", (c) => c.key.slice(0, 16)], ["Project", (c) => c.project], ["Workflow", (c) => c.workflow],
    ["Task", (c) => c.task], ["Type", (c) => c.type], ["Hits", (c) => c.hits],
    ["Run", (c) => h("a", { href: `#/runs/${c.run_id}` }, c.run_id)], ["Created", (c) => when(c.created_us)],
  ]);
}

// ---- routing ----

async function route() {
  timers.forEach(clearInterval);
  timers = [];
  aborts.forEach((a) => a.abort());
  aborts = [];
  const [path, qs] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(qs || "");
  const parts = (path || "/runs").split("/").filter(Boolean).map(decodeURIComponent);
  document.getElementById("logout").hidden = !token();
  if (!token() || parts[0] === "login") { loginView(); return; }
  if (!me) {
    try { me = await api("/api/v1/whoami"); } catch { return; }
  }
  document.getElementById("who").textContent = `${me.name} (${me.role})`;
  try {
    if (parts[0] === "runs" && parts[1] && parts[2] === "tasks") taskView(parts[1], parts[3]);
    else if (parts[0] === "runs" && parts[1]) runView(parts[1]);
    else if (parts[0] === "submit") await submitView(parts[1], params);
    else if (parts[0] === "schedules") schedulesView();
    else if (parts[0] === "workers") workersView();
    else if (parts[0] === "cache") cacheView();
    else runsView(params);
  } catch (e) { failed(main, e); }
}

document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  location.hash = "#/login";
});
window.addEventListener("hashchange", route);
window.addEventListener("load", route);
