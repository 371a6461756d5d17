// Per-minute charts in SVG, drawn from the API's series ({timestamps, values}, one value a minute).
//
// Each chart is a <figure>: the SVG (role="img", its aria-label a one-sentence summary), a legend
// giving each series' latest value and total, and a visually hidden table of every value, so a
// screen reader gets the numbers rather than the drawing. Hovering a minute shows its values
// through an SVG <title> (the browser's own tooltip: no script, nothing the CSP would refuse).
// A null value is a minute with no data point (or the current minute, not over yet): lines break
// there rather than fall to zero.

import { h, svg } from "./ui.js";

const WIDTH = 520;
const HEIGHT = 190;
const PAD = { top: 10, right: 14, bottom: 24, left: 58 };
const X_TICKS = 6;
// Line patterns besides colour, so two series stay apart without colour vision.
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2"];

function clock(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
}

/** A round top for the y axis (1, 2, 5 × a power of ten), at least 1. */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** A series' colour class: its tone when it has one (failures red), else the palette's next. */
function colour(item, index) {
  return item.tone ? `tone-${item.tone}` : `series-${index % DASHES.length}`;
}

function present(values) {
  return values.filter((value) => value !== null && value !== undefined && !Number.isNaN(value));
}

/** How one series reads in text: its latest value, total (counts) or peak (the rest). */
function describe(item, format, totals) {
  const known = present(item.values);
  if (!known.length) return `${item.label}: no data`;
  const latest = [...item.values].reverse().find((value) => value !== null && value !== undefined);
  const parts = [`latest ${format(latest)}`];
  if (totals) parts.push(`total ${format(known.reduce((a, b) => a + b, 0))}`);
  parts.push(`peak ${format(Math.max(...known))}`);
  return `${item.label}: ${parts.join(", ")}`;
}

/** The path of a line through the known values; a null starts a new segment. */
function linePath(values, x, y) {
  let path = "";
  let drawing = false;
  values.forEach((value, index) => {
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${x(index).toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/**
 * A chart of per-minute series.
 *   title      what it shows ("Runs per minute"), the caption of its table and its name
 *   timestamps the minutes' starts (ISO strings), oldest first
 *   series     [{label, values, tone?}], values aligned with timestamps; tone "ok" | "bad" |
 *              "warn" | "idle" colours a series by meaning (failures red), else by its place
 *   kind       "line" (default) or "bar" (bars side by side in each minute)
 *   format     value -> text (default: a number); unit is part of what it writes
 *   totals     whether a total over the window means something (counts: yes; depths, durations: no)
 */
export function chart({ title, timestamps, series, kind = "line", format = (value) => Number(value).toLocaleString(), totals = true }) {
  const count = timestamps.length;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const all = series.flatMap((item) => present(item.values));
  const top = niceMax(all.length ? Math.max(...all) : 0);
  const slot = plotWidth / Math.max(count, 1);
  const x = (index) => PAD.left + slot * index + slot / 2;
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;

  // A middle tick only where it is a round value: counts of 0.5 would mean nothing.
  const ticks = Number.isInteger(top / 2) || top < 1 ? [0, top / 2, top] : [0, top];
  const axes = svg(
    "g",
    { className: "axes", "aria-hidden": "true" },
    ticks.map((tick) => [
      svg("line", { className: "grid-line", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick) }),
      svg("text", { x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)),
    ]),
    svg("line", { className: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }),
    Array.from({ length: Math.min(X_TICKS, count) }, (_, n) => {
      const index = count <= X_TICKS ? n : Math.round((n * (count - 1)) / (X_TICKS - 1));
      return svg("text", { x: x(index), y: HEIGHT - 6, "text-anchor": "middle" }, clock(timestamps[index]));
    }),
  );

  const marks = series.map((item, s) => {
    const className = `series ${colour(item, s)}`;
    if (kind === "bar") {
      const width = Math.max(1, (slot * 0.8) / series.length);
      return svg(
        "g",
        { className },
        item.values.map((value, index) =>
          value ? svg("rect", { x: PAD.left + slot * index + slot * 0.1 + width * s, y: y(value), width, height: y(0) - y(value) }) : null,
        ),
      );
    }
    const single = item.values.map((value, index) => {
      // A lone point between gaps draws no line: a dot shows it.
      const before = item.values[index - 1];
      const after = item.values[index + 1];
      const alone = value !== null && value !== undefined && (before === null || before === undefined) && (after === null || after === undefined);
      return alone ? svg("circle", { cx: x(index), cy: y(value), r: 2.5 }) : null;
    });
    return svg("g", { className }, svg("path", { d: linePath(item.values, x, y), "stroke-dasharray": DASHES[s % DASHES.length] || null }), single);
  });

  // One hover target per minute, whose <title> is the browser's tooltip.
  const hover = svg(
    "g",
    { className: "hover" },
    timestamps.map((stamp, index) =>
      svg(
        "rect",
        { x: PAD.left + slot * index, y: PAD.top, width: slot, height: plotHeight },
        svg("title", null, `${clock(stamp)} — ${series.map((item) => `${item.label} ${item.values[index] === null || item.values[index] === undefined ? "no data" : format(item.values[index])}`).join(", ")}`),
      ),
    ),
  );

  const summary = `${title}, ${count} minutes from ${count ? clock(timestamps[0]) : "—"}: ${series.map((item) => describe(item, format, totals)).join("; ")}.`;
  const drawing = svg(
    "svg",
    { className: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, preserveAspectRatio: "xMidYMid meet" },
    axes,
    marks,
    hover,
    all.length ? null : svg("text", { className: "chart-empty", x: PAD.left + plotWidth / 2, y: PAD.top + plotHeight / 2, "text-anchor": "middle" }, "No data in this window"),
  );

  const legend = h(
    "ul",
    { className: "legend", "aria-hidden": "true" },
    series.map((item, s) => h("li", null, h("span", { className: `swatch ${colour(item, s)}` }), describe(item, format, totals))),
  );

  // Hidden in a box of its own: a table grows to its content whatever width it is given.
  const values = h(
    "table",
    null,
    h("caption", null, title),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Minute"), series.map((item) => h("th", { scope: "col" }, item.label)))),
    h(
      "tbody",
      null,
      timestamps.map((stamp, index) =>
        h(
          "tr",
          null,
          h("th", { scope: "row" }, clock(stamp)),
          series.map((item) => h("td", null, item.values[index] === null || item.values[index] === undefined ? "no data" : format(item.values[index]))),
        ),
      ),
    ),
  );

  return h("figure", { className: "chart-figure", "aria-label": title }, drawing, legend, h("div", { className: "visually-hidden" }, values));
}

/**
 * A chart that redraws only when its data changed: a page polls every half second, and
 * redrawing the same chart would lose the tooltip under the pointer for nothing.
 */
export function liveChart() {
  const holder = h("div", { className: "chart-holder" });
  let last = null;
  return {
    element: holder,
    update(options) {
      const key = JSON.stringify([options.title, options.timestamps, options.series]);
      if (key === last) return;
      last = key;
      holder.replaceChildren(chart(options));
    },
  };
}
