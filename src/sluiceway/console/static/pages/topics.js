// Topics (#/topics): each SNS topic and its subscriptions, with what decides what each one gets
// (its filter policy and scope) and how (raw message delivery or SNS's JSON envelope).

import { segment } from "../api.js";
import { code, fmt, h, section, table, tokenPager } from "../ui.js";

// Subscriptions change when someone subscribes: every two seconds is live enough, and each
// poll costs a call per topic.
const EVERY_MS = 2000;

function subscriptionState(subscription) {
  // SNS names an unconfirmed subscription "PendingConfirmation" in place of its ARN.
  return subscription.subscriptionArn === "PendingConfirmation" || subscription.subscriptionArn === "Deleted" ? subscription.subscriptionArn : "Confirmed";
}

function filter(subscription) {
  if (!subscription.filterPolicy) return "None: every message";
  return [code(fmt.json(subscription.filterPolicy), "Filter policy"), h("p", { className: "muted" }, `Scope: ${subscription.filterPolicyScope || "MessageAttributes"}`)];
}

function raw(subscription) {
  if (subscription.rawMessageDelivery === undefined || subscription.rawMessageDelivery === null) return "—";
  return subscription.rawMessageDelivery ? "Yes" : "No (SNS's JSON envelope)";
}

function topicSection(topic, subscriptions) {
  return section(
    topic.name,
    h("p", { className: "mono" }, topic.topicArn),
    table({
      caption: `Subscriptions of ${topic.name}`,
      empty: "No subscription: messages published to this topic go nowhere.",
      columns: [
        { label: "Protocol", value: (s) => s.protocol },
        { label: "Endpoint", className: "mono", value: (s) => (s.protocol === "sqs" && s.endpoint ? h("a", { href: `#/queues/${segment(fmt.arnName(s.endpoint))}` }, s.endpoint) : s.endpoint || "—") },
        { label: "State", value: (s) => subscriptionState(s) },
        { label: "Filter policy", value: filter },
        { label: "Raw message delivery", value: raw },
        { label: "Subscription ARN", className: "mono", value: (s) => s.subscriptionArn },
      ],
      rows: subscriptions,
    }),
  );
}

async function allSubscriptions(ctx, topicArn) {
  const found = [];
  let nextToken = null;
  do {
    const page = await ctx.api.get(`/topics/${segment(topicArn)}/subscriptions`, { nextToken });
    found.push(...page.subscriptions);
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

export default {
  title: "Topics",
  async render(view, route, ctx) {
    const listing = h("div");
    const pager = h("div", { className: "pager" });
    view.append(h("h1", null, "Topics"), listing, pager);
    const paging = tokenPager(pager);
    let drawn = null;
    const load = async (still) => {
      const page = await ctx.api.get("/topics", { nextToken: paging.token });
      if (!still()) return;
      const topics = await Promise.all(page.topics.map(async (topic) => ({ topic, subscriptions: await allSubscriptions(ctx, topic.topicArn) })));
      if (!still()) return;
      paging.update(page.nextToken);
      const key = JSON.stringify([page.nextToken, topics]);
      if (key === drawn) return;
      drawn = key;
      listing.replaceChildren(...(topics.length ? topics.map(({ topic, subscriptions }) => topicSection(topic, subscriptions)) : [h("p", { className: "muted" }, "No topic yet.")]));
    };
    const poller = ctx.live(load, EVERY_MS);
    paging.refresh = poller.refresh;
    await poller;
  },
};
