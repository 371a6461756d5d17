// #/executions: the live list of executions, filtered by state machine, status, name and start
// time, a page at a time; and, for operators, a form that starts one.
//
// The filters live in the hash (#/executions?stateMachineArn=...&statusFilter=FAILED), so a
// filtered list has a link; the pages' tokens live here (a stack, for Previous), since AWS's
// nextToken is only good for a while. Step Functions' ListExecutions lists one state machine at a
// time: "All state machines" merges the first page of each, newest first, and says so.

import { segment } from "../api.js";
import { badge, failure, field, fmt, h, notice, section, table } from "../ui.js";

const STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];
const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_PAGE_SIZE = 50;
// In "All" mode, at most this many state machines are asked (one ListExecutions call each).
const MAX_MACHINES = 25;
// One state machine's list is polled every EVERY_MS; "All" (a call per state machine) every
// ALL_EVERY_MS, listing the state machines again every RELIST_MS.
const EVERY_MS = 500;
const ALL_EVERY_MS = 500;
const RELIST_MS = 10_000;
// AWS's rules for an execution's name: 1-80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /
// nor a control character.
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;
const NAME_MAX = 80;
// AWS's limit on an execution's input: 256 KiB of UTF-8.
const INPUT_MAX_BYTES = 262_144;

/** The hash of the executions list with these filters (empty ones left out). */
export function listHash(filters) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  const query = params.toString();
  return query ? `#/executions?${query}` : "#/executions";
}

/** Why `name` cannot be an execution's name, or null when it can (AWS's rules). */
export function nameProblem(name) {
  if (name.length > NAME_MAX) return `The name is ${name.length} characters long; AWS allows at most ${NAME_MAX}.`;
  const bad = name.match(NAME_FORBIDDEN);
  if (bad) return `The name cannot contain ${/\s/u.test(bad[0]) ? "whitespace" : `the character “${bad[0]}”`}.`;
  return null;
}

/**
 * [source, problem]: the JSON text to send as the input ("{}" for an empty one), or the reason it
 * cannot be an execution's input. The text is only checked with JSON.parse, never sent as its
 * result: that would round 9007199254740993 and turn 1.0 into 1, where AWS keeps the input as typed.
 */
export function checkInput(text) {
  const source = text.trim() === "" ? "{}" : text;
  if (new TextEncoder().encode(source).length > INPUT_MAX_BYTES) return [null, "The input is larger than 256 KiB, AWS's limit."];
  try {
    JSON.parse(source);
    return [source, null];
  } catch (error) {
    return [null, `The input is not valid JSON: ${error.message}`];
  }
}

/** The API's start request as a JSON text, with the input `source` (valid JSON) as its exact text. */
export function startRequest(stateMachineArn, source, name) {
  // inputText: the API hands the text to StartExecution unchanged (as "input" it would re-serialise it).
  const request = { stateMachineArn, inputText: source };
  if (name) request.name = name;
  return JSON.stringify(request);
}

// A datetime-local control's value (local time, no zone) <-> an ISO instant for the hash and the API.
function toInstant(local) {
  if (!local) return "";
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function toLocalInput(instant) {
  if (!instant) return "";
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function filtersFrom(params) {
  const status = params.get("statusFilter") || "";
  return {
    stateMachineArn: params.get("stateMachineArn") || "",
    statusFilter: STATUSES.includes(status) ? status : "",
    namePrefix: (params.get("namePrefix") || "").slice(0, 80),
    startedAfter: toInstant(params.get("startedAfter") || ""),
    startedBefore: toInstant(params.get("startedBefore") || ""),
    maxResults: pageSize(params.get("maxResults")),
  };
}

// ListExecutions' maxResults: 1-1000; the list's choices, or any such number given in the link.
function pageSize(text) {
  const value = Number(text);
  return Number.isInteger(value) && value >= 1 && value <= 1000 ? value : DEFAULT_PAGE_SIZE;
}

// Express state machines keep no execution list (ListExecutions refuses them, as AWS does).
function listableOf(machines) {
  return machines.filter((m) => m.type !== "EXPRESS").slice(0, MAX_MACHINES);
}

function executionLink(execution) {
  return h("a", { href: `#/executions/${segment(execution.executionArn)}` }, execution.name);
}

function columns(showMachine) {
  return [
    { label: "Name", value: executionLink, className: "mono" },
    { label: "Status", value: (e) => badge(e.status) },
    showMachine ? { label: "State machine", value: (e) => fmt.arnName(e.stateMachineArn) } : null,
    { label: "Started", value: (e) => fmt.time(e.startDate) },
    { label: "Ended", value: (e) => fmt.time(e.stopDate) },
    { label: "Duration", value: (e) => fmt.between(e.startDate, e.stopDate), className: "num" },
    { label: "Redrives", value: (e) => (e.redriveCount ? fmt.number(e.redriveCount) : "—"), className: "num" },
  ].filter(Boolean);
}

export default {
  title: "Executions",

  async render(view, route, ctx) {
    const filters = filtersFrom(route.params);
    const size = filters.maxResults;
    view.append(h("h1", null, "Executions"));
    let machines = (await ctx.api.get("/state-machines", { maxResults: 100 })).stateMachines;
    if (!ctx.current()) return;

    const filterForm = buildFilters(filters, machines, ctx);
    const all = !filters.stateMachineArn;
    let listable = listableOf(machines);
    let listedAt = Date.now();
    const limitNote = h("p", { className: "hint" });
    const noteLimit = () => {
      limitNote.textContent = `All state machines: the newest ${size} executions of each standard state machine${machines.length > MAX_MACHINES ? ` (of the first ${MAX_MACHINES})` : ""}, merged by start date. AWS lists executions one state machine at a time, so choose a state machine to page through all of its executions.`;
    };
    if (all) noteLimit();
    const listHolder = h("div", { className: "executions-list" });
    const pager = h("div", { className: "pager" });
    const status = h("p", { className: "muted", "aria-live": "polite" });
    view.append(section("Filters", filterForm));
    if (ctx.can("operator")) view.append(startForm(machines, filters.stateMachineArn, ctx));
    view.append(
      h("section", { className: "panel", "aria-label": "Executions found" }, h("h2", null, "Executions found"), all ? limitNote : null, status, listHolder, pager),
    );
    if (!machines.length) {
      listHolder.append(h("p", { className: "muted" }, "This stack has no state machine."));
      return;
    }

    // Pagination: tokens[i] is the token that fetches page i (page 0 needs none).
    const tokens = [null];
    let page = 0;
    let nextToken = null;
    let shown = null;

    const query = (machineArn, token, size) => ({
      stateMachineArn: machineArn,
      statusFilter: filters.statusFilter,
      namePrefix: filters.namePrefix,
      startedAfter: filters.startedAfter,
      startedBefore: filters.startedBefore,
      nextToken: token || undefined,
      maxResults: size,
    });

    // "All": the state machines are listed again now and then, so one deleted (or created) since
    // shows; one deleted between two listings answers 404 and is left out until the next.
    async function mergedPage() {
      if (Date.now() - listedAt >= RELIST_MS) {
        machines = (await ctx.api.get("/state-machines", { maxResults: 100 })).stateMachines;
        listable = listableOf(machines);
        listedAt = Date.now();
        noteLimit();
      }
      const asked = listable;
      const settled = await Promise.allSettled(asked.map((m) => ctx.api.get("/executions", query(m.stateMachineArn, null, size))));
      const failed = settled.find((result) => result.status === "rejected" && result.reason.status !== 404);
      if (failed) throw failed.reason;
      const gone = new Set(asked.filter((_, n) => settled[n].status === "rejected").map((m) => m.stateMachineArn));
      if (gone.size) listable = listable.filter((m) => !gone.has(m.stateMachineArn));
      const merged = settled
        .filter((result) => result.status === "fulfilled")
        .flatMap((result) => result.value.executions)
        .sort((a, b) => new Date(b.startDate) - new Date(a.startDate));
      return { executions: merged.slice(0, size), nextToken: null };
    }

    const prev = h("button", { type: "button", disabled: true }, "Previous");
    const next = h("button", { type: "button", disabled: true }, "Next");
    const where = h("span", { className: "muted" });
    pager.append(prev, where, next);

    function drawPager() {
      prev.disabled = page === 0;
      next.disabled = !nextToken;
      where.textContent = all ? "" : `Page ${page + 1}`;
      pager.hidden = all;
    }

    async function load(still) {
      let answer;
      try {
        answer = all ? await mergedPage() : await ctx.api.get("/executions", query(filters.stateMachineArn, tokens[page], size));
      } catch (error) {
        // Said where the list would be until one is shown; after that the shell's notice says it.
        if (still() && shown === null) listHolder.replaceChildren(failure(error));
        throw error;
      }
      if (!still()) return;
      nextToken = answer.nextToken || null;
      drawPager();
      // Redrawn only when something changed: a poll must not reset focus, selection or scrolling.
      const fingerprint = JSON.stringify(answer.executions);
      if (fingerprint === shown) return;
      shown = fingerprint;
      const filtered = filters.namePrefix || filters.startedAfter || filters.startedBefore;
      listHolder.replaceChildren(
        table({
          caption: all ? "Executions of all state machines, newest first" : `Executions of ${fmt.arnName(filters.stateMachineArn)}, newest first`,
          columns: columns(all),
          rows: answer.executions,
          empty: nextToken && filtered ? "None on this page matches the name or time filter; try the next page." : "No execution matches these filters.",
          rowProps: (e) => ({ dataset: { arn: e.executionArn, status: e.status } }),
        }),
      );
      status.textContent = `${answer.executions.length} shown${nextToken ? ", more on the next pages" : ""}.`;
    }

    // One machine's page again every 500 ms, so new runs and status changes appear within a
    // second; "All" costs a call per state machine, so once a second.
    const poller = ctx.live(load, all ? ALL_EVERY_MS : EVERY_MS);
    // Paging goes through the poller: the answer for the page chosen is the only one drawn.
    const turn = (to) => {
      page = to;
      shown = null;
      prev.disabled = true;
      next.disabled = true;
      poller.refresh();
    };
    prev.addEventListener("click", () => turn(Math.max(0, page - 1)));
    next.addEventListener("click", () => {
      if (!nextToken) return;
      tokens[page + 1] = nextToken;
      turn(page + 1);
    });
    await poller;
  },
};

function buildFilters(filters, machines, ctx) {
  const machine = h(
    "select",
    { name: "stateMachineArn" },
    h("option", { value: "" }, "All state machines"),
    machines.map((m) => h("option", { value: m.stateMachineArn, selected: m.stateMachineArn === filters.stateMachineArn }, m.name)),
  );
  const status = h(
    "select",
    { name: "statusFilter" },
    h("option", { value: "" }, "Any status"),
    STATUSES.map((s) => h("option", { value: s, selected: s === filters.statusFilter }, s.replace(/_/g, " "))),
  );
  const prefix = h("input", { name: "namePrefix", value: filters.namePrefix, maxlength: "80", autocomplete: "off", spellcheck: "false" });
  const after = h("input", { name: "startedAfter", type: "datetime-local", value: toLocalInput(filters.startedAfter) });
  const before = h("input", { name: "startedBefore", type: "datetime-local", value: toLocalInput(filters.startedBefore) });
  const sizes = PAGE_SIZES.includes(filters.maxResults) ? PAGE_SIZES : [...PAGE_SIZES, filters.maxResults].sort((a, b) => a - b);
  const perPage = h(
    "select",
    { name: "maxResults" },
    sizes.map((n) => h("option", { value: String(n), selected: n === filters.maxResults }, String(n))),
  );
  const clear = h("button", { type: "button" }, "Clear filters");
  const form = h(
    "form",
    { className: "toolbar", "aria-label": "Filter executions" },
    field("State machine", machine),
    field("Status", status),
    field("Name starts with", prefix),
    field("Started after", after),
    field("Started before", before),
    field("Per page", perPage),
    h("button", { type: "submit", className: "primary" }, "Apply"),
    clear,
  );
  const go = () =>
    ctx.navigate(
      listHash({
        stateMachineArn: machine.value,
        statusFilter: status.value,
        namePrefix: prefix.value.trim(),
        startedAfter: toInstant(after.value),
        startedBefore: toInstant(before.value),
        maxResults: Number(perPage.value) === DEFAULT_PAGE_SIZE ? "" : perPage.value,
      }),
    );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  // A choice in a list applies at once; typed filters apply with Apply (or Enter).
  machine.addEventListener("change", go);
  status.addEventListener("change", go);
  perPage.addEventListener("change", go);
  clear.addEventListener("click", () => ctx.navigate("#/executions"));
  return form;
}

function startForm(machines, chosenArn, ctx) {
  const machine = h(
    "select",
    { name: "start-state-machine", required: true },
    machines.map((m) => h("option", { value: m.stateMachineArn, selected: m.stateMachineArn === chosenArn }, m.name)),
  );
  const name = h("input", { name: "start-name", maxlength: "80", autocomplete: "off", spellcheck: "false", placeholder: "A unique ID is generated when empty" });
  const input = h("textarea", { name: "start-input", spellcheck: "false", rows: "6", "aria-describedby": "start-input-help" }, "{}");
  const problem = h("p", { className: "failure", role: "alert", hidden: true, id: "start-problem" });
  const submit = h("button", { type: "submit", className: "primary" }, "Start execution");
  const form = h(
    "form",
    { className: "start-execution", "aria-label": "Start an execution", novalidate: true },
    h("div", { className: "toolbar" }, field("State machine", machine), field("Execution name (optional)", name)),
    field("Input (JSON)", input),
    h("p", { className: "hint", id: "start-input-help" }, "Any JSON value, at most 256 KiB. Empty means {}."),
    problem,
    h("div", { className: "toolbar" }, submit),
  );
  const show = (text, control) => {
    problem.textContent = text;
    problem.hidden = false;
    for (const c of [name, input]) c.removeAttribute("aria-invalid");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const chosenName = name.value.trim();
    const nameIssue = chosenName ? nameProblem(chosenName) : null;
    if (nameIssue) return show(nameIssue, name);
    const [source, inputIssue] = checkInput(input.value);
    if (inputIssue) return show(inputIssue, input);
    for (const c of [name, input]) c.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      const started = await ctx.api.postRaw("/executions", startRequest(machine.value, source, chosenName));
      notice(`Started ${fmt.arnName(started.executionArn)}.`, "success");
      ctx.navigate(`#/executions/${segment(started.executionArn)}`);
    } catch (error) {
      show(`${error.code && error.code !== "Error" ? `${error.code}: ` : ""}${error.message}`, null);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
  // Folded away until asked for: the list is what most visits are for.
  form.id = "start-execution-form";
  form.hidden = true;
  const toggle = h("button", { type: "button", "aria-expanded": "false", "aria-controls": form.id }, "New execution…");
  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) input.focus();
  });
  return section("Start execution", toggle, form);
}
