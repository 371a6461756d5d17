// An execution's graph as SVG, from the graph API's laid-out nodes and edges
// (GET /executions/{arn}/graph): the server places every box, this module only draws it.
//
//   const graph = graphView({ onSelect(node) {...} });
//   view.append(graph.element);
//   graph.update(answer);  // again on every poll: statuses change in place, focus stays put
//   graph.select(id);
//
// Each state is a focusable button (Tab, then Enter or Space selects it); its status is written
// under its name and in its accessible name, never shown by colour alone.

import { h, svg } from "./ui.js";

/** The statuses a state can show, in the legend's order, with the words the graph uses. */
export const STATE_STATUSES = [
  ["SUCCEEDED", "Succeeded"],
  ["FAILED", "Failed"],
  ["CAUGHT_ERROR", "Caught error"],
  ["RUNNING", "Running"],
  ["CANCELLED", "Cancelled"],
  ["NOT_RUN", "Not run"],
];

const STATUS_WORDS = Object.fromEntries(STATE_STATUSES);
const TERMINAL_TYPES = new Set(["Start", "End"]);
const ZOOM_STEP = 1.25;
const ZOOM_MIN = 0.1;
const ZOOM_MAX = 3;
let instances = 0; // marker ids must be unique in the document

/** "status-caught-error": the class styles.css colours a status by. */
export function statusClass(status) {
  return `status-${String(status || "NOT_RUN").toLowerCase().replace(/_/g, "-")}`;
}

/** A Map's (or Parallel's) iterations in words: "3 / 5 succeeded, 1 failed, 1 running". */
export function iterationText(iterations) {
  if (!iterations) return "";
  const parts = [`${iterations.succeeded} / ${iterations.total} succeeded`];
  for (const key of ["failed", "running", "aborted"]) {
    if (iterations[key]) parts.push(`${iterations[key]} ${key}`);
  }
  return parts.join(", ");
}

function nodeLabel(node) {
  const words = STATUS_WORDS[node.status] || String(node.status || "").replace(/_/g, " ").toLowerCase();
  const extra = [];
  if (node.retries) extra.push(`${node.retries} ${node.retries === 1 ? "retry" : "retries"}`);
  if (node.iterations) extra.push(iterationText(node.iterations));
  return `${node.name}: ${words}${extra.length ? ` (${extra.join("; ")})` : ""}`;
}

// A layout's identity: when only statuses change, the drawing is updated in place.
function layoutKey(graph) {
  const nodes = graph.nodes.map((n) => `${n.id}@${n.x},${n.y},${n.width},${n.height}`).join("|");
  return `${graph.width}x${graph.height}#${nodes}#${graph.edges.length}`;
}

function pointsText(points) {
  return points.map(([x, y]) => `${x},${y}`).join(" ");
}

// Where an edge's label goes: halfway along the polyline, so labels of edges that leave the
// same Choice (all from one point) sit apart, where the edges have diverged.
function midpoint(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
  let left = total / 2;
  for (let i = 1; i < points.length; i += 1) {
    const [ax, ay] = points[i - 1];
    const [bx, by] = points[i];
    const length = Math.hypot(bx - ax, by - ay);
    if (length >= left && length > 0) return [ax + ((bx - ax) * left) / length, ay + ((by - ay) * left) / length];
    left -= length;
  }
  return points[points.length - 1] || [0, 0];
}

function truncate(text, pixels) {
  const fits = Math.max(4, Math.floor(pixels / 7)); // ~7 px per character at 12 px
  return text.length > fits ? `${text.slice(0, fits - 1)}…` : text;
}

function arrowMarker(id, className) {
  return svg(
    "marker",
    { id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse", markerUnits: "strokeWidth" },
    svg("path", { d: "M0,0 L10,5 L0,10 z", className: `arrowhead ${className}` }),
  );
}

/** The legend of the states' colours. */
export function graphLegend() {
  return h(
    "ul",
    { className: "legend graph-legend", "aria-label": "Legend of the states' colours" },
    STATE_STATUSES.map(([status, words]) => h("li", null, h("span", { className: `swatch ${statusClass(status)}`, "aria-hidden": "true" }), words)),
  );
}

/**
 * The graph's drawing with its zoom controls. `onSelect(node)` runs when a state is chosen
 * (a click, Enter or Space); `label` names the drawing for screen readers.
 */
export function graphView({ onSelect, label = "State machine graph" }) {
  instances += 1;
  const markerNext = `graph-arrow-${instances}`;
  const markerCatch = `graph-arrow-catch-${instances}`;
  const drawing = svg("svg", { className: "graph", role: "group", "aria-label": label, xmlns: "http://www.w3.org/2000/svg" });
  const wrap = h("div", { className: "graph-wrap" }, drawing);
  const zoomText = h("span", { className: "muted graph-zoom", "aria-live": "polite" }, "Zoom 100%");
  const zoomOut = h("button", { type: "button", "aria-label": "Zoom out" }, "−");
  const zoomIn = h("button", { type: "button", "aria-label": "Zoom in" }, "+");
  const fitButton = h("button", { type: "button" }, "Fit");
  const actual = h("button", { type: "button" }, "Actual size");
  const element = h(
    "div",
    { className: "graph-box" },
    h("div", { className: "graph-tools", role: "toolbar", "aria-label": "Graph zoom" }, zoomOut, zoomIn, fitButton, actual, zoomText),
    wrap,
  );

  let current = null;
  let key = null;
  let scale = 1;
  let userZoomed = false;
  let selected = null;
  const groups = new Map(); // node id -> {group, status text, iteration text, node}

  function applyScale(value) {
    scale = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, value));
    if (current) {
      drawing.setAttribute("width", String(Math.ceil(current.width * scale)));
      drawing.setAttribute("height", String(Math.ceil(current.height * scale)));
    }
    zoomText.textContent = `Zoom ${Math.round(scale * 100)}%`;
  }

  // Zoom to fit: the whole graph in the box's width and the window's height, never enlarged.
  function fit() {
    if (!current) return;
    const width = wrap.clientWidth || element.clientWidth || 800;
    const height = Math.max(240, Math.floor(window.innerHeight * 0.7) - 4);
    applyScale(Math.min(1, (width - 4) / current.width, height / current.height));
  }

  zoomIn.addEventListener("click", () => {
    userZoomed = true;
    applyScale(scale * ZOOM_STEP);
  });
  zoomOut.addEventListener("click", () => {
    userZoomed = true;
    applyScale(scale / ZOOM_STEP);
  });
  fitButton.addEventListener("click", () => {
    userZoomed = true;
    fit();
  });
  actual.addEventListener("click", () => {
    userZoomed = true;
    applyScale(1);
  });

  function choose(id) {
    const entry = groups.get(id);
    if (!entry) return;
    select(id);
    onSelect(entry.node);
  }

  function select(id) {
    selected = id;
    for (const [nodeId, entry] of groups) {
      const on = nodeId === id;
      entry.group.classList.toggle("selected", on);
      entry.group.setAttribute("aria-pressed", on ? "true" : "false");
    }
  }

  function drawNode(node, container) {
    const classes = ["node", statusClass(node.status)];
    if (container) classes.push("container");
    const group = svg("g", {
      className: classes.join(" "),
      tabindex: "0",
      role: "button",
      "aria-label": nodeLabel(node),
      "aria-pressed": node.id === selected ? "true" : "false",
      dataset: { id: node.id, name: node.name },
    });
    if (node.id === selected) group.classList.add("selected");
    group.append(svg("rect", { x: node.x, y: node.y, width: node.width, height: node.height, rx: 6, ry: 6 }));
    const cx = node.x + node.width / 2;
    let status;
    let iterations = null;
    if (container) {
      // The header (32 px, left by the server) holds the name, and the status when there is room;
      // a Map's footer holds its iteration counts (and the status, when the header had no room).
      const words = STATUS_WORDS[node.status] || node.status;
      const roomy = (node.name.length + node.type.length + 3 + words.length) * 7 + 30 <= node.width;
      const title = roomy ? `${node.name} (${node.type})` : node.name;
      group.append(svg("text", { x: node.x + 10, y: node.y + 20, className: "node-name" }, truncate(title, node.width - (roomy ? 80 : 20))));
      if (roomy || node.type !== "Map") {
        status = svg("text", { x: node.x + node.width - 10, y: node.y + (roomy ? 20 : node.height - 4), className: "node-status", "text-anchor": "end" }, words);
        group.append(status);
      }
      if (node.type === "Map") {
        iterations = svg("text", { x: cx, y: node.y + node.height - 8, className: "node-iterations", "text-anchor": "middle" }, footerText(node, !roomy));
        group.append(iterations);
      }
    } else {
      group.append(svg("text", { x: cx, y: node.y + 17, className: "node-name", "text-anchor": "middle" }, truncate(node.name, node.width - 12)));
      status = svg("text", { x: cx, y: node.y + node.height - 7, className: "node-status", "text-anchor": "middle" }, statusLine(node));
      group.append(status);
    }
    group.append(svg("title", null, nodeLabel(node)));
    group.addEventListener("click", () => choose(node.id));
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault(); // Space would scroll the page
        choose(node.id);
      }
    });
    groups.set(node.id, { group, status, iterations, node });
    return group;
  }

  function footerText(node, withStatus) {
    const counts = iterationText(node.iterations);
    const words = withStatus ? STATUS_WORDS[node.status] || node.status : "";
    return truncate([words, counts].filter(Boolean).join(" · "), node.width - 4);
  }

  function statusLine(node) {
    const words = STATUS_WORDS[node.status] || node.status;
    return node.retries ? `${words} · ${node.retries} ${node.retries === 1 ? "retry" : "retries"}` : words;
  }

  function drawTerminal(node) {
    return svg(
      "g",
      { className: "terminal", "aria-hidden": "true" },
      svg("rect", { x: node.x, y: node.y, width: node.width, height: node.height, rx: node.height / 2, ry: node.height / 2 }),
      svg("text", { x: node.x + node.width / 2, y: node.y + node.height / 2 + 4, "text-anchor": "middle" }, node.name),
    );
  }

  function drawEdge(edge) {
    const group = svg("g", { className: `edge-group edge-${edge.kind}`, "aria-hidden": "true" });
    group.append(
      svg("polyline", {
        className: `edge ${edge.kind}`,
        points: pointsText(edge.points),
        "marker-end": `url(#${edge.kind === "catch" ? markerCatch : markerNext})`,
      }),
    );
    if (edge.label) {
      const [x, y] = midpoint(edge.points);
      group.append(svg("text", { x: x + 4, y: y - 3, className: "edge-label" }, truncate(edge.label, 220), svg("title", null, edge.label)));
    }
    return group;
  }

  function rebuild(graph) {
    const focused = document.activeElement && drawing.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    groups.clear();
    const parents = new Set(graph.nodes.map((n) => n.parent).filter(Boolean));
    const depth = new Map();
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const depthOf = (node) => {
      if (!depth.has(node.id)) depth.set(node.id, node.parent && byId.has(node.parent) ? depthOf(byId.get(node.parent)) + 1 : 0);
      return depth.get(node.id);
    };
    // Containers first, outermost first, so their contents and edges draw on top of them.
    const containers = graph.nodes.filter((n) => parents.has(n.id) || n.type === "Map" || n.type === "Parallel").sort((a, b) => depthOf(a) - depthOf(b));
    const containerIds = new Set(containers.map((n) => n.id));
    const layers = [
      svg("defs", null, arrowMarker(markerNext, "next"), arrowMarker(markerCatch, "catch")),
      svg("g", { className: "containers" }, containers.map((n) => drawNode(n, true))),
      svg("g", { className: "edges" }, graph.edges.map(drawEdge)),
      svg(
        "g",
        { className: "states" },
        graph.nodes.filter((n) => !containerIds.has(n.id)).map((n) => (TERMINAL_TYPES.has(n.type) && !n.parent ? drawTerminal(n) : drawNode(n, false))),
      ),
    ];
    drawing.replaceChildren(...layers);
    drawing.setAttribute("viewBox", `0 0 ${graph.width} ${graph.height}`);
    if (focused && groups.has(focused)) groups.get(focused).group.focus();
  }

  function refresh(graph) {
    for (const node of graph.nodes) {
      const entry = groups.get(node.id);
      if (!entry) continue;
      const before = entry.node;
      entry.node = node;
      if (before.status !== node.status) {
        entry.group.classList.remove(statusClass(before.status));
        entry.group.classList.add(statusClass(node.status));
      }
      const label = nodeLabel(node);
      if (entry.group.getAttribute("aria-label") !== label) {
        entry.group.setAttribute("aria-label", label);
        entry.group.querySelector("title").textContent = label;
        const container = entry.group.classList.contains("container");
        if (entry.status) entry.status.textContent = container ? STATUS_WORDS[node.status] || node.status : statusLine(node);
        if (entry.iterations) entry.iterations.textContent = footerText(node, !entry.status);
      }
    }
  }

  function update(graph) {
    const next = layoutKey(graph);
    const first = current === null;
    current = graph;
    if (next !== key) {
      key = next;
      rebuild(graph);
      if (!userZoomed) {
        // The box's width is known once it is in the page: fit then.
        applyScale(1);
        requestAnimationFrame(fit);
      } else {
        applyScale(scale);
      }
    } else {
      refresh(graph);
    }
    return first;
  }

  return { element, update, select, fit, nodes: () => (current ? current.nodes : []) };
}
