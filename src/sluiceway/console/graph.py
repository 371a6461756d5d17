"""An ASL definition laid out as a graph, top to bottom, as the Step Functions console draws it.

:func:`layout` reads the states (``Next``, ``End``, a Choice's rules and ``Default``, ``Catch``),
adds a synthetic Start and End, and places every state:

1. **Back edges.** ASL allows loops (a Choice back to a poll): a depth-first walk from the start
   marks the edges that close a cycle. They stay in the graph but take no part in ranking.
2. **Ranks** by the longest path from the start over the other edges, so every edge points down.
3. **Long edges** (spanning more than one rank) get a virtual point per rank crossed, so they are
   ordered with the states and never cross a box. Their number is bounded by the graph's size:
   past that budget, the longest go round the side in a lane (as back edges do), which keeps the
   work linear however the edges fan in (a thousand Catches to one handler).
4. **Order within ranks** by barycenters, sweeping down then up, to cut crossings.
5. **x** by pulling each state under the middle of its neighbours, in order, without overlap;
   **y** by rank.

Parallel and Map states are containers: their branches (side by side) or their item processor are
laid out the same way, inside the container's box, before the container is placed. Ids are paths
(``ProcessChunks/0/ProcessChunk``: container, branch, state), unique even where a name repeats in
two branches; ``names`` is the chain of state names the execution history knows a state by.

Pure: no I/O; the same definition always gives the same graph.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Edge", "EdgeKind", "Graph", "Node", "START_ID", "END_ID", "layout", "node_id", "rule_text", "states"]

EdgeKind = Literal["next", "choice", "default", "catch"]

#: The synthetic nodes' ids: escaped state names never start with ``#`` (see :func:`node_id`).
START_ID = "#Start"
END_ID = "#End"

# Pixels. A state's box is as wide as its name needs, within bounds, like the console's.
CHAR_W = 7
NODE_H = 40
NODE_MIN_W = 120
NODE_MAX_W = 280
TERMINAL_W, TERMINAL_H = 72, 32
NODE_GAP = 32
VIRTUAL_W = 12
RANK_GAP = 48
LANE_GAP = 14
MARGIN = 24
PAD = 16
HEADER_H = 32
#: Room under a Map's processor for its iteration counts.
FOOTER_H = 24
BRANCH_GAP = 24
LABEL_MAX = 48


@dataclass(frozen=True)
class Node:
    """A state (or the synthetic Start or End) and its box."""

    id: str
    """Unique: the path of container ids, branch indexes and the (escaped) state name."""
    name: str
    """The state's name (``Start`` and ``End`` for the synthetic nodes)."""
    type: str
    """The state's ASL ``Type``; ``Start`` or ``End`` for the synthetic nodes."""
    parent: str | None
    """The id of the Parallel or Map state it runs in, or None at the top level."""
    names: tuple[str, ...]
    """The state names from the top level down to this one, as the execution history nests them."""
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Edge:
    """A transition, as a polyline from the bottom of its source to the top of its target."""

    source: str
    target: str
    kind: EdgeKind
    label: str
    """The Choice rule in short, ``Default``, or a Catch's errors; empty for ``next``."""
    points: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Graph:
    """The laid-out graph: nodes in definition order (a container before its children)."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int


def node_id(parent_prefix: str, name: str) -> str:
    """A state's id: its container's prefix and its name, with ``%``, ``/``, a leading ``#`` and a name of only dots escaped.

    Escaping keeps ids unique (a state named ``A/0/B`` is not ``B`` in branch 0 of ``A``) and keeps
    state ids apart from the synthetic :data:`START_ID` and :data:`END_ID`.
    """
    escaped = name.replace("%", "%25").replace("/", "%2F")
    if escaped.startswith("#"):
        escaped = "%23" + escaped[1:]
    if escaped in (".", ".."):
        # A URL path cannot carry a segment of dots (browsers resolve it away, encoded or not):
        # the console puts ids in paths.
        escaped = escaped.replace(".", "%2E")
    return parent_prefix + escaped


def layout(definition: Mapping[str, Any]) -> Graph:
    """Lay out a state machine's definition (the parsed JSON of its ``definition``).

    Raises:
        ValueError: the definition has no ``StartAt`` or no ``States`` object.
    """
    box = _Scope(definition, prefix="", parent=None, names=(), top_level=True).place()
    box.translate(MARGIN, MARGIN)
    nodes = tuple(n.freeze() for n in box.nodes)
    edges = tuple(e.freeze() for e in box.edges)
    return Graph(nodes, edges, box.width + 2 * MARGIN, box.height + 2 * MARGIN)


def states(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every state's definition by its node id (as :func:`layout` names them), containers before their children."""
    found: dict[str, Mapping[str, Any]] = {}

    def walk(scope: Mapping[str, Any], prefix: str) -> None:
        members = scope.get("States")
        if not isinstance(members, Mapping):
            return
        for name, state in members.items():
            if not isinstance(state, Mapping):
                continue
            own = node_id(prefix, name)
            found[own] = state
            if state.get("Type") == "Parallel":
                for i, branch in enumerate(state.get("Branches", [])):
                    if isinstance(branch, Mapping):
                        walk(branch, f"{own}/{i}/")
            elif state.get("Type") == "Map":
                processor = state.get("ItemProcessor", state.get("Iterator"))
                if isinstance(processor, Mapping):
                    walk(processor, f"{own}/0/")

    walk(definition, "")
    return found


# ---------------------------------------------------------------- choice labels

_SYMBOLS = {"Equals": "==", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=", "GreaterThanEquals": ">="}
_KINDS = ("String", "Numeric", "Boolean", "Timestamp")
_TESTS = {"IsPresent": "present", "IsNull": "null", "IsNumeric": "numeric", "IsString": "a string", "IsBoolean": "a boolean"}
_TESTS["IsTimestamp"] = "a timestamp"


def rule_text(rule: Mapping[str, Any]) -> str:
    """A Choice rule in short (``$.status == "done"``), at most 48 characters."""
    text = _rule(rule)
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _rule(rule: Mapping[str, Any]) -> str:
    if isinstance(rule.get("Condition"), str):  # JSONata: {% ... %}
        return str(rule["Condition"]).removeprefix("{%").removesuffix("%}").strip()
    for joiner in ("And", "Or"):
        if isinstance(rule.get(joiner), list):
            parts = [_rule(r) for r in rule[joiner] if isinstance(r, Mapping)]
            return f" {joiner.lower()} ".join(f"({p})" for p in parts)
    if isinstance(rule.get("Not"), Mapping):
        return f"not ({_rule(rule['Not'])})"
    variable = str(rule.get("Variable", "$"))
    for key, value in rule.items():
        if key in _TESTS:
            return f"{variable} is {'' if value else 'not '}{_TESTS[key]}"
        if key in ("StringMatches",):
            return f"{variable} matches {json.dumps(value)}"
        test = key.removesuffix("Path")
        for kind in _KINDS:
            if test.startswith(kind) and test[len(kind) :] in _SYMBOLS:
                shown = value if key.endswith("Path") else json.dumps(value)
                return f"{variable} {_SYMBOLS[test[len(kind) :]]} {shown}"
    return variable


# ---------------------------------------------------------------- mutable working values


@dataclass
class _Box:
    """A placed node while its scope is laid out (coordinates local to the scope until translated)."""

    id: str
    name: str
    type: str
    parent: str | None
    names: tuple[str, ...]
    width: int
    height: int
    x: float = 0.0
    y: float = 0.0

    def freeze(self) -> Node:
        return Node(self.id, self.name, self.type, self.parent, self.names, round(self.x), round(self.y), self.width, self.height)


@dataclass
class _Line:
    source: str
    target: str
    kind: EdgeKind
    label: str
    points: list[tuple[float, float]] = field(default_factory=list)

    def freeze(self) -> Edge:
        return Edge(self.source, self.target, self.kind, self.label, tuple((round(x), round(y)) for x, y in self.points))


@dataclass
class _Placed:
    """A laid-out scope: every node and edge in it and in its containers, and its size."""

    nodes: list[_Box]
    edges: list[_Line]
    width: int
    height: int

    def translate(self, dx: float, dy: float) -> None:
        for node in self.nodes:
            node.x += dx
            node.y += dy
        for edge in self.edges:
            edge.points = [(x + dx, y + dy) for x, y in edge.points]


def _name_width(name: str) -> int:
    return max(NODE_MIN_W, min(NODE_MAX_W, len(name) * CHAR_W + 40))


# ---------------------------------------------------------------- one scope


class _Scope:
    """One list of states with its StartAt: the state machine, a Parallel branch or a Map's processor."""

    def __init__(self, definition: Mapping[str, Any], *, prefix: str, parent: str | None, names: tuple[str, ...], top_level: bool) -> None:
        states = definition.get("States")
        start_at = definition.get("StartAt")
        if not isinstance(states, Mapping) or not isinstance(start_at, str):
            where = prefix.rstrip("/") or "the state machine"
            raise ValueError(f"{where}: a definition needs StartAt and a States object")
        self.states: Mapping[str, Any] = {k: v for k, v in states.items() if isinstance(v, Mapping)}
        self.start_at = start_at
        self.prefix = prefix
        self.parent = parent
        self.names = names
        self.top_level = top_level

    def place(self) -> _Placed:
        boxes: list[_Box] = []
        inner: list[_Placed] = []  # containers' contents, moved with them once they are placed
        index: dict[str, int] = {}
        if self.top_level:
            boxes.append(_Box(START_ID, "Start", "Start", None, (), TERMINAL_W, TERMINAL_H))
        container_of: dict[int, _Placed] = {}
        for name, state in self.states.items():
            own = node_id(self.prefix, name)
            box = _Box(own, name, str(state.get("Type", "")), self.parent, (*self.names, name), _name_width(name), NODE_H)
            index[name] = len(boxes)
            contents = self._contents(own, name, state)
            if contents is not None:
                box.width = max(box.width, contents.width)
                box.height = contents.height
                container_of[len(boxes)] = contents
                inner.append(contents)
            boxes.append(box)
        if self.top_level:
            boxes.append(_Box(END_ID, "End", "End", None, (), TERMINAL_W, TERMINAL_H))
        lines = self._transitions(boxes, index)
        placed = _Sugiyama(boxes, lines, start=0 if self.top_level else index.get(self.start_at, 0), end_last=self.top_level).run()
        for at, contents in container_of.items():
            box = boxes[at]
            contents.translate(box.x + (box.width - contents.width) / 2, box.y)
            placed.nodes.extend(contents.nodes)
            placed.edges.extend(contents.edges)
        return placed

    def _contents(self, own: str, name: str, state: Mapping[str, Any]) -> _Placed | None:
        """A Parallel's branches side by side, or a Map's processor, framed; None for other states."""
        kind = state.get("Type")
        if kind == "Parallel":
            branches = [b for b in state.get("Branches", []) if isinstance(b, Mapping)]
            footer = 0
        elif kind == "Map":
            processor = state.get("ItemProcessor", state.get("Iterator"))
            branches = [processor] if isinstance(processor, Mapping) else []
            footer = FOOTER_H
        else:
            return None
        parts = [
            _Scope(b, prefix=f"{own}/{i}/", parent=own, names=(*self.names, name), top_level=False).place() for i, b in enumerate(branches)
        ]
        nodes: list[_Box] = []
        edges: list[_Line] = []
        x = float(PAD)
        for part in parts:
            part.translate(x, HEADER_H)
            nodes.extend(part.nodes)
            edges.extend(part.edges)
            x += part.width + BRANCH_GAP
        width = round(x - (BRANCH_GAP if parts else 0)) + PAD
        height = HEADER_H + max((p.height for p in parts), default=0) + PAD + footer
        return _Placed(nodes, edges, max(width, _name_width(name) + 2 * PAD), height)

    def _transitions(self, boxes: list[_Box], index: Mapping[str, int]) -> list[tuple[int, int, EdgeKind, str]]:
        found: list[tuple[int, int, EdgeKind, str]] = []

        def to(source: int, target: Any, kind: EdgeKind, label: str) -> None:
            # A transition to a state that does not exist is the definition's error, shown by AWS
            # when it is created; the graph draws what it can.
            if isinstance(target, str) and target in index:
                found.append((source, index[target], kind, label))

        if self.top_level and self.start_at in index:
            found.append((0, index[self.start_at], "next", ""))
        for name, state in self.states.items():
            at = index[name]
            kind = state.get("Type")
            if kind == "Choice":
                for rule in state.get("Choices", []):
                    if isinstance(rule, Mapping):
                        to(at, rule.get("Next"), "choice", rule_text(rule))
                to(at, state.get("Default"), "default", "Default")
            to(at, state.get("Next"), "next", "")
            if self.top_level and (state.get("End") is True or kind in ("Succeed", "Fail")):
                found.append((at, len(boxes) - 1, "next", ""))
            for catcher in state.get("Catch", []):
                if isinstance(catcher, Mapping):
                    errors = catcher.get("ErrorEquals", [])
                    to(at, catcher.get("Next"), "catch", ", ".join(str(e) for e in errors) if isinstance(errors, list) else "")
        return found


# ---------------------------------------------------------------- the layered layout


class _Sugiyama:
    """Ranks, ordering and coordinates of one scope's boxes (see the module docstring)."""

    def __init__(self, boxes: list[_Box], transitions: list[tuple[int, int, EdgeKind, str]], *, start: int, end_last: bool) -> None:
        self.boxes = boxes
        self.transitions = transitions
        self.start = start
        self.end_last = end_last
        self.count = len(boxes)

    def run(self) -> _Placed:
        if not self.boxes:
            return _Placed([], [], 0, 0)
        back = self._back_edges()
        rank = self._ranks(back)
        # Vertices: the boxes, then the virtual points of long edges (sizes of virtual ones: VIRTUAL_W x 0).
        widths = [float(b.width) for b in self.boxes]
        vrank = list(rank)
        up: list[list[int]] = [[] for _ in self.boxes]
        down: list[list[int]] = [[] for _ in self.boxes]
        chains: dict[int, list[int]] = {}
        lanes_right: list[int] = []
        long_ones = sorted(
            (i for i, (s, t, _, _) in enumerate(self.transitions) if i not in back and rank[t] - rank[s] > 1),
            key=lambda i: (rank[self.transitions[i][1]] - rank[self.transitions[i][0]], i),
        )
        budget = 2 * self.count + 16
        for i, (s, t, _, _) in enumerate(self.transitions):
            if i in back or rank[t] - rank[s] != 1:
                continue
            down[s].append(t)
            up[t].append(s)
        for i in long_ones:
            s, t, _, _ = self.transitions[i]
            span = rank[t] - rank[s] - 1
            if span > budget:
                lanes_right.append(i)
                continue
            budget -= span
            chain = []
            previous = s
            for r in range(rank[s] + 1, rank[t]):
                v = len(widths)
                widths.append(VIRTUAL_W)
                vrank.append(r)
                up.append([previous])
                down.append([])
                down[previous].append(v)
                chain.append(v)
                previous = v
            down[previous].append(t)
            up[t].append(previous)
            chains[i] = chain
        layers = self._order(vrank, up, down)
        xs = self._xs(layers, widths, up, down)
        ys, heights = self._ys(layers)
        for v in range(self.count):
            self.boxes[v].x = xs[v] - widths[v] / 2
            self.boxes[v].y = ys[vrank[v]]
        return self._draw(back, lanes_right, chains, xs, ys, heights, vrank, widths)

    def _back_edges(self) -> set[int]:
        """Transitions that close a cycle, found by an iterative depth-first walk from the start."""
        out: list[list[int]] = [[] for _ in self.boxes]
        for i, (s, _, _, _) in enumerate(self.transitions):
            out[s].append(i)
        colour = [0] * self.count  # 0 unseen, 1 on the walk's stack, 2 done
        back: set[int] = set()
        roots = [self.start, *range(self.count)]
        for root in roots:
            if colour[root]:
                continue
            colour[root] = 1
            stack = [(root, iter(out[root]))]
            while stack:
                node, edges = stack[-1]
                for i in edges:
                    target = self.transitions[i][1]
                    if colour[target] == 1:
                        back.add(i)
                    elif colour[target] == 0:
                        colour[target] = 1
                        stack.append((target, iter(out[target])))
                        break
                else:
                    colour[node] = 2
                    stack.pop()
        return back

    def _ranks(self, back: set[int]) -> list[int]:
        """Longest path from the sources over forward transitions (Kahn's order, so linear)."""
        indegree = [0] * self.count
        out: list[list[int]] = [[] for _ in self.boxes]
        for i, (s, t, _, _) in enumerate(self.transitions):
            if i not in back:
                out[s].append(t)
                indegree[t] += 1
        rank = [0] * self.count
        queue = deque(v for v in range(self.count) if indegree[v] == 0)
        while queue:
            v = queue.popleft()
            for t in out[v]:
                rank[t] = max(rank[t], rank[v] + 1)
                indegree[t] -= 1
                if indegree[t] == 0:
                    queue.append(t)
        if self.end_last:
            # The End sits below everything, even states that never reach it.
            rank[-1] = max(rank[:-1], default=-1) + 1
        return rank

    def _order(self, vrank: list[int], up: list[list[int]], down: list[list[int]]) -> list[list[int]]:
        """Vertices by rank, ordered by barycenters: two sweeps down and up."""
        depth = max(vrank) + 1
        layers: list[list[int]] = [[] for _ in range(depth)]
        # First order: by a breadth-first walk, so a state's successors start out below it, in order.
        seen = [False] * len(vrank)
        queue = deque(v for v in range(len(vrank)) if not up[v])
        for v in queue:
            seen[v] = True
        while queue:
            v = queue.popleft()
            layers[vrank[v]].append(v)
            for w in down[v]:
                if not seen[w]:
                    seen[w] = True
                    queue.append(w)
        for v in range(len(vrank)):
            if not seen[v]:
                layers[vrank[v]].append(v)
        position = [0.0] * len(vrank)
        for layer in layers:
            for i, v in enumerate(layer):
                position[v] = i
        for _ in range(2):
            for sweep, neighbours in ((range(1, depth), up), (range(depth - 2, -1, -1), down)):
                for r in sweep:
                    layer = layers[r]
                    keys = {}
                    for v in layer:
                        near = neighbours[v]
                        keys[v] = sum(position[n] for n in near) / len(near) if near else position[v]
                    layer.sort(key=lambda v: keys[v])
                    for i, v in enumerate(layer):
                        position[v] = i
        return layers

    def _xs(self, layers: list[list[int]], widths: list[float], up: list[list[int]], down: list[list[int]]) -> list[float]:
        """Centres: packed, then pulled under (or over) their neighbours' middle, keeping order and gaps."""
        xs = [0.0] * len(widths)
        for layer in layers:
            x = 0.0
            for v in layer:
                xs[v] = x + widths[v] / 2
                x += widths[v] + NODE_GAP
            shift = (x - NODE_GAP) / 2
            for v in layer:
                xs[v] -= shift
        depth = len(layers)
        for sweep, neighbours in (
            (range(1, depth), up),
            (range(depth - 2, -1, -1), down),
            (range(1, depth), up),
        ):
            for r in sweep:
                layer = layers[r]
                wanted = [sum(xs[n] for n in neighbours[v]) / len(neighbours[v]) if neighbours[v] else xs[v] for v in layer]
                gaps = [(widths[a] + widths[b]) / 2 + NODE_GAP for a, b in zip(layer, layer[1:], strict=False)]
                left = list(wanted)
                for i in range(1, len(layer)):
                    left[i] = max(wanted[i], left[i - 1] + gaps[i - 1])
                right = list(wanted)
                for i in range(len(layer) - 2, -1, -1):
                    right[i] = min(wanted[i], right[i + 1] - gaps[i])
                # Each pass keeps the order and the gaps; so does their mean, which is not pushed to one side.
                for i, v in enumerate(layer):
                    xs[v] = (left[i] + right[i]) / 2
        return xs

    def _ys(self, layers: list[list[int]]) -> tuple[list[float], list[float]]:
        tops: list[float] = []
        heights: list[float] = []
        y = 0.0
        for layer in layers:
            height = float(max((self.boxes[v].height for v in layer if v < self.count), default=0))
            tops.append(y)
            heights.append(height)
            y += height + RANK_GAP
        return tops, heights

    def _draw(
        self,
        back: set[int],
        lanes_right: list[int],
        chains: dict[int, list[int]],
        xs: list[float],
        ys: list[float],
        heights: list[float],
        vrank: list[int],
        widths: list[float],
    ) -> _Placed:
        left_edge = min(xs[v] - widths[v] / 2 for v in range(len(xs)))
        right_edge = max(xs[v] + widths[v] / 2 for v in range(len(xs)))
        # One lane per target on each side: edges into the same state share it and merge.
        left_lanes = _lanes(self.transitions, sorted(back))
        right_lanes = _lanes(self.transitions, lanes_right)
        around = back | set(lanes_right)
        offset = len(left_lanes) * LANE_GAP + (LANE_GAP if left_lanes else 0) - left_edge
        # A lane into the first rank comes in over it: room for that above.
        top = RANK_GAP / 2 if any(vrank[self.transitions[i][1]] == 0 for i in around) else 0.0
        lines: list[_Line] = []
        bottom = ys[-1] + heights[-1]
        for i, (s, t, kind, label) in enumerate(self.transitions):
            source, target = self.boxes[s], self.boxes[t]
            sx, sy = xs[s], source.y + source.height
            tx, ty = xs[t], target.y
            if i in around:
                lane = (left_edge - (left_lanes[t] + 1) * LANE_GAP) if i in back else (right_edge + (right_lanes[t] + 1) * LANE_GAP)
                # Along the gaps between ranks and outside the boxes, never over one; into the target from above.
                below = ys[vrank[s]] + heights[vrank[s]] + RANK_GAP / 2
                above = ys[vrank[t]] - RANK_GAP / 2
                points = [(sx, sy), (sx, below), (lane, below), (lane, above), (tx, above), (tx, ty)]
            else:
                points = [(sx, sy)]
                for v in chains.get(i, []):
                    points.append((xs[v], ys[vrank[v]]))
                    points.append((xs[v], ys[vrank[v]] + heights[vrank[v]]))
                points.append((tx, ty))
            lines.append(_Line(source.id, target.id, kind, label, [(x + offset, y + top) for x, y in points]))
        for box in self.boxes:
            box.x += offset
            box.y += top
        width = round(right_edge - left_edge + (len(left_lanes) + len(right_lanes)) * LANE_GAP + (LANE_GAP if left_lanes else 0))
        width += LANE_GAP if right_lanes else 0
        height = round(top + bottom + (RANK_GAP / 2 if around else 0))
        return _Placed(list(self.boxes), lines, width, height)


def _lanes(transitions: list[tuple[int, int, EdgeKind, str]], chosen: Iterable[int]) -> dict[int, int]:
    """Target -> lane number, in the order the targets are first met."""
    lanes: dict[int, int] = {}
    for i in chosen:
        lanes.setdefault(transitions[i][1], len(lanes))
    return lanes
