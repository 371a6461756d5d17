// Rules (#/rules?bus=<name>): an event bus's rules, each with its event pattern or schedule, its
// state and its targets (with the input they get and their dead-letter queue).

import { segment } from "../api.js";
import { badge, code, field, fmt, h, section, table, tokenPager } from "../ui.js";

const EVERY_MS = 2000;
// ListRules answers at most 100 a page.
const PAGE_SIZE = 50;

function matches(rule) {
  const parts = [];
  if (rule.scheduleExpression) parts.push(h("p", null, "Schedule: ", h("code", null, rule.scheduleExpression)));
  if (rule.eventPattern) parts.push(code(fmt.json(rule.eventPattern), `Event pattern of ${rule.name}`));
  return parts.length ? parts : "—";
}

function targetInput(target) {
  if (target.input) return code(fmt.json(target.input), `Input to ${target.id}`);
  if (target.inputPath) return h("span", null, "Path ", h("code", null, target.inputPath));
  return "The matched event";
}

function targetLink(arn) {
  // A queue's target links to its page; other targets are named by ARN.
  const parts = String(arn).split(":");
  if (parts[2] === "sqs" && parts[5]) return h("a", { href: `#/queues/${segment(parts[5])}` }, arn);
  if (parts[2] === "lambda" && parts[5] === "function" && parts[6]) return h("a", { href: `#/functions/${segment(parts[6])}` }, arn);
  return arn;
}

function targets(rule) {
  if (!rule.targets.length) return h("span", { className: "muted" }, "None");
  return h(
    "ul",
    { className: "targets" },
    rule.targets.map((target) =>
      h(
        "li",
        null,
        h("strong", null, target.id),
        ": ",
        h("span", { className: "mono" }, targetLink(target.arn)),
        h("div", null, "Input: ", targetInput(target)),
        target.deadLetterArn ? h("div", null, "Dead-letter queue: ", h("span", { className: "mono" }, targetLink(target.deadLetterArn))) : null,
      ),
    ),
  );
}

export default {
  title: "Rules",
  async render(view, route, ctx) {
    const bus = route.params.get("bus") || "default";
    const prefix = route.params.get("prefix") || "";
    const buses = await ctx.api.get("/event-buses");
    if (!ctx.current()) return;
    const chooseBus = h(
      "select",
      { name: "bus" },
      buses.eventBuses.map((b) => h("option", { value: b.name, selected: b.name === bus }, b.name)),
    );
    const namePrefix = h("input", { name: "prefix", type: "search", value: prefix, maxlength: "64", spellcheck: "false" });
    const form = h("form", { className: "toolbar", role: "search" }, field("Event bus", chooseBus), field("Name starts with", namePrefix), h("button", { type: "submit" }, "Show"));
    const go = () => {
      const params = new URLSearchParams({ bus: chooseBus.value });
      if (namePrefix.value.trim()) params.set("prefix", namePrefix.value.trim());
      ctx.navigate(`#/rules?${params}`);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      go();
    });
    chooseBus.addEventListener("change", go);

    const listing = h("div");
    const pager = h("div", { className: "pager" });
    view.append(h("h1", null, "Rules"), form, section(`Rules of the ${bus} event bus`, listing), pager);

    const paging = tokenPager(pager);
    let drawn = null;
    const load = async (still) => {
      const page = await ctx.api.get("/rules", { eventBusName: bus, namePrefix: prefix, nextToken: paging.token, maxResults: PAGE_SIZE });
      if (!still()) return;
      paging.update(page.nextToken);
      const key = JSON.stringify(page);
      if (key === drawn) return;
      drawn = key;
      listing.replaceChildren(
        table({
          caption: `Rules of the ${bus} event bus`,
          empty: prefix ? "No rule's name starts with that." : "No rule on this bus.",
          columns: [
            { label: "Name", value: (r) => [h("strong", null, r.name), r.description ? h("p", { className: "muted" }, r.description) : null] },
            { label: "State", value: (r) => (r.state ? badge(r.state) : "—") },
            { label: "Pattern or schedule", value: matches },
            { label: "Targets", value: targets },
          ],
          rows: page.rules,
          rowProps: (r) => ({ dataset: { rule: r.name } }),
        }),
      );
    };
    const poller = ctx.live(load, EVERY_MS);
    paging.refresh = poller.refresh;
    await poller;
  },
};
