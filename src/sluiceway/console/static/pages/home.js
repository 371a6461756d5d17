// Home: is the system healthy? Headline figures over a window (runs, failures, dead-letter
// messages now, alarms in ALARM), their charts per minute from CloudWatch (GET /dashboard: metrics,
// and the alarms' states rebuilt from their history), and the newest run of each state machine,
// which shows a new run within a second: CloudWatch's
// metrics arrive later (a minute on AWS; the local endpoint feeds them every few seconds).

import { segment } from "../api.js";
import { liveChart } from "../charts.js";
import { badge, field, fmt, h, section, table } from "../ui.js";

const WINDOWS = [
  [15, "Last 15 minutes"],
  [60, "Last hour"],
  [360, "Last 6 hours"],
  [1440, "Last 24 hours"],
];
// The newest run of this many state machines: enough for an app, one call each per poll.
const MACHINES_SHOWN = 20;
// The newest runs are polled every second (a new run shows within one); the state machines they
// are of, listed every 10 s; the per-minute metrics (several CloudWatch calls), every 5 s.
const RUNS_EVERY_MS = 1000;
const MACHINES_EVERY_MS = 10_000;
const DASHBOARD_EVERY_MS = 5000;
const DEFAULT_MINUTES = 60;

/** The window in the link when it is one of the picker's, else the default (an hour). */
export function windowMinutes(text) {
  const value = Number(text);
  return WINDOWS.some(([minutes]) => minutes === value) ? value : DEFAULT_MINUTES;
}

function total(series) {
  return series.values.reduce((sum, value) => sum + (value || 0), 0);
}

function figure(label, value, href, note) {
  const body = [h("span", { className: "stat" }, value), h("span", { className: "stat-label" }, label), note ? h("span", { className: "muted" }, note) : null];
  return h("li", { className: "headline" }, href ? h("a", { href }, body) : h("div", null, body));
}

/** What sends its failures to a dead-letter queue: a queue, a rule's target or a function. */
function sourceLink(source) {
  if (source.type === "AWS::SQS::Queue") return h("a", { href: `#/queues/${segment(source.name)}` }, source.name);
  if (source.type === "AWS::Lambda::Function") return h("a", { href: `#/functions/${segment(source.name)}` }, `function ${source.name}`);
  if (source.type === "AWS::Events::Rule") {
    // <event bus>/<rule>: a partner bus's name has slashes of its own, a rule's name has none.
    const cut = source.name.lastIndexOf("/");
    const bus = source.name.slice(0, cut);
    const rule = source.name.slice(cut + 1);
    return h("a", { href: `#/rules?bus=${encodeURIComponent(bus)}&prefix=${encodeURIComponent(rule)}` }, `rule ${source.name}`);
  }
  return source.name;
}

function verdict(failures, deadLetters, alarms) {
  const problems = [];
  if (failures) problems.push(`${fmt.number(failures)} failed run${failures === 1 ? "" : "s"}`);
  if (deadLetters) problems.push(`${fmt.number(deadLetters)} dead-letter message${deadLetters === 1 ? "" : "s"}`);
  if (alarms) problems.push(`${fmt.number(alarms)} alarm${alarms === 1 ? "" : "s"} in ALARM`);
  return problems.length
    ? h("p", { className: "verdict verdict-bad" }, h("strong", null, "Needs attention: "), problems.join(", "), ".")
    : h("p", { className: "verdict verdict-ok" }, h("strong", null, "Healthy: "), "no failed run, no dead-letter message, no alarm in ALARM.");
}

export default {
  title: "Home",
  async render(view, route, ctx) {
    const minutes = windowMinutes(route.params.get("minutes"));
    const choose = h(
      "select",
      { name: "minutes" },
      WINDOWS.map(([value, label]) => h("option", { value: String(value), selected: value === minutes }, label)),
    );
    choose.addEventListener("change", () => ctx.navigate(`#/?minutes=${choose.value}`));

    const status = h("div", { className: "verdict-holder", role: "status", "aria-live": "polite" }, h("p", { className: "loading" }, "Loading…"));
    const headlines = h("ul", { className: "headlines", "aria-label": "Headline figures" });
    const runs = liveChart();
    const failures = liveChart();
    const depths = liveChart();
    const alarmStates = liveChart();
    const lag = h("div");
    const lagChart = liveChart();
    const deadLetters = h("div");
    const alarms = h("div");
    const latest = h("div");

    view.append(
      h("div", { className: "toolbar" }, h("h1", null, "Is the system healthy?"), h("span", { className: "spacer" }), field("Window", choose)),
      status,
      headlines,
      h(
        "div",
        { className: "grid charts-grid" },
        section("Runs per minute", runs.element),
        section("Failures per minute", failures.element),
        section("Dead-letter queue depth", depths.element),
        section("Alarms in ALARM", alarmStates.element),
        section("Event lag", lag),
      ),
      section("Newest runs", latest),
      h("div", { className: "grid tables-grid" }, section("Dead-letter queues", deadLetters), section("Alarms", alarms)),
    );

    let drawn = null;
    const dashboard = async (still) => {
      const data = await ctx.api.get("/dashboard", { minutes });
      if (!still()) return;
      const key = JSON.stringify(data);
      if (key === drawn) return;
      drawn = key;
      const { executions, window } = data;
      const stamps = executions.started.timestamps;
      const started = total(executions.started);
      const failed = total(executions.failed) + total(executions.timedOut);
      const inDeadLetters = data.deadLetterQueues.reduce((sum, queue) => sum + (queue.messages || 0), 0);
      const alarming = data.alarmCounts.ALARM || 0;
      const span = WINDOWS.find(([value]) => value === window.minutes);
      const over = span ? span[1].toLowerCase() : `last ${window.minutes} minutes`;

      status.replaceChildren(verdict(failed, inDeadLetters, alarming));
      headlines.replaceChildren(
        figure(`Runs started, ${over}`, fmt.number(started), "#/executions"),
        figure(`Failed or timed out, ${over}`, fmt.number(failed), "#/executions?statusFilter=FAILED"),
        figure("Dead-letter messages now", fmt.number(inDeadLetters), "#/queues"),
        figure("Alarms in ALARM", fmt.number(alarming), null, `${fmt.number(data.alarms.length)} alarm${data.alarms.length === 1 ? "" : "s"} in all`),
      );
      runs.update({
        title: "Runs per minute",
        timestamps: stamps,
        series: [
          { label: "Started", values: executions.started.values },
          { label: "Succeeded", values: executions.succeeded.values, tone: "ok" },
        ],
      });
      failures.update({
        title: "Failures per minute",
        kind: "bar",
        timestamps: stamps,
        series: [
          { label: "Failed", values: executions.failed.values, tone: "bad" },
          { label: "Timed out", values: executions.timedOut.values, tone: "warn" },
          { label: "Aborted", values: executions.aborted.values, tone: "idle" },
        ],
      });
      depths.update({
        title: "Dead-letter queue depth (highest per minute)",
        timestamps: stamps,
        totals: false,
        series: data.deadLetterQueues.map((queue) => ({ label: queue.name, values: queue.depth.values })),
      });
      alarmStates.update({
        title: "Alarms in ALARM per minute (at some moment of the minute)",
        kind: "bar",
        timestamps: data.alarmSeries.alarm.timestamps,
        // Counts of alarms, not events: a total over the window would count one alarm once a minute.
        totals: false,
        series: [
          { label: "In ALARM", values: data.alarmSeries.alarm.values, tone: "bad" },
          { label: "Insufficient data", values: data.alarmSeries.insufficientData.values, tone: "idle" },
        ],
      });
      if (data.eventLag) {
        if (!lag.contains(lagChart.element)) lag.replaceChildren(lagChart.element);
        lagChart.update({
          title: "Event lag (ingestion to invocation, average)",
          timestamps: data.eventLag.timestamps,
          series: [{ label: "Lag", values: data.eventLag.values }],
          totals: false,
          format: (value) => fmt.duration(value),
        });
      } else {
        lag.replaceChildren(
          h("p", { className: "muted" }, "No event has reached a rule's target yet: the lag (AWS/Events IngestionToInvocationStartLatency) shows once one has."),
        );
      }
      deadLetters.replaceChildren(
        table({
          caption: "Dead-letter queues and their depth now",
          empty: "No queue has a redrive policy.",
          columns: [
            { label: "Queue", value: (q) => h("a", { href: `#/queues/${segment(q.name)}` }, q.name) },
            { label: "Messages", className: "num", value: (q) => (q.messages === null ? "missing" : fmt.number(q.messages)) },
            { label: "Receives the failures of", value: (q) => q.sources.map((source, n) => [n ? ", " : "", sourceLink(source)]) },
          ],
          rows: data.deadLetterQueues,
        }),
      );
      alarms.replaceChildren(
        table({
          caption: "Alarms, those in ALARM first",
          empty: "No CloudWatch alarm.",
          columns: [
            { label: "Alarm", value: (a) => a.alarmName },
            { label: "State", value: (a) => badge(a.stateValue) },
            { label: "Since", value: (a) => fmt.time(a.stateUpdatedTimestamp) },
            { label: "Reason", value: (a) => a.stateReason || "" },
          ],
          rows: data.alarms,
        }),
      );
    };

    let newest = null;
    let machines = null;
    let listedAt = 0;
    const newestRuns = async (still) => {
      if (machines === null || Date.now() - listedAt >= MACHINES_EVERY_MS) {
        machines = await ctx.api.get("/state-machines", { maxResults: MACHINES_SHOWN });
        listedAt = Date.now();
      }
      const asked = machines;
      const settled = await Promise.allSettled(
        asked.stateMachines.map(async (machine) => {
          const page = await ctx.api.get("/executions", { stateMachineArn: machine.stateMachineArn, maxResults: 1 });
          return { machine, execution: page.executions[0] || null };
        }),
      );
      // A state machine deleted since the listing answers 404: list them again on the next poll.
      if (settled.some((result) => result.status === "rejected" && result.reason.status === 404)) listedAt = 0;
      const failed = settled.find((result) => result.status === "rejected" && result.reason.status !== 404);
      if (failed) throw failed.reason;
      const rows = settled.filter((result) => result.status === "fulfilled").map((result) => result.value);
      if (!still()) return;
      const key = JSON.stringify(rows);
      if (key === newest) return;
      newest = key;
      latest.replaceChildren(
        table({
          caption: "The newest run of each state machine",
          empty: "No state machine.",
          columns: [
            { label: "State machine", value: (r) => h("a", { href: `#/executions?stateMachineArn=${encodeURIComponent(r.machine.stateMachineArn)}` }, r.machine.name) },
            { label: "Newest run", value: (r) => (r.execution ? h("a", { href: `#/executions/${segment(r.execution.executionArn)}` }, r.execution.name) : "none yet") },
            { label: "Status", value: (r) => (r.execution ? badge(r.execution.status) : "") },
            { label: "Started", value: (r) => (r.execution ? fmt.time(r.execution.startDate) : "") },
          ],
          rows,
        }),
        ...(asked.nextToken ? [h("p", { className: "muted" }, `The first ${MACHINES_SHOWN} state machines; `, h("a", { href: "#/executions" }, "all executions"))] : []),
      );
    };

    await Promise.all([ctx.live(dashboard, DASHBOARD_EVERY_MS), ctx.live(newestRuns, RUNS_EVERY_MS)]);
  },
};
