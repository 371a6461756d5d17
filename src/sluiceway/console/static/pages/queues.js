// Queues (#/queues) and one queue (#/queues/<name>): depths as SQS counts them (available, in
// flight, delayed), each queue's redrive policy and its dead-letter queue's depth, updating live.
// A dead-letter queue's page lets an operator preview its messages and redrive them.

import { ApiError, segment } from "../api.js";
import { badge, code, confirm, facts, failure, field, fmt, h, notice, section, table, tokenPager } from "../ui.js";

// ListQueues answers at most 1000 a page; a page of 100 keeps polling it cheap.
const PAGE_SIZE = 100;

function queueLink(name) {
  return h("a", { href: `#/queues/${segment(name)}` }, name);
}

/** What sends its failures here: a queue (its redrive policy), a rule's target or a function (DeadLetterConfig). */
function senderLink(sender) {
  if (sender.type === "AWS::SQS::Queue") return queueLink(sender.name);
  if (sender.type === "AWS::Lambda::Function") return h("a", { href: `#/functions/${segment(sender.name)}` }, `function ${sender.name}`);
  if (sender.type === "AWS::Events::Rule") {
    // <event bus>/<rule>: a partner bus's name has slashes of its own, a rule's name has none.
    const cut = sender.name.lastIndexOf("/");
    const query = `bus=${encodeURIComponent(sender.name.slice(0, cut))}&prefix=${encodeURIComponent(sender.name.slice(cut + 1))}`;
    return h("a", { href: `#/rules?${query}` }, `rule ${sender.name}`);
  }
  return sender.name;
}

function depth(value) {
  return value === null || value === undefined ? "—" : fmt.number(value);
}

async function renderList(view, route, ctx) {
  const prefix = route.params.get("prefix") || "";
  const filter = h("input", { name: "prefix", type: "search", value: prefix, maxlength: "80", spellcheck: "false" });
  const form = h("form", { className: "toolbar", role: "search" }, field("Name starts with", filter), h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(filter.value.trim() ? `#/queues?prefix=${encodeURIComponent(filter.value.trim())}` : "#/queues");
  });
  const listing = h("div", { className: "queue-list" });
  const pager = h("div", { className: "pager" });
  view.append(h("h1", null, "Queues"), form, listing, pager);

  const paging = tokenPager(pager);
  let drawn = null;
  const load = async (still) => {
    const page = await ctx.api.get("/queues", { prefix, nextToken: paging.token, maxResults: PAGE_SIZE });
    if (!still()) return;
    paging.update(page.nextToken);
    const key = JSON.stringify(page);
    if (key === drawn) return;
    drawn = key;
    listing.replaceChildren(
      table({
        caption: prefix ? `Queues whose name starts with ${prefix}` : "Queues",
        empty: prefix ? "No queue's name starts with that." : "No queue yet.",
        columns: [
          { label: "Name", value: (q) => queueLink(q.name) },
          { label: "Type", value: (q) => (q.fifo ? "FIFO" : "Standard") },
          { label: "Messages available", className: "num", value: (q) => depth(q.messages) },
          { label: "Messages in flight", className: "num", value: (q) => depth(q.inFlight) },
          { label: "Messages delayed", className: "num", value: (q) => depth(q.delayed) },
          { label: "Dead-letter queue", value: (q) => (q.deadLetterQueue ? queueLink(q.deadLetterQueue.name) : "—") },
          { label: "Dead-letter messages", className: "num", value: (q) => (q.deadLetterQueue ? depth(q.deadLetterQueue.messages) : "—") },
        ],
        rows: page.queues,
        rowProps: (q) => ({ dataset: { queue: q.name } }),
      }),
    );
  };
  const poller = ctx.live(load);
  paging.refresh = poller.refresh;
  await poller;
}

function previewTable(messages) {
  return table({
    caption: "Messages received for the preview",
    showCaption: false,
    empty: "No message was received: the queue is empty (or its messages are in flight).",
    columns: [
      { label: "Message ID", className: "mono", value: (m) => m.messageId },
      { label: "Sent", value: (m) => fmt.time(m.sentTimestamp) },
      { label: "Receive count", className: "num", value: (m) => depth(m.approximateReceiveCount) },
      { label: "Size", className: "num", value: (m) => fmt.bytes(m.bodySize) },
      {
        label: "Body",
        value: (m) => [code(fmt.json(m.body), `Body of message ${m.messageId}`), m.bodyTruncated ? h("p", { className: "muted" }, `The first 2 KiB of ${fmt.bytes(m.bodySize)}.`) : null],
      },
    ],
    rows: messages,
  });
}

async function renderQueue(view, name, ctx) {
  const heading = h("h1", null, name);
  view.append(h("p", { className: "crumbs" }, h("a", { href: "#/queues" }, "Queues")), heading);
  let queue;
  try {
    queue = await ctx.api.get(`/queues/${segment(name)}`);
  } catch (error) {
    view.append(failure(error));
    return;
  }
  if (!ctx.current()) return;

  // What sends its failures here: queues (their redrive policies), rules' targets and functions.
  // Read once, not polled: it reads every rule and function, and they rarely change.
  const senders = (await ctx.api.get(`/queues/${segment(name)}/dead-letter-sources`)).sources;
  if (!ctx.current()) return;
  const isDeadLetterQueue = senders.length > 0;
  // Only messages a queue's redrive policy moved here can be moved back (SQS's message move task).
  const sources = senders.filter((sender) => sender.type === "AWS::SQS::Queue").map((sender) => sender.name);

  const numbers = h("ul", { className: "headlines", "aria-label": "Depth now", "aria-live": "polite" });
  const policy = h("div");
  const actions = h("div", { className: "toolbar" });
  view.append(
    section("Messages now", numbers),
    section(
      "Details",
      facts([
        ["Type", queue.fifo ? "FIFO" : "Standard"],
        ["URL", h("span", { className: "mono" }, queue.url)],
        ["ARN", h("span", { className: "mono" }, queue.arn)],
        ["Dead-letter queue of", isDeadLetterQueue ? senders.map((sender, n) => [n ? ", " : "", senderLink(sender)]) : "nothing"],
      ]),
    ),
    section("Redrive policy", policy),
  );

  let preview = null;
  // What POST /queues/{name}/redrive moves, as the API decides it: a queue with a redrive policy gets
  // its dead-letter queue's messages back, even when it is itself another queue's dead-letter queue;
  // only a dead-letter queue without one of its own sends its messages back to where they came from.
  const move = (detail) => {
    if (detail.deadLetterQueue !== null) return { from: detail.deadLetterQueue.name, to: name, says: `Moves the messages of ${detail.deadLetterQueue.name} back to this queue.` };
    if (sources.length) return { from: name, to: sources.join(", "), says: `Moves this queue's messages back to the queues they came from: ${sources.join(", ")}.` };
    // Its redrive policy removed since the page opened: SQS would refuse to move anything.
    return { from: name, to: "where they came from", says: "This queue no longer has a redrive policy and is no queue's dead-letter queue: SQS has nothing to move." };
  };
  // The queue as last polled: its redrive policy may change while the page is shown.
  let shown = queue;
  const moveLabel = h("span", { className: "muted" });
  if (ctx.can("operator") && (sources.length > 0 || queue.deadLetterQueue !== null)) {
    const redrive = h("button", { type: "button", className: "primary" }, "Redrive");
    redrive.addEventListener("click", async () => {
      const { from, to } = move(shown);
      const sure = await confirm(`Move the messages of ${from} back to ${to}? SQS moves them with a message move task, as the SQS console's "Start DLQ redrive" does.`, "Redrive");
      if (!sure) return;
      redrive.disabled = true;
      try {
        const task = await ctx.api.post(`/queues/${segment(name)}/redrive`, {});
        notice(`Redrive started from ${fmt.arnName(task.sourceArn)} (task ${task.taskHandle.slice(0, 12)}…).`, "success");
        if (preview) preview.clear();
      } catch (error) {
        notice(error.message, "error");
      } finally {
        redrive.disabled = false;
      }
    });
    moveLabel.textContent = move(queue).says;
    actions.append(redrive, moveLabel);
    view.insertBefore(actions, heading.nextSibling);
  }

  // The API previews a dead-letter queue without a redrive policy of its own (a receive there counts toward moving a message on).
  if (ctx.can("operator") && isDeadLetterQueue && queue.deadLetterQueue === null) {
    const holder = h("div", { className: "preview" });
    const poll = h("button", { type: "button" }, "Poll for messages");
    preview = {
      clear: () => holder.replaceChildren(h("p", { className: "muted" }, "Poll again to see what is left.")),
    };
    poll.addEventListener("click", async () => {
      poll.disabled = true;
      try {
        const found = await ctx.api.get(`/queues/${segment(name)}/messages`, { max: 10 });
        if (ctx.current()) holder.replaceChildren(previewTable(found.messages));
      } catch (error) {
        holder.replaceChildren(failure(error));
      } finally {
        poll.disabled = false;
      }
    });
    view.append(
      section(
        "Message preview",
        h(
          "p",
          { className: "hint" },
          "Receives up to 10 messages with a visibility timeout of 0, as the SQS console's Poll for messages: they stay in the queue, and each one's receive count goes up by one.",
        ),
        h("div", { className: "toolbar" }, poll),
        holder,
      ),
    );
  }

  let drawn = null;
  await ctx.live(async (still) => {
    let now;
    try {
      now = await ctx.api.get(`/queues/${segment(name)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        if (still()) numbers.replaceChildren(h("li", null, badge("DELETED"), " This queue no longer exists."));
        return;
      }
      throw error;
    }
    if (!still()) return;
    const key = JSON.stringify(now);
    if (key === drawn) return;
    drawn = key;
    shown = now;
    if (moveLabel.isConnected) moveLabel.textContent = move(now).says;
    numbers.replaceChildren(
      h("li", { className: "headline" }, h("span", { className: "stat", dataset: { depth: "available" } }, depth(now.messages)), h("span", { className: "stat-label" }, "Available")),
      h("li", { className: "headline" }, h("span", { className: "stat" }, depth(now.inFlight)), h("span", { className: "stat-label" }, "In flight")),
      h("li", { className: "headline" }, h("span", { className: "stat" }, depth(now.delayed)), h("span", { className: "stat-label" }, "Delayed")),
    );
    const dlq = now.deadLetterQueue;
    policy.replaceChildren(
      dlq
        ? facts([
            ["Dead-letter queue", queueLink(dlq.name)],
            ["Maximum receives", fmt.number(dlq.maxReceiveCount)],
            ["Messages in it now", dlq.messages === null || dlq.messages === undefined ? "the queue does not exist" : fmt.number(dlq.messages)],
          ])
        : h("p", { className: "muted" }, "None: messages that fail stay in this queue until they expire."),
    );
  });
}

export default {
  title: "Queues",
  async render(view, route, ctx) {
    if (route.parts.length) return renderQueue(view, route.parts[0], ctx);
    return renderList(view, route, ctx);
  },
};
