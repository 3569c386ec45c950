"""Class hierarchies for hierarchical certificates (``docs/certificates.md`` §9).

A hierarchy is a tree over a model's classes, given level by level: level 0 is the model's
own classes; each coarser level groups the nodes of the level below, every node exactly
once; the root above the last level is "any class" (a pixel or box certified only at the
root abstains). Every class sits at the same depth (a node may have one child), so a
certificate's *level* means the same thing for every class. Because a level names only
nodes of the level right below it, a cycle cannot be written.

Written as data, in a Python file (``hierarchy = dict(...)``) or JSON::

    hierarchy = dict(name="demo", levels=[
        dict(name="category", nodes={"vehicle": ["car"], "human": ["person", "rider"],
                                     "object": ["traffic sign"]}),
    ])

Global node ids: the classes first (0 … C − 1), then each level's nodes in order. The
flat hierarchy (no coarser level) certifies exactly as plain τ-abstain does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FINE_LEVEL = "class"

_CITYSCAPES_CATEGORIES = {
    "flat": ["road", "sidewalk"],
    "construction": ["building", "wall", "fence"],
    "object": ["pole", "traffic light", "traffic sign"],
    "nature": ["vegetation", "terrain"],
    "sky": ["sky"],
    "human": ["person", "rider"],
    "vehicle": ["car", "truck", "bus", "train", "motorcycle", "bicycle"],
}
_COCO_SUPERCATEGORIES = {
    "person": ["person"],
    "vehicle": ["bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"],
    "outdoor": ["traffic light", "fire hydrant", "stop sign", "parking meter", "bench"],
    "animal": ["bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
               "giraffe"],
    "accessory": ["backpack", "umbrella", "handbag", "tie", "suitcase"],
    "sports": ["frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
               "baseball glove", "skateboard", "surfboard", "tennis racket"],
    "kitchen": ["bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl"],
    "food": ["banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog",
             "pizza", "donut", "cake"],
    "furniture": ["chair", "couch", "potted plant", "bed", "dining table", "toilet"],
    "electronic": ["tv", "laptop", "mouse", "remote", "keyboard", "cell phone"],
    "appliance": ["microwave", "oven", "toaster", "sink", "refrigerator"],
    "indoor": ["book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"],
}
BUILTIN = {
    "cityscapes": dict(name="cityscapes", levels=[
        dict(name="category", nodes=_CITYSCAPES_CATEGORIES),
        dict(name="group", nodes={
            "drivable surface": ["flat"],
            "static world": ["construction", "object", "nature", "sky"],
            "dynamic agents": ["human", "vehicle"]}),
    ]),
    "coco": dict(name="coco", levels=[dict(name="supercategory", nodes=_COCO_SUPERCATEGORIES)]),
    "demo": dict(name="demo", levels=[dict(name="category", nodes={
        "vehicle": ["car"], "human": ["person", "rider"], "object": ["traffic sign"]})]),
}


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """A checked hierarchy over ``classes`` (build with :func:`build_hierarchy`).

    ``level_names[0]`` is ``"class"``; ``node_names[L]`` are level L's nodes (level 0: the
    classes); ``class_to_node[L][c]`` is the level-L node holding class c.
    """

    name: str
    classes: tuple[str, ...]
    level_names: tuple[str, ...]
    node_names: tuple[tuple[str, ...], ...]
    class_to_node: tuple[np.ndarray, ...]

    @property
    def depth(self) -> int:
        """Number of levels below the root (1 for a flat hierarchy)."""
        return len(self.level_names)

    @property
    def is_flat(self) -> bool:
        return self.depth == 1

    @property
    def offsets(self) -> np.ndarray:
        """Global id of each level's first node."""
        return np.concatenate([[0], np.cumsum([len(n) for n in self.node_names])])[:-1]

    @property
    def num_nodes(self) -> int:
        return int(sum(len(n) for n in self.node_names))

    def global_names(self) -> list[str]:
        return [name for names in self.node_names for name in names]

    def global_levels(self) -> np.ndarray:
        """Level of each global node id."""
        return np.repeat(np.arange(self.depth), [len(n) for n in self.node_names])

    def membership(self) -> np.ndarray:
        """(nodes, C) bool: whether global node g contains class c."""
        table = np.zeros((self.num_nodes, len(self.classes)), dtype=bool)
        for level, offset in enumerate(self.offsets):
            table[offset + self.class_to_node[level], np.arange(len(self.classes))] = True
        return table

    def leaves(self) -> np.ndarray:
        """Number of classes under each global node."""
        return self.membership().sum(axis=1)

    def level_of_class_node(self, level: int) -> np.ndarray:
        """(nodes,) the level-``level`` node (local id) containing each global node, or −1
        for nodes above ``level``."""
        out = np.full(self.num_nodes, -1, dtype=np.int64)
        member = self.membership()
        for g in range(self.num_nodes):
            nodes = np.unique(self.class_to_node[level][member[g]])
            if len(nodes) == 1:
                out[g] = nodes[0]
        return out

    def to_record(self) -> dict:
        """The hierarchy as recorded in run.json and summaries (its own input form)."""
        levels = []
        for level in range(1, self.depth):
            below = self.node_names[level - 1]
            mapping = {}
            for child, parent in enumerate(self._parents(level)):
                mapping.setdefault(self.node_names[level][parent], []).append(below[child])
            levels.append({"name": self.level_names[level],
                           "nodes": {n: mapping[n] for n in self.node_names[level]}})
        return {"name": self.name, "levels": levels}

    def _parents(self, level: int) -> np.ndarray:
        """Level-``level`` parent of each node of level − 1."""
        parents = np.empty(len(self.node_names[level - 1]), dtype=np.int64)
        parents[self.class_to_node[level - 1]] = self.class_to_node[level]
        return parents


def flat_hierarchy(classes: Sequence[str]) -> Hierarchy:
    """The one-level hierarchy: certification as plain τ-abstain."""
    return build_hierarchy({"name": "flat", "levels": []}, classes)


def build_hierarchy(spec: Mapping, classes: Sequence[str]) -> Hierarchy:
    """Check ``spec`` (``dict(name=..., levels=[dict(name=..., nodes={node: [children]})])``)
    against the model's ``classes``; a ValueError names the first problem."""
    classes = tuple(str(c) for c in classes)
    if len(set(classes)) != len(classes):
        raise ValueError("the model's class names are not unique")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("levels"), list | tuple):
        raise ValueError("a hierarchy must be a dict with a list `levels`")
    name = str(spec.get("name", "custom"))
    level_names, node_names = [FINE_LEVEL], [classes]
    class_to_node = [np.arange(len(classes), dtype=np.int64)]
    for index, level in enumerate(spec["levels"]):
        if not isinstance(level, Mapping) or not isinstance(level.get("nodes"), Mapping):
            raise ValueError(f"hierarchy level {index + 1} must be a dict with a dict `nodes`")
        label = str(level.get("name", f"level {index + 1}"))
        if label in level_names:
            raise ValueError(f"hierarchy level name {label!r} is used twice")
        below = {n: i for i, n in enumerate(node_names[-1])}
        parent = np.full(len(below), -1, dtype=np.int64)
        nodes = tuple(str(n) for n in level["nodes"])
        for p, node in enumerate(nodes):
            children = level["nodes"][node]
            if isinstance(children, str) or not isinstance(children, Sequence) or not children:
                raise ValueError(f"hierarchy node {node!r} must list its children")
            for child in children:
                if child not in below:
                    what = "the model has no class" if index == 0 else \
                        f"level {level_names[-1]!r} has no node"
                    raise ValueError(f"hierarchy node {node!r} names {child!r}, but {what} "
                                     f"{child!r}")
                if parent[below[child]] >= 0:
                    raise ValueError(f"{child!r} is placed twice in hierarchy level "
                                     f"{label!r}")
                parent[below[child]] = p
        missing = [n for n, i in below.items() if parent[i] < 0]
        if missing:
            raise ValueError(f"hierarchy level {label!r} misses {missing[0]!r} "
                             f"({len(missing)} missing)")
        level_names.append(label)
        node_names.append(nodes)
        class_to_node.append(parent[class_to_node[-1]])
    for mapping in class_to_node:
        mapping.flags.writeable = False
    return Hierarchy(name, classes, tuple(level_names), tuple(node_names), tuple(class_to_node))


def _no_duplicate_keys(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"{key!r} is given twice")
    return dict(pairs)


def load_hierarchy(name_or_file: str | Mapping | None, classes: Sequence[str]) -> Hierarchy:
    """The hierarchy named ``name_or_file`` (a built-in name, a .json or .py file holding
    ``hierarchy = dict(...)``, or the dict itself) over ``classes``; None is flat."""
    if name_or_file is None:
        return flat_hierarchy(classes)
    if isinstance(name_or_file, Mapping):
        return build_hierarchy(name_or_file, classes)
    source = str(name_or_file)
    if source in BUILTIN:
        return build_hierarchy(BUILTIN[source], classes)
    if not os.path.isfile(source):
        raise ValueError(f"hierarchy {source!r} is neither a file nor one of "
                         f"{', '.join(sorted(BUILTIN))}")
    if source.endswith(".json"):
        with open(source, encoding="utf-8") as handle:
            try:
                spec = json.load(handle, object_pairs_hook=_no_duplicate_keys)
            except json.JSONDecodeError as exc:
                raise ValueError(f"hierarchy file {source}: {exc}") from None
        spec = spec.get("hierarchy", spec) if isinstance(spec, dict) else spec
    elif source.endswith(".py"):  # plain data, as a config file holds it: run it alone
        import runpy

        try:
            spec = runpy.run_path(source).get("hierarchy")
        except Exception as exc:  # a broken Python file: name it, do not trace back
            raise ValueError(f"hierarchy file {source}: {exc}") from None
        if spec is None:
            raise ValueError(f"hierarchy file {source} defines no `hierarchy`")
    else:
        raise ValueError(f"hierarchy file {source} must end in .json or .py")
    return build_hierarchy(spec, classes)


def node_information(hierarchy: Hierarchy) -> np.ndarray:
    """Per global node, the information a certificate of it carries: 1 − log|leaves| / log C
    (1 for a class, 0 for a node holding every class; §9)."""
    count = len(hierarchy.classes)
    if count < 2:
        return np.ones(hierarchy.num_nodes)
    return 1.0 - np.log(hierarchy.leaves()) / np.log(count)


def level_node_map(nodes: np.ndarray, hierarchy: Hierarchy, level: int,
                   abstain: int) -> np.ndarray:
    """Certified node map read at ``level``: pixels certified at that level or finer get
    their level-``level`` node (local id), all others ``abstain``."""
    table = hierarchy.level_of_class_node(level)
    table[hierarchy.global_levels() > level] = -1
    known = nodes != abstain
    mapped = np.where(known, table[np.where(known, nodes, 0)], -1)
    return np.where(mapped >= 0, mapped, abstain)


def correct_at_level(nodes: np.ndarray, gt: np.ndarray, hierarchy: Hierarchy, level: int,
                     abstain: int, ignore_index: int = 255) -> np.ndarray:
    """Pixels certified at ``level`` or finer whose certified node's level-``level``
    ancestor holds their ground-truth class: under every attack in the certified range,
    the level's smoothed segmenter outputs the ground truth's node there (a node with
    probability > 1/2 keeps its ancestors above 1/2). Ignored ground truth never counts."""
    valid = gt != ignore_index
    mapped = level_node_map(nodes, hierarchy, level, abstain)
    truth = hierarchy.class_to_node[level][np.where(valid, gt, 0)]
    return valid & (mapped != abstain) & (mapped == truth)


def information_gain(nodes: np.ndarray, gt: np.ndarray, hierarchy: Hierarchy, abstain: int,
                     ignore_index: int = 255) -> float:
    """Summed information of the pixels whose certified node holds their ground truth
    (divide by the valid pixels for the certified information gain, §9)."""
    valid = (gt != ignore_index) & (nodes != abstain)
    safe_nodes, safe_gt = np.where(valid, nodes, 0), np.where(valid, gt, 0)
    right = valid & hierarchy.membership()[safe_nodes, safe_gt]
    return float(node_information(hierarchy)[nodes[right]].sum())


def finest_node(hierarchy: Hierarchy, class_ids: Sequence[int]) -> tuple[int, int] | None:
    """(level, local node id) of the finest node holding every class of ``class_ids``;
    None for an empty set or one that only the root holds."""
    ids = np.unique(np.asarray(class_ids, dtype=np.int64))
    if ids.size == 0:
        return None
    for level in range(hierarchy.depth):
        nodes = np.unique(hierarchy.class_to_node[level][ids])
        if len(nodes) == 1:
            return level, int(nodes[0])
    return None


def box_label_node(hierarchy: Hierarchy, label_range: Sequence[float | None],
                   group: int | None, group_level: int = 1) -> tuple[str, str] | None:
    """(node name, level name) certified for a box's label (§9): the finest node holding
    every class that its label bounds allow inside its bin's ``group`` (a node of
    ``group_level``; None: the bounds alone). None when only the root holds them."""
    low, high = label_range
    low = 0 if low is None else max(0, int(np.ceil(low)))
    high = len(hierarchy.classes) - 1 if high is None else min(len(hierarchy.classes) - 1,
                                                               int(np.floor(high)))
    ids = np.arange(low, high + 1)
    if group is not None:
        ids = ids[hierarchy.class_to_node[group_level][ids] == group]
    found = finest_node(hierarchy, ids)
    if found is None:
        return None
    level, node = found
    return hierarchy.node_names[level][node], hierarchy.level_names[level]
