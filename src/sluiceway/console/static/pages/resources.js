// Resources (#/resources?type=AWS::SQS::Queue): the app's stacks as CloudFormation knows them,
// each with its status, its outputs and its resources (logical id, type, physical id, status),
// filtered by resource type.

import { badge, facts, field, fmt, h, section, table } from "../ui.js";

// A stack's status changes on deploys: every two seconds is live enough.
const EVERY_MS = 2000;

function stackSection(stack, type) {
  const resources = type ? stack.resources.filter((r) => r.resourceType === type) : stack.resources;
  return h(
    "section",
    { className: "panel", "aria-label": `Stack ${stack.stackName}` },
    h("h2", null, stack.stackName, " ", badge(stack.stackStatus)),
    facts(
      [
        ["Stack ID", h("span", { className: "mono" }, stack.stackId)],
        stack.description ? ["Description", stack.description] : null,
        stack.stackStatusReason ? ["Status reason", stack.stackStatusReason] : null,
        ["Created", fmt.time(stack.creationTime)],
        ["Last updated", fmt.time(stack.lastUpdatedTime)],
      ].filter(Boolean),
    ),
    h("h3", null, "Outputs"),
    table({
      caption: `Outputs of ${stack.stackName}`,
      empty: "No output.",
      columns: [
        { label: "Key", value: (o) => o.outputKey },
        { label: "Value", className: "mono", value: (o) => o.outputValue || "" },
        { label: "Description", value: (o) => o.description || "" },
        { label: "Export name", value: (o) => o.exportName || "" },
      ],
      rows: stack.outputs,
    }),
    h("h3", null, "Resources", type ? ` of type ${type}` : "", ` (${fmt.number(resources.length)} of ${fmt.number(stack.resources.length)})`),
    table({
      caption: `Resources of ${stack.stackName}${type ? ` of type ${type}` : ""}`,
      empty: type ? "No resource of this type in this stack." : "No resource.",
      columns: [
        { label: "Logical ID", value: (r) => r.logicalResourceId },
        { label: "Type", value: (r) => r.resourceType },
        { label: "Physical ID", className: "mono", value: (r) => r.physicalResourceId || "—" },
        { label: "Status", value: (r) => [badge(r.resourceStatus), r.resourceStatusReason ? h("p", { className: "muted" }, r.resourceStatusReason) : null] },
      ],
      rows: resources,
      rowProps: (r) => ({ dataset: { logicalId: r.logicalResourceId } }),
    }),
  );
}

export default {
  title: "Resources",
  async render(view, route, ctx) {
    const type = route.params.get("type") || "";
    const choose = h("select", { name: "type" }, h("option", { value: "" }, "All types"));
    choose.addEventListener("change", () => ctx.navigate(choose.value ? `#/resources?type=${encodeURIComponent(choose.value)}` : "#/resources"));
    const stacks = h("div");
    view.append(h("div", { className: "toolbar" }, h("h1", null, "Resources"), h("span", { className: "spacer" }), field("Resource type", choose)), stacks);

    let drawn = null;
    await ctx.live(async (still) => {
      const data = await ctx.api.get("/resources");
      if (!still()) return;
      const key = JSON.stringify(data);
      if (key === drawn) return;
      drawn = key;
      const types = [...new Set(data.stacks.flatMap((s) => s.resources.map((r) => r.resourceType)))].sort();
      // The chosen type stays an option even when no stack has it any more, so the filter shows.
      if (type && !types.includes(type)) types.unshift(type);
      choose.replaceChildren(h("option", { value: "" }, "All types"), ...types.map((t) => h("option", { value: t, selected: t === type }, t)));
      stacks.replaceChildren(...(data.stacks.length ? data.stacks.map((stack) => stackSection(stack, type)) : [h("p", { className: "muted" }, "No stack: deploy the app (sluiceway up) to see its resources.")]));
    }, EVERY_MS);
  },
};
