// #/executions/<arn>: one execution as the Step Functions console shows it: its summary, its graph
// with the chosen state's details, its input and output, a data-pipeline run's rows and files,
// and its event history; operators stop, redrive and start it again.
//
// Live: while the execution runs (or an action here has just changed it) its description, graph
// and newest events are fetched every 500 ms; once it has ended, only a cheap DescribeExecution
// every 5 s, which notices a redrive made elsewhere (the CLI, another tab).

import { segment } from "../api.js";
import { graphLegend, graphView, iterationText } from "../graph.js";
import { startRequest } from "./executions.js";
import { badge, code, confirm, download, failure, fmt, h, notice, section, table } from "../ui.js";

const ACTIVE = new Set(["RUNNING", "PENDING_REDRIVE"]);
const REDRIVABLE = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);
// GetExecutionHistory's largest page: a 1,000-state history (several thousand events) in a few calls.
const HISTORY_PAGE = 1000;
// The newest events asked for on each poll; more only when more than this arrived in 500 ms.
const HISTORY_TAIL = 100;
// Rows drawn at once: thousands of events are shown a page at a time.
const ROWS_PER_PAGE = 100;
const FAILURE_TYPE = /(Failed|TimedOut|Aborted)$|^FailState/;

/** Whether a history event reports a failure (its type says so, or its details carry an error). */
export function isFailureEvent(event) {
  if (FAILURE_TYPE.test(event.type)) return true;
  const details = eventDetails(event);
  return Boolean(details && details.error);
}

/** An event's details member (``taskFailedEventDetails``...), or null. */
export function eventDetails(event) {
  for (const [name, value] of Object.entries(event)) {
    if (name.endsWith("EventDetails") && value && typeof value === "object") return value;
  }
  return null;
}

// "my-run" -> "my-run-again-3f9a1c", within AWS's 80 characters.
function againName(name) {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  const suffix = `-again-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  const base = name.replace(/-again-[0-9a-f]{6}$/, "");
  return base.slice(0, 80 - suffix.length) + suffix;
}

// The input to start again with, as a JSON text: DescribeExecution's, unchanged (parsing it would
// round big integers and drop a ".0"); "{}" when AWS did not return one.
function againInput(text) {
  if (text === null || text === undefined || text === "") return "{}";
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text); // never so on AWS, whose inputs are JSON: sent as the string it is
  }
}

export default {
  title: "Execution",

  async render(view, route, ctx) {
    const arn = route.parts.join("/");
    const base = `/executions/${segment(arn)}`;
    let execution = await ctx.api.get(base);
    if (!ctx.current()) return;
    document.title = `${execution.name} · Executions · Sluiceway`;

    // ------------------------------------------------------------ summary and actions
    const heading = h("h1", null, execution.name);
    const summary = h("div");
    const actions = h("div", { className: "toolbar execution-actions", role: "group", "aria-label": "Actions" });
    const pipelineHolder = h("div");
    const inputOutput = h("div", { className: "grid" });

    let drawnIo = null;

    function drawSummary() {
      const e = execution;
      const pairs = [
        ["Status", badge(e.status)],
        ["State machine", h("a", { href: `#/executions?stateMachineArn=${encodeURIComponent(e.stateMachineArn)}` }, fmt.arnName(e.stateMachineArn))],
        ["Execution ARN", h("span", { className: "mono" }, e.executionArn)],
        ["Started", fmt.time(e.startDate)],
        ["Ended", fmt.time(e.stopDate)],
        ["Duration", fmt.between(e.startDate, e.stopDate)],
      ];
      if (e.redriveCount) {
        pairs.push(["Redrives", `${fmt.number(e.redriveCount)}${e.redriveDate ? `, last at ${fmt.time(e.redriveDate)}` : ""}`]);
      }
      if (e.redriveStatus && !ACTIVE.has(e.status) && e.status !== "SUCCEEDED") {
        pairs.push(["Redrive status", `${e.redriveStatus.replace(/_/g, " ")}${e.redriveStatusReason ? ` (${e.redriveStatusReason})` : ""}`]);
      }
      if (e.error) pairs.push(["Error", h("span", { className: "mono" }, e.error)]);
      if (e.cause) pairs.push(["Cause", causeOf(e.cause)]);
      summary.replaceChildren(
        h("dl", { className: "facts" }, pairs.map(([label, value]) => [h("dt", null, label), h("dd", null, value)])),
      );
      // Input and output change only when the execution ends: redrawn then, not on every poll.
      const io = `${e.status}:${e.redriveCount}:${(e.output || "").length}`;
      if (io === drawnIo) return drawActions();
      drawnIo = io;
      inputOutput.replaceChildren(
        h("div", null, h("h3", null, "Input"), code(fmt.json(e.input) || "—", "Execution input")),
        h("div", null, h("h3", null, "Output"), code(e.output ? fmt.json(e.output) : ACTIVE.has(e.status) ? "No output yet." : "No output.", "Execution output")),
      );
      drawActions();
    }

    let drawnActions = null;

    function drawActions() {
      const e = execution;
      // Redrawn only when the buttons would change: a poll must not take focus from one.
      const key = `${e.status}:${e.redriveStatus}`;
      if (key === drawnActions) return;
      drawnActions = key;
      const buttons = [];
      if (ctx.can("operator")) {
        if (e.status === "RUNNING") {
          const stop = h("button", { type: "button", className: "danger" }, "Stop");
          stop.addEventListener("click", () => act(stop, stopExecution));
          buttons.push(stop);
        }
        if (REDRIVABLE.has(e.status)) {
          const refused = e.redriveStatus === "NOT_REDRIVABLE";
          const redrive = h("button", { type: "button", className: "primary", disabled: refused, title: refused ? e.redriveStatusReason || "Not redrivable" : null }, "Redrive");
          redrive.addEventListener("click", () => act(redrive, redriveExecution));
          buttons.push(redrive);
        }
        const again = h("button", { type: "button" }, "Start again");
        again.addEventListener("click", () => act(again, startAgain));
        buttons.push(again);
      }
      const exporter = h("button", { type: "button" }, "Export JSON");
      exporter.addEventListener("click", () => act(exporter, exportJson));
      buttons.push(exporter);
      actions.replaceChildren(...buttons);
    }

    async function act(button, fn) {
      button.disabled = true;
      try {
        await fn();
      } catch (error) {
        notice(error.message, "error");
      } finally {
        if (button.isConnected) button.disabled = false;
      }
    }

    async function stopExecution() {
      const sure = await confirm(`Stop the execution “${execution.name}”? The state it is in is cancelled and the execution ends as ABORTED.`, "Stop execution");
      if (!sure) return;
      await ctx.api.post(`${base}/stop`, {});
      notice(`Stopping ${execution.name}.`, "success");
      watch();
    }

    async function redriveExecution() {
      const sure = await confirm(
        `Redrive the execution “${execution.name}”? It goes on from the states that did not succeed, with their original input; states that succeeded are not run again.`,
        "Redrive",
      );
      if (!sure) return;
      await ctx.api.post(`${base}/redrive`);
      notice(`Redriven ${execution.name}.`, "success");
      watch();
    }

    async function startAgain() {
      const started = await ctx.api.postRaw("/executions", startRequest(execution.stateMachineArn, againInput(execution.input), againName(execution.name)));
      notice(`Started ${fmt.arnName(started.executionArn)} with the same input.`, "success");
      ctx.navigate(`#/executions/${segment(started.executionArn)}`);
    }

    async function exportJson() {
      await loadAllHistory();
      download(`${execution.name}.json`, {
        exportedAt: new Date().toISOString(),
        execution,
        history: history.events,
        graph: latestGraph,
      });
    }

    // ------------------------------------------------------------ graph and selected state
    const statePanel = h("aside", { className: "state-panel", "aria-label": "Selected state", "aria-live": "polite" }, h("p", { className: "muted" }, "Select a state in the graph to see its input, output, error and retries."));
    const graphHolder = h("div", { className: "graph-holder" });
    let latestGraph = null;
    let selected = null; // the node shown in the side panel
    const graph = graphView({
      label: `Graph of ${execution.name}`,
      onSelect(node) {
        selected = node;
        loadState().catch((error) => statePanel.replaceChildren(failure(error)));
      },
    });
    graphHolder.append(graph.element);

    async function loadGraph() {
      const answer = await ctx.api.get(`${base}/graph`);
      if (!ctx.current()) return;
      latestGraph = answer;
      graph.update(answer);
    }

    async function loadState() {
      if (!selected) return;
      const node = selected;
      let path;
      try {
        path = `${base}/states/${segment(node.id)}`;
      } catch (error) {
        // A state named "." or "..": said in the panel once, not again on every poll.
        if (statePanel.dataset.refused !== node.id) statePanel.replaceChildren(failure(error));
        statePanel.dataset.refused = node.id;
        return;
      }
      delete statePanel.dataset.refused;
      const state = await ctx.api.get(path);
      if (!ctx.current() || selected !== node) return;
      drawState(node, state);
    }

    function drawState(node, state) {
      const pairs = [
        ["Type", state.type || node.type],
        ["Status", badge(state.status || node.status)],
        ["Entered", fmt.time(state.enteredAt)],
        ["Exited", fmt.time(state.exitedAt)],
        // A state that failed has no exit: it ended when the execution did.
        ["Duration", state.enteredAt ? fmt.between(state.enteredAt, state.exitedAt || (state.status === "RUNNING" ? null : execution.stopDate)) : "—"],
        ["Retries", fmt.number(state.retries ?? 0)],
      ];
      // A Map's iterations, or the runs of a state inside a Map over them.
      if (state.iterations) pairs.push(["Iterations", iterationText(state.iterations)]);
      const parts = [h("h3", null, `State: ${state.name || node.name}`), h("dl", { className: "facts" }, pairs.map(([l, v]) => [h("dt", null, l), h("dd", null, v)]))];
      if (state.error || state.cause) {
        parts.push(
          h(
            "div",
            { className: "state-error", role: "group", "aria-label": "Error" },
            h("h4", null, "Error"),
            h("p", { className: "mono" }, state.error || "—"),
            state.cause ? [h("h4", null, "Cause"), code(fmt.json(state.cause), "Cause")] : null,
          ),
        );
      }
      parts.push(h("h4", null, "Input"), code(state.input === null || state.input === undefined ? "—" : fmt.json(state.input), "State input"));
      parts.push(h("h4", null, "Output"), code(state.output === null || state.output === undefined ? "—" : fmt.json(state.output), "State output"));
      statePanel.replaceChildren(...parts);
    }

    // ------------------------------------------------------------ event history
    const history = { events: [], nextToken: null, complete: false, loading: null };
    const steps = new Map(); // event id -> the state it belongs to
    let historyPage = 0;
    let failedOnly = false;
    let drawnSlice = null;
    const historyTable = h("div", { className: "history-table" });
    const historyInfo = h("span", { className: "muted", "aria-live": "polite" });
    const historyPrev = h("button", { type: "button" }, "Previous events");
    const historyNext = h("button", { type: "button" }, "Next events");
    const failedBox = h("input", { type: "checkbox", name: "failed-only" });
    const historyControls = h(
      "div",
      { className: "toolbar history-controls" },
      h("label", { className: "checkbox" }, failedBox, " Failed only"),
      h("span", { className: "spacer" }),
      historyPrev,
      historyInfo,
      historyNext,
    );

    function remember(events) {
      for (const event of events) {
        const details = event.stateEnteredEventDetails || event.stateExitedEventDetails;
        if (details && details.name) steps.set(event.id, details.name);
        else if (event.previousEventId && steps.has(event.previousEventId)) steps.set(event.id, steps.get(event.previousEventId));
      }
    }

    function addEvents(events) {
      const last = history.events.length ? history.events[history.events.length - 1].id : 0;
      const fresh = events.filter((e) => e.id > last).sort((a, b) => a.id - b.id);
      if (!fresh.length) return false;
      history.events.push(...fresh);
      remember(fresh);
      return true;
    }

    function shownEvents() {
      return failedOnly ? history.events.filter(isFailureEvent) : history.events;
    }

    function drawHistory(force = false) {
      const rows = shownEvents();
      const pages = Math.max(1, Math.ceil(rows.length / ROWS_PER_PAGE));
      historyPage = Math.min(historyPage, pages - 1);
      const slice = rows.slice(historyPage * ROWS_PER_PAGE, (historyPage + 1) * ROWS_PER_PAGE);
      const more = history.complete ? "" : "+";
      historyInfo.textContent = rows.length
        ? `Events ${fmt.number(historyPage * ROWS_PER_PAGE + 1)}–${fmt.number(historyPage * ROWS_PER_PAGE + slice.length)} of ${fmt.number(rows.length)}${more}`
        : history.complete ? "No events" : "Loading events…";
      historyPrev.disabled = historyPage === 0;
      historyNext.disabled = historyPage >= pages - 1;
      // The table is redrawn only when its rows change: a poll keeps open details and focus.
      const key = `${failedOnly}:${slice.length ? `${slice[0].id}-${slice[slice.length - 1].id}` : "none"}:${slice.length}`;
      if (!force && key === drawnSlice) return;
      drawnSlice = key;
      const started = history.events.length ? new Date(history.events[0].timestamp) : null;
      historyTable.replaceChildren(
        table({
          caption: failedOnly ? "Failed events of the execution's history" : "The execution's event history",
          columns: [
            { label: "ID", value: (e) => String(e.id), className: "num" },
            { label: "Type", value: (e) => (isFailureEvent(e) ? [h("span", { className: "event-flag" }, "Error: "), e.type] : e.type) },
            { label: "Step", value: (e) => steps.get(e.id) || "—" },
            { label: "Time since start", value: (e) => h("span", { title: fmt.time(e.timestamp) }, started ? fmt.duration(new Date(e.timestamp) - started) : "—"), className: "num" },
            { label: "Details", value: eventCell },
          ],
          rows: slice,
          empty: failedOnly ? (history.complete ? "No failed events." : "No failed events among those loaded so far.") : "No events yet.",
          rowProps: (e) => ({ className: isFailureEvent(e) ? "event-error" : null, dataset: { eventId: String(e.id) } }),
        }),
      );
    }

    function eventCell(event) {
      const details = eventDetails(event);
      if (!details) return "—";
      const label = details.error ? `${details.error}` : "Show";
      return h("details", null, h("summary", null, label), code(JSON.stringify(details, null, 2), `Details of event ${event.id}`));
    }

    historyPrev.addEventListener("click", () => {
      historyPage = Math.max(0, historyPage - 1);
      drawHistory();
    });
    historyNext.addEventListener("click", () => {
      historyPage += 1;
      drawHistory();
    });
    failedBox.addEventListener("change", () => {
      failedOnly = failedBox.checked;
      historyPage = 0;
      drawHistory(true);
    });

    // From the first event on, a page of 1,000 at a time, drawing as pages arrive.
    function loadAllHistory() {
      if (history.complete) return Promise.resolve();
      if (history.loading) return history.loading;
      history.loading = (async () => {
        try {
          while (!history.complete && ctx.current()) {
            const params = { maxResults: HISTORY_PAGE };
            if (history.nextToken) params.nextToken = history.nextToken;
            const page = await ctx.api.get(`${base}/history`, params);
            if (!ctx.current()) return;
            addEvents(page.events);
            history.nextToken = page.nextToken || null;
            history.complete = !page.nextToken;
            drawHistory();
          }
        } finally {
          history.loading = null;
        }
      })();
      return history.loading;
    }

    // While running: the newest events, newest first, back to the last one we hold.
    async function loadNewEvents() {
      if (!history.complete) return loadAllHistory();
      const last = history.events.length ? history.events[history.events.length - 1].id : 0;
      const found = [];
      let token = null;
      for (;;) {
        const params = { maxResults: HISTORY_TAIL, reverseOrder: true };
        if (token) params.nextToken = token;
        const page = await ctx.api.get(`${base}/history`, params);
        if (!ctx.current()) return undefined;
        found.push(...page.events.filter((e) => e.id > last));
        token = page.nextToken;
        const reachedKnown = page.events.some((e) => e.id <= last);
        if (reachedKnown || !token) break;
      }
      if (addEvents(found)) drawHistory();
      return undefined;
    }

    // ------------------------------------------------------------ data-pipeline runs
    async function loadPipeline() {
      let run;
      try {
        run = await ctx.api.get(`${base}/pipeline`);
      } catch (error) {
        // Not a pipeline run (or an API without the route): the page shows nothing of it.
        if (error.status === 404) {
          pipelineHolder.replaceChildren();
          return;
        }
        throw error;
      }
      if (!ctx.current()) return;
      pipelineHolder.replaceChildren(pipelineSection(run));
    }

    // ------------------------------------------------------------ live updates
    // Every tick reads the execution (one small call), so a change made elsewhere (a redrive, a
    // stop) shows within a second even on an ended run; the graph and history load only while it
    // runs or when it changed.
    let watching = ACTIVE.has(execution.status);

    function watch() {
      watching = true;
    }

    async function tick() {
      const before = execution;
      const now = await ctx.api.get(base);
      if (!ctx.current()) return;
      execution = now;
      const changed = now.status !== before.status || now.redriveCount !== before.redriveCount || now.stopDate !== before.stopDate;
      if (changed || ACTIVE.has(now.status)) drawSummary();
      if (!watching && !changed) return;
      await Promise.all([loadGraph(), loadNewEvents(), loadState()]);
      if (changed && !ACTIVE.has(now.status)) await loadPipeline();
      // Keep watching until it has ended; an action above sets it again.
      watching = ACTIVE.has(now.status);
    }

    // ------------------------------------------------------------ the page
    view.append(
      heading,
      section("Summary", summary, actions),
      pipelineHolder,
      section("Graph", graphLegend(), h("div", { className: "execution-graph" }, graphHolder, statePanel)),
      section("Input and output", inputOutput),
      section("Event history", historyControls, historyTable),
    );
    drawSummary();
    drawHistory(true);
    view.setAttribute("aria-busy", "true"); // until the graph, history and pipeline are in
    ctx.onLeave(() => view.removeAttribute("aria-busy"));
    const first = [
      loadGraph().catch((error) => graphHolder.replaceChildren(failure(error))),
      loadAllHistory().catch((error) => historyTable.replaceChildren(failure(error))),
      loadPipeline().catch((error) => pipelineHolder.replaceChildren(failure(error))),
    ];
    await Promise.all(first);
    if (!ctx.current()) return;
    view.removeAttribute("aria-busy");
    ctx.live(tick, 500);
  },
};

// A Lambda error's cause is a JSON document (errorMessage, stackTrace): shown pretty when it is one.
function causeOf(cause) {
  const pretty = fmt.json(cause);
  return pretty !== cause || cause.includes("\n") ? code(pretty, "Cause") : h("span", { className: "cause" }, cause);
}

function pipelineSection(run) {
  const parts = [];
  if (run.rows) {
    parts.push(
      h(
        "dl",
        { className: "facts pipeline-rows" },
        h("dt", null, "Rows read"),
        h("dd", null, fmt.number(run.rows.read)),
        h("dt", null, "Rows valid"),
        h("dd", null, fmt.number(run.rows.valid)),
        h("dt", null, "Rows rejected"),
        h("dd", null, fmt.number(run.rows.rejected)),
        h("dt", null, "Counted by"),
        h("dd", null, run.rows.source === "output" ? "the execution's output" : `the state ${run.rows.source}`),
      ),
    );
  }
  if (run.files.length) {
    parts.push(
      h("h3", null, "Result files"),
      h(
        "ul",
        { className: "pipeline-files" },
        run.files.map((file) =>
          h(
            "li",
            null,
            h("a", { href: file.download.url, rel: "noopener noreferrer", download: file.key.split("/").pop() }, `s3://${file.bucket}/${file.key}`),
            ` (${file.member}, ${fmt.bytes(file.size)})`,
          ),
        ),
      ),
      h("p", { className: "hint" }, `Links last ${Math.round((run.files[0].download.expiresIn || 300) / 60)} minutes; reload the page for new ones.`),
    );
  }
  if (run.rejects) {
    parts.push(
      h("h3", null, "Rejected rows"),
      code(run.rejects.lines.join("\n") || "(empty)", `The first lines of s3://${run.rejects.bucket}/${run.rejects.key}`),
      run.rejects.truncated ? h("p", { className: "hint" }, `The first ${run.rejects.lines.length} lines; the whole file is in the link above.`) : null,
    );
  }
  return section("Data pipeline", ...parts);
}
