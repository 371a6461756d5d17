"""The layout of ASL definitions: ranks, branches, loops, Catch edges, containers, ids, no overlaps."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sluiceway.console import graph
from sluiceway.console.graph import END_ID, START_ID, Graph, Node

FAIL_TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}}

EVERYTHING: dict[str, Any] = {
    "StartAt": "Pick",
    "States": {
        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.go", "StringEquals": "map", "Next": "Fan"}], "Default": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "B2"}, "B2": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Call",
        },
        "Call": {**FAIL_TASK, "Catch": [{"ErrorEquals": ["States.TaskFailed", "States.Timeout"], "Next": "Handled"}], "End": True},
        "Handled": {"Type": "Pass", "Next": "Fan"},
        "Fan": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Boom"}], "Default": "Fine"},
                    "Fine": {"Type": "Pass", "End": True},
                    "Boom": {"Type": "Fail", "Error": "TooBig"},
                },
            },
            "Catch": [{"ErrorEquals": ["TooBig"], "Next": "Done"}],
            "End": True,
        },
        "Done": {"Type": "Succeed"},
    },
}


def by_id(g: Graph) -> dict[str, Node]:
    return {n.id: n for n in g.nodes}


def overlap(a: Node, b: Node) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def assert_well_formed(g: Graph) -> None:
    """Unique ids; siblings never overlap; children inside their container; edges join their boxes."""
    nodes = by_id(g)
    assert len(nodes) == len(g.nodes)
    siblings: dict[str | None, list[Node]] = {}
    for node in g.nodes:
        siblings.setdefault(node.parent, []).append(node)
        assert node.x >= 0 and node.x + node.width <= g.width
        assert node.y >= 0 and node.y + node.height <= g.height
        if node.parent is not None:
            box = nodes[node.parent]
            assert box.x <= node.x and node.x + node.width <= box.x + box.width, node.id
            assert box.y < node.y and node.y + node.height <= box.y + box.height, node.id
    for group in siblings.values():
        # Sorted by x, a box can only overlap those that start before it ends: linear enough.
        group.sort(key=lambda n: (n.x, n.y))
        for i, a in enumerate(group):
            for b in itertools.takewhile(lambda b, a=a: b.x < a.x + a.width, group[i + 1 :]):
                assert not overlap(a, b), (a.id, b.id)
    for edge in g.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        assert (
            edge.points[0] == (source.x + source.width // 2, source.y + source.height)
            or abs(edge.points[0][0] - (source.x + source.width / 2)) <= 1
        )
        assert edge.points[0][1] == source.y + source.height
        assert abs(edge.points[-1][0] - (target.x + target.width / 2)) <= 1
        assert edge.points[-1][1] == target.y


def test_a_chain_runs_straight_down_from_start_to_end() -> None:
    g = graph.layout({"StartAt": "One", "States": {"One": {"Type": "Pass", "Next": "Two"}, "Two": {"Type": "Pass", "End": True}}})
    assert [n.id for n in g.nodes] == [START_ID, "One", "Two", END_ID]
    assert [(e.source, e.target, e.kind) for e in g.edges] == [(START_ID, "One", "next"), ("One", "Two", "next"), ("Two", END_ID, "next")]
    ys = [n.y for n in g.nodes]
    assert ys == sorted(ys) and len(set(ys)) == 4
    assert len({n.x + n.width / 2 for n in g.nodes}) == 1
    assert_well_formed(g)


def test_choice_branches_sit_side_by_side_with_their_rules_as_labels() -> None:
    g = graph.layout(EVERYTHING)
    nodes = by_id(g)
    edges = {(e.source, e.target): e for e in g.edges}
    assert (edges[("Pick", "Fan")].kind, edges[("Pick", "Fan")].label) == ("choice", '$.go == "map"')
    assert (edges[("Pick", "Both")].kind, edges[("Pick", "Both")].label) == ("default", "Default")
    check, fine, boom = nodes["Fan/0/Check"], nodes["Fan/0/Fine"], nodes["Fan/0/Boom"]
    assert fine.y == boom.y > check.y
    assert not overlap(fine, boom)
    assert edges[("Fan/0/Check", "Fan/0/Boom")].label == "$ > 2"
    assert_well_formed(g)


def test_catch_edges_name_their_errors() -> None:
    g = graph.layout(EVERYTHING)
    catches = {(e.source, e.target, e.label) for e in g.edges if e.kind == "catch"}
    assert catches == {("Call", "Handled", "States.TaskFailed, States.Timeout"), ("Fan", "Done", "TooBig")}


def test_every_edge_but_a_loop_points_down() -> None:
    g = graph.layout(EVERYTHING)
    nodes = by_id(g)
    assert all(nodes[e.target].y > nodes[e.source].y for e in g.edges)


def test_a_loop_is_kept_and_drawn_round_the_side() -> None:
    definition = {
        "StartAt": "Poll",
        "States": {
            "Poll": {"Type": "Pass", "Next": "Ready?"},
            "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Finish"}], "Default": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 5, "Next": "Poll"},
            "Finish": {"Type": "Succeed"},
        },
    }
    g = graph.layout(definition)
    nodes = by_id(g)
    back = next(e for e in g.edges if (e.source, e.target) == ("Wait", "Poll"))
    assert nodes["Wait"].y > nodes["Poll"].y
    # Out of the source's bottom, round the outside of every box, into the target's top.
    leftmost = min(n.x for n in g.nodes)
    assert min(x for x, _ in back.points) < leftmost
    assert back.points[-2][1] < nodes["Poll"].y
    assert_well_formed(g)


def test_a_state_that_loops_on_itself() -> None:
    definition = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Choice", "Choices": [{"Variable": "$.again", "BooleanEquals": True, "Next": "Spin"}], "Default": "Out"},
            "Out": {"Type": "Succeed"},
        },
    }
    g = graph.layout(definition)
    loop = next(e for e in g.edges if e.source == e.target == "Spin")
    assert loop.kind == "choice" and len(loop.points) == 6
    assert_well_formed(g)


def test_parallel_branches_are_laid_out_side_by_side_inside_the_container() -> None:
    g = graph.layout(EVERYTHING)
    nodes = by_id(g)
    a, b, b2 = nodes["Both/0/A"], nodes["Both/1/B"], nodes["Both/1/B2"]
    assert a.parent == b.parent == b2.parent == "Both"
    assert a.x + a.width <= b.x and a.y == b.y and b2.y > b.y
    assert nodes["Both"].height > b2.y + b2.height - nodes["Both"].y - 1
    assert b2.names == ("Both", "B2")
    # No edge leaves a branch: a branch's last state ends it.
    assert {(e.source, e.target) for e in g.edges if e.source.startswith("Both/")} == {("Both/1/B", "Both/1/B2")}


def test_a_map_holds_its_processor_and_room_for_its_iteration_counts() -> None:
    g = graph.layout(EVERYTHING)
    nodes = by_id(g)
    fan = nodes["Fan"]
    inner = [n for n in g.nodes if n.parent == "Fan"]
    assert {n.name for n in inner} == {"Check", "Fine", "Boom"}
    assert fan.y + fan.height - max(n.y + n.height for n in inner) >= graph.FOOTER_H
    processor = EVERYTHING["States"]["Fan"]["ItemProcessor"]
    legacy = graph.layout({"StartAt": "M", "States": {"M": {"Type": "Map", "Iterator": processor, "End": True}}})
    assert {n.id for n in legacy.nodes if n.parent == "M"} == {"M/0/Check", "M/0/Fine", "M/0/Boom"}


def test_ids_are_unique_when_names_repeat_in_branches_and_never_clash_with_start_or_end() -> None:
    twice = {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [twice, twice], "Next": "#Start"},
            "#Start": {"Type": "Pass", "Next": "P/0/Work"},
            "P/0/Work": {"Type": "Pass", "End": True},
        },
    }
    g = graph.layout(definition)
    ids = [n.id for n in g.nodes]
    assert len(ids) == len(set(ids))
    assert {"P/0/Work", "P/1/Work", "%23Start", "P%2F0%2FWork", START_ID, END_ID} <= set(ids)
    assert [n.names for n in g.nodes if n.name == "Work"] == [("P", "Work"), ("P", "Work")]
    assert set(graph.states(definition)) == set(ids) - {START_ID, END_ID}
    assert_well_formed(g)


def test_nested_containers_are_inside_each_other() -> None:
    inner = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": True}}}
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Mid", "States": {"Mid": {"Type": "Parallel", "Branches": [inner, inner], "End": True}}},
                "End": True,
            }
        },
    }
    g = graph.layout(definition)
    assert by_id(g)["Outer/0/Mid/1/Leaf"].parent == "Outer/0/Mid"
    assert_well_formed(g)


def test_widths_follow_names_within_bounds() -> None:
    g = graph.layout({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B" * 80}, "B" * 80: {"Type": "Pass", "End": True}}})
    nodes = by_id(g)
    assert nodes["A"].width == graph.NODE_MIN_W and nodes["B" * 80].width == graph.NODE_MAX_W


def test_the_layout_is_deterministic() -> None:
    assert graph.layout(EVERYTHING) == graph.layout(EVERYTHING)


def many_states(n: int) -> dict[str, Any]:
    """A pipeline of ``n`` states: every Task caught by one handler, every tenth a Choice jumping back or ahead."""
    states: dict[str, Any] = {}
    for i in range(n):
        if i % 10 == 5:
            states[f"S{i}"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.again", "BooleanEquals": True, "Next": f"S{i - 3}"},
                    {"Variable": "$.skip", "BooleanEquals": True, "Next": f"S{min(n - 1, i + 7)}"},
                ],
                "Default": f"S{i + 1}",
            }
            continue
        state: dict[str, Any] = {**FAIL_TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}
        state.update({"Next": f"S{i + 1}"} if i < n - 1 else {"End": True})
        states[f"S{i}"] = state
    states["Handler"] = {"Type": "Fail", "Error": "Failed"}
    return {"StartAt": "S0", "States": states}


def test_a_thousand_states_lay_out_without_overlap() -> None:
    g = graph.layout(many_states(1000))
    assert len(g.nodes) == 1003
    assert_well_formed(g)


@pytest.mark.parametrize("n", [200, 800])
def test_long_edges_cost_points_in_proportion_to_the_graph_not_its_square(n: int) -> None:
    # A thousand Catches into one handler below them all would need n^2/2 bends if every long
    # edge were routed rank by rank; past a budget they go round the side in a shared lane.
    g = graph.layout(many_states(n))
    assert sum(len(e.points) for e in g.edges) <= 12 * len(g.edges)


def test_a_definition_without_states_is_refused() -> None:
    with pytest.raises(ValueError, match="StartAt"):
        graph.layout({"States": {}})
    with pytest.raises(ValueError, match="P/0"):
        graph.layout({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [{"States": {}}], "End": True}}})


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.n", "NumericLessThanEquals": 3}, "$.n <= 3"),
        ({"Variable": "$.when", "TimestampGreaterThanPath": "$.limit"}, "$.when > $.limit"),
        ({"Variable": "$.x", "IsPresent": False}, "$.x is not present"),
        ({"Variable": "$.name", "StringMatches": "log-*"}, '$.name matches "log-*"'),
        ({"Not": {"Variable": "$.ok", "BooleanEquals": True}}, "not ($.ok == true)"),
        (
            {"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "StringEquals": "x"}]},
            '($.a == 1) and ($.b == "x")',
        ),
        ({"Condition": "{% $states.input.n > 2 %}"}, "$states.input.n > 2"),
        (
            {"Variable": "$.very.long.path.to.a.value", "StringEquals": "a string that is long"},
            '$.very.long.path.to.a.value == "a string that i…',
        ),
    ],
)
def test_choice_rules_in_short(rule: dict[str, Any], text: str) -> None:
    assert graph.rule_text(rule) == text
    assert len(graph.rule_text(rule)) <= graph.LABEL_MAX


def test_a_name_of_only_dots_is_escaped_so_a_url_path_can_carry_its_id() -> None:
    # Browsers resolve "." and ".." path segments away, even percent-encoded: the console puts ids in paths.
    definition = {
        "StartAt": "..",
        "States": {".": {"Type": "Pass", "End": True}, "..": {"Type": "Pass", "Next": "."}, "...": {"Type": "Pass", "End": True}},
    }
    ids = {n.name: n.id for n in graph.layout(definition).nodes}
    assert (ids["."], ids[".."], ids["..."]) == ("%2E", "%2E%2E", "...")
