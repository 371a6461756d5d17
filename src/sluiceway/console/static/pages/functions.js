// Functions (#/functions): each Lambda function with its invocations, errors, throttles and
// durations over a window (AWS/Lambda metrics); one function (#/functions/<name>): those per
// minute as charts and its newest log lines, updating live.

import { segment } from "../api.js";
import { liveChart } from "../charts.js";
import { facts, failure, field, fmt, h, section, table, tokenPager } from "../ui.js";

const WINDOWS = [
  [15, "Last 15 minutes"],
  [60, "Last hour"],
  [360, "Last 6 hours"],
  [1440, "Last 24 hours"],
];
// Lambda lists at most 50 functions a page.
const PAGE_SIZE = 50;
const LOG_LINES = 100;
// Metrics are per minute and a page of them costs CloudWatch calls: once a second is live enough.
const EVERY_MS = 1000;
const DEFAULT_MINUTES = 60;

function windowPicker(ctx, minutes, base) {
  const choose = h(
    "select",
    { name: "minutes" },
    WINDOWS.map(([value, label]) => h("option", { value: String(value), selected: value === minutes }, label)),
  );
  choose.addEventListener("change", () => ctx.navigate(`${base}?minutes=${choose.value}`));
  return field("Window", choose);
}

/** The window in the link when it is one of the picker's, else the default (an hour). */
export function windowMinutes(text) {
  const value = Number(text);
  return WINDOWS.some(([minutes]) => minutes === value) ? value : DEFAULT_MINUTES;
}

function windowLabel(minutes) {
  const known = WINDOWS.find(([value]) => value === minutes);
  return known ? known[1].toLowerCase() : `last ${minutes} minutes`;
}

function ms(value) {
  return value === null || value === undefined ? "—" : fmt.duration(value);
}

async function renderList(view, route, ctx) {
  const minutes = windowMinutes(route.params.get("minutes"));
  const listing = h("div");
  const pager = h("div", { className: "pager" });
  view.append(h("div", { className: "toolbar" }, h("h1", null, "Functions"), h("span", { className: "spacer" }), windowPicker(ctx, minutes, "#/functions")), listing, pager);

  const paging = tokenPager(pager);
  let drawn = null;
  const load = async (still) => {
    const page = await ctx.api.get("/functions", { minutes, nextToken: paging.token, maxResults: PAGE_SIZE });
    if (!still()) return;
    paging.update(page.nextToken);
    const key = JSON.stringify([page.functions, page.nextToken]);
    if (key === drawn) return;
    drawn = key;
    const over = windowLabel(page.window.minutes);
    listing.replaceChildren(
      table({
        caption: `Functions and their metrics over the ${over}`,
        showCaption: true,
        empty: "No function.",
        columns: [
          { label: "Name", value: (f) => h("a", { href: `#/functions/${segment(f.functionName)}?minutes=${minutes}` }, f.functionName) },
          { label: "Runtime", value: (f) => f.runtime || "—" },
          { label: "Invocations", className: "num", value: (f) => fmt.number(f.metrics.invocations) },
          { label: "Errors", className: "num", value: (f) => fmt.number(f.metrics.errors) },
          { label: "Throttles", className: "num", value: (f) => fmt.number(f.metrics.throttles) },
          { label: "Average duration", className: "num", value: (f) => ms(f.metrics.durationAverage) },
          { label: "Maximum duration", className: "num", value: (f) => ms(f.metrics.durationMaximum) },
        ],
        rows: page.functions,
        rowProps: (f) => ({ dataset: { function: f.functionName } }),
      }),
    );
  };
  const poller = ctx.live(load, EVERY_MS);
  paging.refresh = poller.refresh;
  await poller;
}

async function renderFunction(view, name, route, ctx) {
  const minutes = windowMinutes(route.params.get("minutes"));
  view.append(
    h("p", { className: "crumbs" }, h("a", { href: "#/functions" }, "Functions")),
    h("div", { className: "toolbar" }, h("h1", null, name), h("span", { className: "spacer" }), windowPicker(ctx, minutes, `#/functions/${segment(name)}`)),
  );
  const totals = h("ul", { className: "headlines", "aria-label": "Totals over the window" });
  const details = h("div");
  const calls = liveChart();
  const durations = liveChart();
  const logs = h("div", { className: "log-lines" });
  const logGroup = h("p", { className: "muted" });
  view.append(
    totals,
    h("div", { className: "grid charts-grid" }, section("Invocations, errors and throttles per minute", calls.element), section("Duration per minute", durations.element)),
    section("Recent log lines", logGroup, logs),
    section("Configuration", details),
  );

  let drawn = null;
  const load = async (still = ctx.current) => {
    const data = await ctx.api.get(`/functions/${segment(name)}`, { minutes, limit: LOG_LINES });
    if (!still()) return;
    const key = JSON.stringify(data);
    if (key === drawn) return;
    drawn = key;
    const m = data.metrics;
    const over = windowLabel(data.window.minutes);
    totals.replaceChildren(
      ...[
        ["Invocations", fmt.number(m.invocations)],
        ["Errors", fmt.number(m.errors)],
        ["Throttles", fmt.number(m.throttles)],
        ["Average duration", ms(m.durationAverage)],
        ["Maximum duration", ms(m.durationMaximum)],
      ].map(([label, value]) => h("li", { className: "headline" }, h("span", { className: "stat" }, value), h("span", { className: "stat-label" }, `${label}, ${over}`))),
    );
    const s = data.series;
    calls.update({
      title: "Invocations, errors and throttles per minute",
      kind: "bar",
      timestamps: s.invocations.timestamps,
      series: [
        { label: "Invocations", values: s.invocations.values },
        { label: "Errors", values: s.errors.values, tone: "bad" },
        { label: "Throttles", values: s.throttles.values, tone: "warn" },
      ],
    });
    durations.update({
      title: "Duration per minute",
      timestamps: s.durationAverage.timestamps,
      totals: false,
      format: (value) => fmt.duration(value),
      series: [
        { label: "Average", values: s.durationAverage.values },
        { label: "Maximum", values: s.durationMaximum.values },
      ],
    });
    logGroup.replaceChildren(`The newest ${LOG_LINES} lines of the ${over} in `, h("code", null, data.logGroupName), ", newest last.");
    logs.replaceChildren(
      table({
        caption: `Log lines of ${name}`,
        empty: "No log line in this window.",
        columns: [
          { label: "Time", value: (line) => fmt.time(line.timestamp) },
          { label: "Message", className: "mono", value: (line) => line.message },
          { label: "Log stream", className: "mono", value: (line) => line.logStreamName || "—" },
        ],
        rows: data.logEvents,
      }),
    );
    details.replaceChildren(
      facts([
        ["ARN", h("span", { className: "mono" }, data.functionArn)],
        ["Runtime", data.runtime || "—"],
        ["Handler", data.handler || "—"],
        ["Memory", data.memorySize ? `${fmt.number(data.memorySize)} MB` : "—"],
        ["Timeout", data.timeout ? `${fmt.number(data.timeout)} s` : "—"],
        ["Last modified", data.lastModified ? fmt.time(data.lastModified.replace(/([+-]\d{2})(\d{2})$/, "$1:$2")) : "—"],
      ]),
    );
  };
  try {
    await load();
  } catch (error) {
    // No such function (or no access): said once, where its data would be, and no polling.
    view.append(failure(error));
    return;
  }
  await ctx.live(load, EVERY_MS);
}

export default {
  title: "Functions",
  async render(view, route, ctx) {
    if (route.parts.length) return renderFunction(view, route.parts[0], route, ctx);
    return renderList(view, route, ctx);
  },
};
