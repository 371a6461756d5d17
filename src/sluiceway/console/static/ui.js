// Small DOM helpers shared by the pages. Values are only ever set as text (textContent or
// attributes), never as markup: an execution's input or a message body shows as what it is.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function assign(element, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "style") Object.assign(element.style, value); // CSSOM: allowed by the page's CSP
    else element.setAttribute(name === "className" ? "class" : name, value === true ? "" : String(value));
  }
  return element;
}

/** An HTML element: h("button", {type: "button", onClick}, "Stop"). */
export function h(tag, props, ...children) {
  return append(assign(document.createElement(tag), props), children);
}

/** An SVG element: svg("rect", {x: 1, y: 2, width: 3, height: 4}). */
export function svg(tag, props, ...children) {
  return append(assign(document.createElementNS(SVG_NS, tag), props), children);
}

export const fmt = {
  time(value) {
    if (!value) return "—";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString(undefined, { hour12: false });
  },
  duration(ms) {
    if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
    const minutes = Math.floor(ms / 60_000);
    return minutes < 60 ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  },
  between(start, end) {
    if (!start) return "—";
    return fmt.duration((end ? new Date(end) : new Date()) - new Date(start));
  },
  number(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString();
  },
  bytes(value) {
    if (value === null || value === undefined) return "—";
    const units = ["B", "KiB", "MiB", "GiB"];
    let size = Number(value);
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    return `${unit ? size.toFixed(1) : size} ${units[unit]}`;
  },
  /** JSON text pretty-printed when it parses, as given otherwise. */
  json(value) {
    if (value === null || value === undefined) return "";
    if (typeof value !== "string") return JSON.stringify(value, null, 2);
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  },
  /** The last part of an ARN (an execution's or a state machine's name). */
  arnName(arn) {
    return String(arn || "").split(":").pop();
  },
};

/** A status as a coloured badge with its name as text (colour is never the only cue). */
export function badge(status) {
  const value = String(status || "UNKNOWN");
  return h("span", { className: `badge status-${value.toLowerCase().replace(/_/g, "-")}` }, value.replace(/_/g, " "));
}

/**
 * A table: columns [{label, value(row) -> Node|string, className?}], rows, caption (read by
 * screen readers; visually hidden unless `showCaption`), empty: the text when there are no rows.
 */
export function table({ caption, columns, rows, empty = "Nothing here yet.", showCaption = false, rowProps }) {
  const head = h("thead", null, h("tr", null, columns.map((column) => h("th", { scope: "col", className: column.className }, column.label))));
  const body = h(
    "tbody",
    null,
    rows.length
      ? rows.map((row) => h("tr", rowProps ? rowProps(row) : null, columns.map((column) => h("td", { className: column.className }, column.value(row)))))
      : h("tr", null, h("td", { colspan: columns.length, className: "empty" }, empty)),
  );
  return h("table", { className: "data" }, h("caption", { className: showCaption ? "" : "visually-hidden" }, caption), head, body);
}

/** A labelled definition list: [[label, value], ...]. */
export function facts(pairs) {
  return h("dl", { className: "facts" }, pairs.map(([label, value]) => [h("dt", null, label), h("dd", null, value)]));
}

/** A section with a heading (h2 by default). */
export function section(title, ...children) {
  return h("section", { className: "panel", "aria-label": title }, h("h2", null, title), ...children);
}

/** A block of JSON or text, scrollable, focusable so that keyboard users can scroll it. */
export function code(text, label) {
  return h("pre", { className: "code", tabindex: "0", "aria-label": label || null }, text);
}

/** Announce a message in the page's live region (kind: "info" | "error" | "success"). */
export function notice(text, kind = "info") {
  const region = document.getElementById("notices");
  const item = h("p", { className: `notice notice-${kind}`, role: kind === "error" ? "alert" : null }, text);
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 10_000 : 5_000);
}

/** Ask before an action that changes the stack; resolves to true when confirmed. Uses a modal <dialog>. */
export function confirm(message, actionLabel) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", className: "primary" }, actionLabel);
    const no = h("button", { type: "button" }, "Cancel");
    const dialog = h("dialog", { className: "confirm", "aria-label": actionLabel }, h("p", null, message), h("div", { className: "actions" }, no, yes));
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => close(true));
    no.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

/** Save `value` as a JSON file. */
export function download(filename, value) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A form field with its label: field("Status", h("select", ...)). */
export function field(label, control) {
  const id = control.id || `field-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h("div", { className: "field" }, h("label", { for: id }, label), control);
}

/** An error from the API, shown where the data would be. */
export function failure(error) {
  return h("p", { className: "failure", role: "alert" }, error && error.message ? error.message : String(error));
}

/**
 * Previous and Next buttons (in `holder`) over AWS's nextToken, for a list a ctx.live poller draws:
 *   const paging = tokenPager(holder);
 *   const load = async (still) => {
 *     const page = await ctx.api.get("/topics", { nextToken: paging.token });
 *     if (!still()) return;
 *     paging.update(page.nextToken);
 *     ...draw page...
 *   };
 *   const poller = ctx.live(load);
 *   paging.refresh = poller.refresh;
 * A click changes `token` and refreshes through the poller, so the answer for the page chosen is
 * the only one drawn (an older poll still in flight is dropped). The buttons stay disabled until
 * that answer has come.
 */
export function tokenPager(holder, { previousLabel = "Previous page", nextLabel = "Next page" } = {}) {
  const before = []; // the tokens of the pages before the one shown
  let following = null;
  const previous = h("button", { type: "button", disabled: true }, previousLabel);
  const next = h("button", { type: "button", disabled: true }, nextLabel);
  holder.replaceChildren(previous, next);
  const paging = {
    /** The token of the page shown: null for the first. */
    token: null,
    /** The poller's refresh(); set once the poller exists. */
    refresh: () => undefined,
    /** What the answer for the page shown says comes next. */
    update(nextToken) {
      following = nextToken || null;
      previous.disabled = !before.length;
      next.disabled = !following;
    },
  };
  const turn = () => {
    previous.disabled = true;
    next.disabled = true;
    paging.refresh();
  };
  previous.addEventListener("click", () => {
    if (!before.length) return;
    paging.token = before.pop();
    turn();
  });
  next.addEventListener("click", () => {
    if (!following) return;
    before.push(paging.token);
    paging.token = following;
    following = null;
    turn();
  });
  return paging;
}
