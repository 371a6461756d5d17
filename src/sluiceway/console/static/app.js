// The console's shell: sign-in, navigation and a router over the URL's hash
// (#/executions/<arn>), so every page has a link and the browser's back button works.
//
// A page is a module under pages/ whose default export is
//   { title: "Executions", async render(view, route, ctx) }
// `view` is the <main> element, emptied; `route` is {parts: [...decoded path parts after the
// page's name], params: URLSearchParams}; `ctx` is:
//   api        the management API (api.js): ctx.api.get("/executions", {statusFilter: "FAILED"})
//   can(role)  whether the user may act ("operator") or manage users ("admin")
//   live(fn, ms = 500)  call fn(still) now and every ms while this page is shown and the tab
//              visible; a tick never starts while a call is in flight. Returns the first call's
//              promise, with refresh(): call fn at once (the user paged, filtered...), superseding a
//              call in flight. `still()` is true while the call is the newest of its poller and the
//              page is shown: check it after each await and draw nothing once it is false, so a
//              slow, older answer never overwrites a newer one. While calls throw, a lasting notice
//              says the page is not up to date (and since when); the polling goes on. A list paged
//              by AWS's nextToken uses ui.js's tokenPager, which pages through refresh().
//   navigate(hash, {replace})  go to another page ("#/executions?status=FAILED")
//   onLeave(fn)  run fn when the user leaves the page
//   current()  false once the user has left the page (stop async work that would draw on it)

import { api } from "./api.js";
import { AuthError, can, loadConfig, session, signIn, signOut } from "./auth.js";
import { failure, field, h } from "./ui.js";

const PAGES = {
  "": () => import("./pages/home.js"),
  executions: () => import("./pages/executions.js"),
  execution: () => import("./pages/execution.js"),
  queues: () => import("./pages/queues.js"),
  topics: () => import("./pages/topics.js"),
  rules: () => import("./pages/rules.js"),
  functions: () => import("./pages/functions.js"),
  resources: () => import("./pages/resources.js"),
};

const main = document.getElementById("main");
let generation = 0;
let leaving = [];

function parseHash() {
  const hash = window.location.hash.startsWith("#/") ? window.location.hash.slice(2) : "";
  const [path, query] = hash.split("?", 2);
  const parts = path.split("/").filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  let page = parts.shift() || "";
  // One execution is its own page: #/executions/<arn>.
  if (page === "executions" && parts.length) page = "execution";
  return { page, parts, params: new URLSearchParams(query || "") };
}

function leave() {
  generation += 1;
  for (const fn of leaving) {
    try {
      fn();
    } catch (error) {
      console.error(error);
    }
  }
  leaving = [];
  stale.clear();
}

function navigate(hash, { replace = false } = {}) {
  if (replace) {
    window.history.replaceState(null, "", hash);
    route();
  } else if (window.location.hash !== hash) {
    window.location.hash = hash; // the hashchange routes
  } else {
    route();
  }
}

// The lasting "not up to date" notice of the shown page: one line per failing poller.
const stale = {
  element: null,
  failing: new Map(), // poller -> its error's message
  since: null, // when the first of them began to fail

  fail(poller, message) {
    if (!this.failing.size) this.since = new Date();
    this.failing.set(poller, message);
    this.draw();
  },
  recover(poller) {
    if (this.failing.delete(poller)) this.draw();
  },
  clear() {
    this.failing.clear();
    this.draw();
  },
  draw() {
    if (!this.failing.size) {
      if (this.element) this.element.remove();
      this.element = null;
      return;
    }
    const at = this.since.toLocaleTimeString(undefined, { hour12: false });
    const text = `Not up to date since ${at}: ${[...new Set(this.failing.values())].join("; ")}. Retrying.`;
    if (!this.element) {
      this.element = h("p", { className: "notice notice-error", role: "alert", dataset: { stale: "" } });
      document.getElementById("notices").append(this.element);
    }
    if (this.element.textContent !== text) this.element.textContent = text;
  },
};

function context(mine) {
  const current = () => mine === generation;
  return {
    api,
    can,
    current,
    navigate,
    onLeave: (fn) => leaving.push(fn),
    live(fn, ms = 500) {
      const poller = {};
      let timer = null;
      let inFlight = 0;
      let newest = 0;
      const run = async () => {
        newest += 1;
        const call = newest;
        const still = () => current() && call === newest;
        inFlight += 1;
        try {
          await fn(still);
          if (still()) stale.recover(poller);
        } catch (error) {
          // A 401 signs out (api.js): the sign-in form says enough.
          if (still() && error.status !== 401) {
            // Not an answer of the API (a bug, the network): its stack, once per run of failures.
            if (error.status === undefined && !stale.failing.has(poller)) console.error(error);
            stale.fail(poller, error.message);
          }
        } finally {
          inFlight -= 1;
        }
      };
      const schedule = () => {
        clearTimeout(timer);
        if (current()) timer = setTimeout(tick, ms);
      };
      const tick = async () => {
        if (!current()) return;
        if (!inFlight && document.visibilityState === "visible") await run();
        schedule();
      };
      leaving.push(() => clearTimeout(timer));
      const refresh = async () => {
        if (!current()) return;
        clearTimeout(timer);
        await run();
        schedule();
      };
      return Object.assign(tick(), { refresh });
    },
  };
}

function showChrome(signedIn) {
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("who").hidden = !signedIn;
  const current = session();
  document.getElementById("who-name").textContent = current ? `${current.username} (${current.groups.join(", ") || "no role"})` : "";
}

function markNav(page) {
  const name = page === "execution" ? "executions" : page || "home";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  leave();
  const mine = generation;
  if (!session()) {
    showChrome(false);
    renderSignIn();
    return;
  }
  showChrome(true);
  const where = parseHash();
  markNav(where.page);
  const load = PAGES[where.page];
  main.replaceChildren();
  if (!load) {
    document.title = "Not found · Sluiceway";
    main.append(h("h1", null, "Not found"), h("p", null, "No such page. ", h("a", { href: "#/" }, "Go home")));
    return;
  }
  try {
    const module = await load();
    if (mine !== generation) return;
    document.title = `${module.default.title} · Sluiceway`;
    await module.default.render(main, where, context(mine));
  } catch (error) {
    if (mine !== generation) return;
    console.error(error);
    main.append(failure(error));
  }
}

function renderSignIn() {
  document.title = "Sign in · Sluiceway";
  const username = h("input", { name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const problem = h("p", { className: "failure", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", className: "primary" }, "Sign in");
  const form = h(
    "form",
    { className: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", { className: "hint" }, "A user of this stack's user pool: ", h("code", null, "sluiceway users add NAME --group operator")),
    field("User name", username),
    field("Password", password),
    problem,
    submit,
  );
  const fail = (error) => {
    problem.hidden = false;
    problem.textContent = error instanceof AuthError ? `${error.message}` : `Sign-in failed: ${error.message}`;
    submit.disabled = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.hidden = true;
    try {
      const result = await signIn(username.value.trim(), password.value);
      if (result.challenge) {
        renderNewPassword(result.respond);
        return;
      }
      route();
    } catch (error) {
      fail(error);
    }
  });
  main.replaceChildren(form);
  username.focus();
}

function renderNewPassword(respond) {
  const password = h("input", { name: "new-password", type: "password", autocomplete: "new-password", required: true });
  const problem = h("p", { className: "failure", role: "alert", hidden: true });
  const form = h(
    "form",
    { className: "sign-in", "aria-labelledby": "new-password-title" },
    h("h1", { id: "new-password-title" }, "Choose a new password"),
    h("p", { className: "hint" }, "Your password was set by an administrator; choose your own to go on."),
    field("New password", password),
    problem,
    h("button", { type: "submit", className: "primary" }, "Set password and sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await respond(password.value);
      route();
    } catch (error) {
      problem.hidden = false;
      problem.textContent = error.message;
    }
  });
  main.replaceChildren(form);
  password.focus();
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  window.location.hash = "#/";
  route();
});
// The skip link moves focus to the page, without touching the hash the router reads.
document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
window.addEventListener("sluiceway:signed-out", () => {
  if (!session()) route();
});

loadConfig()
  .then(route)
  .catch((error) => main.replaceChildren(failure(error)));
