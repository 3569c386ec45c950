"""Synthetic camera-like driving scenes with exact Cityscapes labels and instance boxes.

The demo cannot download a data set, so it draws one: a street seen from a car's camera
(a road in perspective with dashed lanes, sidewalks, buildings with windows on both
sides, trees, sky, poles, signs and traffic lights) with cars, pedestrians and cyclists
placed in 3-D and drawn far to near, so they occlude each other as in a photograph.
Every primitive is drawn into the image and into the label map with the same
rasterisation, so labels are exact and a box is the extent of the pixels left visible.
Lighting (sunny / overcast / dusk, brightness, contrast, gamma, colour cast, shadows),
lens blur and sensor noise vary per scene.

Determinism: a scene is a pure function of (seed, height, width); the same arguments
give byte-identical images and labels with the same numpy and OpenCV versions.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from adcert.datasets._actors import (
    Cyclist,
    Env,
    Look,
    Pedestrian,
    Pole,
    Sign,
    Tree,
    Vehicle,
)
from adcert.datasets._canvas import Camera, Canvas, Color, fill_plain, mix, shade
from adcert.datasets.labels import (
    CATEGORY_IDS,
    DETECTION_CLASSES,
    IGNORE_INDEX,
    TRAIN_IDS,
)

# Instances with fewer visible pixels, or with less than this fraction of their own
# pixels left visible after occlusion, get no box (a tiny detector cannot learn them;
# their pixels keep their class in the label map).
MIN_VISIBLE_AREA = 40
MIN_VISIBLE_FRACTION = 0.3

_ROAD, _SIDEWALK, _BUILDING = TRAIN_IDS["road"], TRAIN_IDS["sidewalk"], TRAIN_IDS["building"]
_WALL, _FENCE, _VEGETATION = TRAIN_IDS["wall"], TRAIN_IDS["fence"], TRAIN_IDS["vegetation"]
_TERRAIN, _SKY = TRAIN_IDS["terrain"], TRAIN_IDS["sky"]


@dataclass(frozen=True)
class Instance:
    """One detectable object as it appears in the frame.

    ``bbox`` = (x1, y1, x2, y2) in pixel-edge coordinates: the object's visible pixels
    are exactly columns x1 .. x2-1 and rows y1 .. y2-1 (so COCO's [x, y, w, h] is
    [x1, y1, x2 - x1, y2 - y1]). ``area`` counts the visible pixels. ``track_id`` names
    the same object across the frames of a sequence.
    """

    category: str
    bbox: tuple[int, int, int, int]
    area: int
    track_id: int

    @property
    def category_id(self) -> int:
        """COCO category id (1-based, in :data:`DETECTION_CLASSES` order)."""
        return CATEGORY_IDS[self.category]


@dataclass(frozen=True, eq=False)
class Scene:
    """One rendered frame.

    ``image``: (H, W, 3) uint8 in **BGR** order (OpenCV's convention; ``cv2.imwrite``
    writes it as is). ``semantic``: (H, W) uint8 Cityscapes trainIds, 255 unlabelled.
    ``instance_map``: (H, W) uint16, value k > 0 marks the visible pixels of
    ``instances[k - 1]``, 0 elsewhere.
    """

    image: np.ndarray
    semantic: np.ndarray
    instance_map: np.ndarray
    instances: tuple[Instance, ...]
    seed: int
    frame: int = 0
    lighting: str = ""


def derive_seed(seed: int, split: str, index: int) -> int:
    """A 63-bit frame seed from (run seed, split name, frame index).

    Different splits draw from unrelated streams, so train and val never share a frame
    (up to a 2^-63 chance of collision); the mapping never changes between versions.
    """
    if int(seed) < 0 or int(index) < 0:
        raise ValueError(f"seed and index must be non-negative, got {seed}, {index}")
    key = int.from_bytes(hashlib.blake2b(split.encode(), digest_size=8).digest(), "big")
    state = np.random.SeedSequence([int(seed), key, int(index)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


# -- layout: everything a seed decides ---------------------------------------------------


@dataclass(frozen=True)
class _Lighting:
    mode: str
    sky_top: Color
    sky_horizon: Color
    clouds: float  # cloud cover, 0..1
    cloud_color: Color
    gains: tuple[float, float, float]  # colour cast, RGB
    brightness: float
    contrast: float
    gamma: float
    sun_side: float  # -1 sun on the left, +1 on the right, 0 no hard shadows
    shadow: float  # darkening inside cast shadows
    lights_on: bool
    blur: float  # Gaussian sigma of the lens, pixels
    noise: float  # sensor noise sigma, 0..255 scale
    drift: tuple[float, float, float]  # brightness drift in a sequence: amplitude, period s, phase


@dataclass(frozen=True)
class _Street:
    lanes: tuple[float, ...]  # lane centres (m), left to right
    lane_width: float
    oncoming: int  # the leftmost `oncoming` lanes carry traffic towards the camera
    ego: int
    curb: tuple[float, float]  # road edges, left and right
    walk: tuple[float, float]  # outer edges of the sidewalks
    facade: tuple[float, float]  # building fronts
    parking: tuple[bool, bool]
    crosswalk: float | None  # depth of the crosswalk's near edge


@dataclass(frozen=True, eq=False)
class _Layout:
    seed: int
    cam: Camera
    light: _Lighting
    street: _Street
    env: Env
    actors: tuple
    background: np.ndarray  # RGB, static part of every frame
    background_key: np.ndarray
    texture: np.ndarray  # (H, W) float32 multiplicative grain and vignetting
    hood: tuple[np.ndarray, Color] | None


_CAR_COLORS: tuple[Color, ...] = (
    (235, 235, 235),
    (186, 189, 193),
    (35, 36, 40),
    (104, 107, 112),
    (160, 26, 30),
    (30, 60, 132),
    (26, 70, 50),
    (200, 190, 160),
    (210, 120, 30),
    (100, 30, 50),
    (70, 110, 160),
)
_CAR_COLOR_P = (0.22, 0.18, 0.18, 0.12, 0.08, 0.08, 0.03, 0.03, 0.03, 0.03, 0.02)
_FACADES: tuple[Color, ...] = (
    (196, 184, 164),
    (176, 164, 150),
    (160, 88, 66),
    (214, 204, 188),
    (128, 128, 134),
    (204, 176, 138),
    (162, 172, 184),
    (232, 222, 204),
    (180, 150, 140),
    (150, 160, 150),
)
_GREENS: tuple[Color, ...] = (
    (46, 82, 38),
    (62, 100, 44),
    (80, 116, 52),
    (38, 70, 36),
    (96, 124, 60),
)
_SKIN: tuple[Color, ...] = ((232, 192, 160), (205, 155, 115), (160, 110, 78), (105, 70, 48))
_HAIR: tuple[Color, ...] = (
    (30, 25, 22),
    (78, 54, 32),
    (150, 110, 60),
    (205, 178, 128),
    (128, 128, 128),
)
_PANTS: tuple[Color, ...] = (
    (40, 46, 64),
    (30, 30, 34),
    (70, 82, 112),
    (150, 140, 118),
    (92, 92, 94),
)


def _pick(rng: np.random.Generator, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _jitter(rng: np.random.Generator, color: Color, amount: float = 12) -> Color:
    """Mostly lighter/darker, slightly tinted (independent channels would tint purple)."""
    common = rng.uniform(-amount, amount)
    tint = rng.uniform(-amount / 4, amount / 4, 3)
    return tuple(int(np.clip(c + common + d, 0, 255)) for c, d in zip(color, tint, strict=True))  # type: ignore[return-value]


def _sample_lighting(rng: np.random.Generator) -> _Lighting:
    mode = str(rng.choice(["sunny", "overcast", "dusk"], p=[0.45, 0.35, 0.2]))
    if mode == "sunny":
        base = dict(
            sky_top=(68, 128, 214),
            sky_horizon=(186, 212, 238),
            clouds=rng.uniform(0.0, 0.35),
            cloud_color=(246, 246, 250),
            gains=(1.04, 1.0, 0.94),
            brightness=0.03,
            contrast=1.1,
            gamma=0.95,
            sun_side=float(rng.choice([-1.0, 1.0])),
            shadow=rng.uniform(0.35, 0.55),
            lights_on=False,
        )
    elif mode == "overcast":
        base = dict(
            sky_top=(150, 156, 168),
            sky_horizon=(208, 210, 214),
            clouds=rng.uniform(0.5, 0.9),
            cloud_color=(178, 180, 188),
            gains=(0.98, 1.0, 1.03),
            brightness=0.0,
            contrast=0.85,
            gamma=1.05,
            sun_side=0.0,
            shadow=0.0,
            lights_on=False,
        )
    else:
        base = dict(
            sky_top=(58, 58, 112),
            sky_horizon=(250, 165, 100),
            clouds=rng.uniform(0.0, 0.4),
            cloud_color=(205, 122, 112),
            gains=(1.08, 0.93, 0.86),
            brightness=-0.1,
            contrast=0.95,
            gamma=1.2,
            sun_side=0.0,
            shadow=0.0,
            lights_on=True,
        )
    base["gains"] = tuple(g * rng.uniform(0.97, 1.03) for g in base["gains"])
    base["brightness"] += rng.uniform(-0.05, 0.05)
    base["contrast"] *= rng.uniform(0.92, 1.08)
    base["gamma"] *= rng.uniform(0.92, 1.08)
    drift = (rng.uniform(0.0, 0.04), rng.uniform(3.0, 8.0), rng.uniform(0, 2 * np.pi))
    return _Lighting(
        mode=mode, blur=rng.uniform(0.3, 0.9), noise=rng.uniform(1.5, 4.0), drift=drift, **base
    )


def _sample_street(rng: np.random.Generator) -> _Street:
    n = int(rng.choice([2, 3, 4], p=[0.45, 0.35, 0.2]))
    width = rng.uniform(3.0, 3.6)
    two_way = rng.random() < (0.75 if n == 2 else 0.55)
    oncoming = n // 2 if two_way else 0
    ego = int(rng.integers(oncoming, n))
    shift = rng.uniform(-0.4, 0.4)
    lanes = tuple((k - ego) * width + shift for k in range(n))
    parking = (bool(rng.random() < 0.5), bool(rng.random() < 0.6))
    left = lanes[0] - width / 2 - (2.3 if parking[0] else 0.4)
    right = lanes[-1] + width / 2 + (2.3 if parking[1] else 0.4)
    walk = (left - rng.uniform(2.0, 4.5), right + rng.uniform(2.0, 4.5))
    setback = [rng.uniform(0.8, 3.5) if rng.random() < 0.5 else 0.0 for _ in range(2)]
    facade = (walk[0] - setback[0], walk[1] + setback[1])
    crosswalk = rng.uniform(12.0, 30.0) if rng.random() < 0.3 else None
    return _Street(lanes, width, oncoming, ego, (left, right), walk, facade, parking, crosswalk)


def _sample_car(rng, x, z, speed, facing, track_id) -> Vehicle:
    kind = str(rng.choice(["car", "truck", "bus"], p=[0.9, 0.06, 0.04]))
    color = _jitter(rng, _pick(rng, _CAR_COLORS, _CAR_COLOR_P), 8)
    if kind == "car":
        style = str(rng.choice(["sedan", "hatch", "suv"], p=[0.45, 0.35, 0.2]))
        height = rng.uniform(1.4, 1.55) if style != "suv" else rng.uniform(1.6, 1.85)
        length = rng.uniform(3.8, 4.2) if style == "hatch" else rng.uniform(4.3, 4.9)
        return Vehicle(
            "car",
            x,
            z,
            speed,
            rng.uniform(1.68, 1.95),
            height,
            length,
            color,
            color,
            facing,
            style,
            track_id,
        )
    if kind == "truck":
        return Vehicle(
            "truck",
            x,
            z,
            speed,
            rng.uniform(2.3, 2.5),
            rng.uniform(3.0, 3.6),
            rng.uniform(6.5, 9.0),
            _jitter(rng, (225, 225, 220), 20),
            color,
            facing,
            "box",
            track_id,
        )
    bus = _pick(rng, ((225, 190, 40), (200, 40, 40), (235, 235, 235), (40, 90, 160)))
    return Vehicle(
        "bus",
        x,
        z,
        speed,
        2.5,
        rng.uniform(3.0, 3.2),
        rng.uniform(10.0, 12.0),
        bus,
        _jitter(rng, (40, 40, 40)),
        facing,
        "bus",
        track_id,
    )


def _look(rng: np.random.Generator) -> Look:
    shirt = tuple(int(c) for c in rng.integers(25, 235, 3))
    return Look(
        shirt=shirt,
        pants=_jitter(rng, _pick(rng, _PANTS)),
        skin=_pick(rng, _SKIN),
        hair=_pick(rng, _HAIR),
        shoes=_jitter(rng, (35, 32, 30), 20),
    )


def _overlaps(vehicles: list[Vehicle], x0: float, x1: float, z0: float, z1: float) -> bool:
    for v in vehicles:
        if (
            v.x - v.width / 2 - 0.3 < x1
            and x0 < v.x + v.width / 2 + 0.3
            and v.z - 1.0 < z1
            and z0 < v.z + v.length + 1.0
        ):
            return True
    return False


def _sample_traffic(rng, st: _Street, ids) -> list:
    vehicles: list[Vehicle] = []
    for k, center in enumerate(st.lanes):
        oncoming = k < st.oncoming
        speed = -rng.uniform(4.0, 10.0) if oncoming else rng.uniform(0.5, 6.0)
        z = rng.uniform(7.0, 14.0) if k == st.ego else rng.uniform(3.0, 12.0)
        while z < 75.0:
            if rng.random() < 0.7:
                x = center + rng.uniform(-0.25, 0.25)
                car = _sample_car(rng, x, z, speed, -1 if oncoming else 1, next(ids))
                vehicles.append(car)
                z += car.length
            z += rng.uniform(5.0, 25.0)
    for side, curb, parking in ((-1, st.curb[0], st.parking[0]), (1, st.curb[1], st.parking[1])):
        if not parking:
            continue
        z = rng.uniform(3.0, 8.0)
        while z < 60.0:
            if rng.random() < 0.8:
                facing = 1 if side > 0 or rng.random() < 0.5 else -1
                car = _sample_car(rng, curb - side * 1.15, z, 0.0, facing, next(ids))
                if car.kind == "car":
                    vehicles.append(car)
                    z += car.length
            z += rng.uniform(0.6, 4.0)
    return vehicles


def _sample_people(rng, cam: Camera, st: _Street, vehicles: list[Vehicle], ids) -> list:
    """Pedestrians on the sidewalks (and on a crosswalk), cyclists on or across the road."""
    people: list = []
    for _ in range(int(rng.integers(2, 10))):
        side = int(rng.choice([-1, 1]))
        inner, outer = (st.curb[0], st.walk[0]) if side < 0 else (st.curb[1], st.walk[1])
        x = rng.uniform(min(inner, outer) + 0.35, max(inner, outer) - 0.35)
        z = rng.uniform(max(4.0, cam.f * abs(x) / (0.48 * cam.width)), 45.0)  # in frame
        walking = rng.random() < 0.75
        facing = str(rng.choice(["toward", "away", "left", "right"], p=[0.42, 0.42, 0.08, 0.08]))
        vz = 0.0
        if walking and facing in ("toward", "away"):
            vz = rng.uniform(0.8, 1.6) * (1 if facing == "away" else -1)
        walker = _pedestrian(rng, x, z, 0.0, vz, facing, next(ids))
        if all(abs(p.x - x) > 0.6 or abs(p.z - z) > 1.0 for p in people):  # no twins
            people.append(walker)
    if st.crosswalk is not None:
        for _ in range(int(rng.integers(0, 4))):
            x = rng.uniform(st.curb[0] + 0.5, st.curb[1] - 0.5)
            z = st.crosswalk + rng.uniform(0.5, 3.0)
            vx = rng.uniform(0.9, 1.5) * rng.choice([-1.0, 1.0])
            walker = _pedestrian(rng, x, z, vx, 0.0, "right" if vx > 0 else "left", next(ids))
            if not _overlaps(vehicles, x - 0.3, x + 0.3, z - 0.3, z + 0.3):
                people.append(walker)
    for _ in range(int(rng.choice([0, 1, 2, 3], p=[0.2, 0.35, 0.3, 0.15]))):
        if rng.random() < 0.6:  # riding away near the right edge of the traffic lanes
            x = st.lanes[-1] + st.lane_width / 2 - rng.uniform(0.6, 0.9)
            z, vx, vz = rng.uniform(6.0, 40.0), 0.0, rng.uniform(2.5, 5.5)
            footprint = (x - 0.3, x + 0.3, z - 0.2, z + 1.8)
        else:  # crossing
            x, z = rng.uniform(st.curb[0] + 1.0, st.curb[1] - 1.0), rng.uniform(8.0, 35.0)
            vx, vz = rng.uniform(2.5, 5.0) * rng.choice([-1.0, 1.0]), 0.0
            footprint = (x - 0.9, x + 0.9, z - 0.3, z + 0.3)
        rider = _cyclist(rng, x, z, vx, vz, next(ids))
        if not _overlaps(vehicles, *footprint):
            people.append(rider)
    return people


def _pedestrian(rng, x, z, vx, vz, facing, track_id) -> Pedestrian:
    height, look, phase = rng.uniform(1.5, 1.95), _look(rng), rng.uniform(0, 2 * np.pi)
    return Pedestrian(x, z, vx, vz, height, look, facing, phase, track_id)


def _cyclist(rng, x, z, vx, vz, track_id) -> Cyclist:
    helmet = _pick(rng, ((230, 230, 230), (30, 30, 30), (200, 40, 40), (40, 90, 200)))
    frame = _jitter(rng, _pick(rng, ((30, 30, 30), (180, 30, 30), (40, 80, 160), (200, 200, 200))))
    facing = "away" if vz > 0 else ("right" if vx > 0 else "left")
    phase = rng.uniform(0, 2 * np.pi)
    return Cyclist(x, z, vx, vz, _look(rng), frame, helmet, facing, phase, track_id)


def _sample_furniture(rng, st: _Street, ids) -> list:
    things: list = []
    shapes = ("prohibitory", "mandatory", "warning", "info", "priority", "stop")
    for side, curb, walk in ((-1, st.curb[0], st.walk[0]), (1, st.curb[1], st.walk[1])):
        taken: list[float] = []
        z = rng.uniform(3.0, 15.0)
        while z < 90.0:
            kind = str(rng.choice(["lamp", "sign", "light"], p=[0.45, 0.4, 0.15]))
            x = curb + side * 0.45
            color = _jitter(rng, (90, 92, 96), 25)
            signs: tuple[Sign, ...] = ()
            height = rng.uniform(6.0, 8.5) if kind == "lamp" else rng.uniform(3.2, 4.2)
            if kind == "sign":
                size = rng.uniform(0.6, 0.85)
                top = rng.uniform(2.3, 2.9)
                signs = (Sign(_pick(rng, shapes), size, top, next(ids)),)
                if rng.random() < 0.25:
                    signs += (Sign(_pick(rng, shapes), size * 0.9, top - 0.95 * size, next(ids)),)
                height = top + size / 2
            arm, state = -side * rng.uniform(1.2, 2.2), int(rng.integers(0, 3))
            things.append(Pole(x, z, kind, height, arm, signs, state, color))
            taken.append(z)
            z += rng.uniform(12.0, 30.0)
        spots: list[tuple[float, float]] = []
        if rng.random() < 0.5:  # a tree-lined street
            z = rng.uniform(2.0, 10.0)
            while z < 100.0:
                spots.append((curb + side * rng.uniform(0.9, 1.4), z))
                z += rng.uniform(7.0, 14.0)
        setback = abs(st.facade[(side + 1) // 2] - walk)
        if setback > 1.2:
            for _ in range(int(rng.integers(0, 4))):
                spots.append((walk + side * rng.uniform(0.5, setback - 0.5), rng.uniform(4, 80)))
        for x, z in spots:
            if any(abs(z - t) < 2.0 for t in taken):
                continue
            things.append(_sample_tree(rng, x, z))
    return things


def _sample_tree(rng, x: float, z: float) -> Tree:
    trunk, radius = rng.uniform(1.8, 3.2), rng.uniform(1.3, 2.8)
    base = _pick(rng, _GREENS)
    blobs = []
    for _ in range(int(rng.integers(5, 10))):
        v = trunk + 0.9 * radius + rng.uniform(-0.6, 0.6) * radius
        light = 0.8 + 0.35 * (v - trunk) / (2 * radius) + rng.uniform(-0.1, 0.1)
        u, r = rng.uniform(-0.8, 0.8) * radius, radius * rng.uniform(0.45, 0.75)
        blobs.append((u, v, r, shade(base, light)))
    blobs.sort(key=lambda b: sum(b[3]))
    return Tree(x, z, trunk, tuple(blobs), _jitter(rng, (78, 60, 44), 10))


def _layout(seed: int, height: int, width: int) -> _Layout:
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if height < 32 or width < 32:
        raise ValueError(f"image must be at least 32x32, got {height}x{width}")
    rng = np.random.default_rng([int(seed), 0])
    cam = Camera(
        f=width * rng.uniform(0.75, 1.0),
        cx=width * (0.5 + rng.uniform(-0.06, 0.06)),
        cy=height * rng.uniform(0.38, 0.46),
        height=rng.uniform(1.3, 1.7),
        width=width,
        image_height=height,
    )
    light = _sample_lighting(rng)
    street = _sample_street(rng)
    glass = (82, 96, 112) if light.mode == "sunny" else (48, 56, 66)
    env = Env(cam, light.lights_on, light.sun_side, glass)
    ids = itertools.count()
    vehicles = _sample_traffic(rng, street, ids)
    actors = (
        *vehicles,
        *_sample_people(rng, cam, street, vehicles, ids),
        *_sample_furniture(rng, street, ids),
    )
    image, key = _render_background(rng, cam, light, street)
    texture = _texture(rng, height, width)
    hood = None
    if rng.random() < 0.3:
        u = np.linspace(-1.0, 1.0, 33)
        top = height * (1 - rng.uniform(0.05, 0.09) * (1 - 0.4 * u**2))
        pts = np.concatenate(
            [np.stack(((u + 1) / 2 * width, top), -1), [(width + 2, height + 2), (-2, height + 2)]]
        )
        hood = (pts, _jitter(rng, _pick(rng, ((40, 40, 44), (90, 92, 96), (30, 50, 90))), 10))
    return _Layout(int(seed), cam, light, street, env, actors, image, key, texture, hood)


# -- the static background ---------------------------------------------------------------


def _ground(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([[(x0, 0.0, z0), (x1, 0.0, z0), (x1, 0.0, z1), (x0, 0.0, z1)]])


def _draw_sky(rng, image: np.ndarray, cam: Camera, light: _Lighting) -> None:
    w = image.shape[1]
    h = min(image.shape[0], int(math.ceil(cam.cy)) + 3)  # the ground covers the rest
    image[h:] = light.sky_horizon
    t = np.clip(np.arange(h, dtype=np.float32) / max(cam.cy, 1.0), 0, 1)[:, None] ** 0.8
    rows = np.asarray(light.sky_top, np.float32) * (1 - t) + np.asarray(light.sky_horizon) * t
    sky = np.broadcast_to(rows[:, None, :], (h, w, 3)).astype(np.float32)
    if light.clouds > 0:
        coarse = rng.random((4, 7), dtype=np.float32)
        fine = rng.random((12, 24), dtype=np.float32)
        noise = 0.7 * cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        noise += 0.3 * cv2.resize(fine, (w, h), interpolation=cv2.INTER_CUBIC)
        alpha = np.clip((noise - (1 - light.clouds) * 0.8) * 2.5, 0, 0.9)[..., None]
        sky = sky * (1 - alpha) + np.asarray(light.cloud_color, np.float32) * alpha
    image[:h] = np.clip(sky, 0, 255).astype(np.uint8)


def _draw_skyline(rng, cv: Canvas, cam: Camera, light: _Lighting) -> None:
    """Distant buildings and trees on the horizon, hazy with distance."""
    w, scale = cv.w, cv.w / 512
    for _ in range(int(rng.integers(8, 20))):
        x = rng.uniform(-20, w + 20)
        bw, bh = rng.uniform(10, 60) * scale, rng.uniform(4, 30) * scale
        color = mix(_pick(rng, _FACADES), light.sky_horizon, rng.uniform(0.45, 0.7))
        box = np.array(
            [(x, cam.cy + 2), (x + bw, cam.cy + 2), (x + bw, cam.cy - bh), (x, cam.cy - bh)]
        )
        cv.fill([box], color, _BUILDING)
    for _ in range(int(rng.integers(5, 15))):
        x, r = rng.uniform(0, w), rng.uniform(4, 14) * scale
        color = mix(_pick(rng, _GREENS), light.sky_horizon, rng.uniform(0.35, 0.6))
        cv.circle((x, cam.cy - 0.4 * r), r, color, _VEGETATION)


def _draw_ground(rng, cv: Canvas, cam: Camera, light: _Lighting, st: _Street) -> None:
    h = cv.h
    zn = 0.6 * cam.f * cam.height / max(h - cam.cy, 1.0)  # below the bottom row
    zf = 4000.0
    terrain = _jitter(rng, _pick(rng, ((96, 118, 62), (128, 118, 86), (110, 126, 76))), 10)
    cv.fill(
        [np.array([(-2, cam.cy), (cv.w + 2, cam.cy), (cv.w + 2, h + 2), (-2, h + 2)])],
        terrain,
        _TERRAIN,
    )
    walk = _jitter(rng, _pick(rng, ((168, 164, 158), (150, 146, 142), (182, 172, 160))), 10)
    asphalt = _jitter(rng, _pick(rng, ((96, 96, 102), (84, 86, 90), (110, 108, 106))), 8)
    for i, side in enumerate((-1, 1)):
        outer, curb, facade = st.walk[i], st.curb[i], st.facade[i]
        if abs(facade - outer) > 0.1:
            paved = rng.random() < 0.5
            cv.world(
                cam,
                _ground(min(facade, outer), max(facade, outer), zn, zf),
                shade(walk, 0.95) if paved else terrain,
                _SIDEWALK if paved else _TERRAIN,
            )
        cv.world(cam, _ground(min(outer, curb), max(outer, curb), zn, zf), walk, _SIDEWALK)
        joints = np.arange(zn + rng.uniform(0, 1.5), 40.0, rng.uniform(1.2, 2.0))
        lo, hi = min(outer, curb), max(outer, curb)
        slabs = np.stack(
            [
                np.array([(lo, 0, z), (hi, 0, z), (hi, 0, z + 0.05), (lo, 0, z + 0.05)])
                for z in joints
            ]
        )
        cv.world(cam, slabs, shade(walk, 0.86))
        cv.world(
            cam,
            _ground(min(curb, curb + side * 0.18), max(curb, curb + side * 0.18), zn, zf),
            shade(walk, 1.12),
            _SIDEWALK,
        )
    cv.world(cam, _ground(st.curb[0], st.curb[1], zn, zf), asphalt, _ROAD)
    for _ in range(int(rng.integers(0, 5))):  # repaired patches
        x0 = rng.uniform(st.curb[0], st.curb[1] - 1)
        z0 = rng.uniform(zn, 40)
        patch = _ground(x0, x0 + rng.uniform(0.8, 3), z0, z0 + rng.uniform(1, 6))
        cv.world(cam, patch, shade(asphalt, rng.uniform(0.85, 1.1)))
    _draw_markings(rng, cv, cam, st, zn)


def _draw_markings(rng, cv: Canvas, cam: Camera, st: _Street, zn: float) -> None:
    paint = _jitter(rng, (226, 226, 220), 12)
    width = rng.uniform(0.12, 0.16)
    period, dash = rng.uniform(8.0, 12.0), rng.uniform(2.5, 3.5)
    starts = np.arange(zn - rng.uniform(0, period), 120.0, period)
    lines = []
    for k in range(len(st.lanes) - 1):
        x = (st.lanes[k] + st.lanes[k + 1]) / 2
        solid = k + 1 == st.oncoming
        if solid:
            lines.append(_ground(x - width / 2, x + width / 2, zn, 4000.0))
        else:
            lines.extend(_ground(x - width / 2, x + width / 2, z, z + dash) for z in starts)
    if rng.random() < 0.8:
        for x in (st.lanes[0] - st.lane_width / 2, st.lanes[-1] + st.lane_width / 2):
            lines.append(_ground(x - width / 2, x + width / 2, zn, 4000.0))
    if st.crosswalk is not None:
        z = st.crosswalk
        xs = np.arange(st.curb[0] + 0.5, st.curb[1] - 0.5, 1.0)
        lines.extend(_ground(x, x + 0.5, z, z + 3.5) for x in xs)
    if lines:
        # Dashes and crosswalk stripes do not overlap the long lines except at crossings;
        # fill one by one so crossings stay painted (cv2 batches fill even-odd).
        for quad in lines:
            cv.world(cam, quad, paint)


def _facade_quads(x: float, z0: float, z1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[(x, y0, z0), (x, y0, z1), (x, y1, z1), (x, y1, z0)]])


def _draw_backdrop(rng, cv: Canvas, cam: Camera, side: int, x: float) -> None:
    """What shows through gaps between buildings: a tree line or a second row of houses."""
    zs = np.arange(2.0, 220.0, 4.0)
    if rng.random() < 0.5:
        tops = rng.uniform(6.0, 13.0, len(zs))
        color, label = _pick(rng, _GREENS), _VEGETATION
    else:
        tops = np.repeat(rng.uniform(8.0, 25.0, len(zs) // 4 + 1), 4)[: len(zs)]
        color, label = mix(_pick(rng, _FACADES), (150, 150, 150), 0.3), _BUILDING
    top = np.stack((np.full_like(zs, x), tops, zs), -1)
    bottom = np.array([(x, 0.0, zs[-1]), (x, 0.0, zs[0])])
    cv.world(cam, np.concatenate([top, bottom])[None], shade(color, 0.8), label)


def _draw_buildings(
    rng,
    cv: Canvas,
    cam: Camera,
    light: _Lighting,
    side: int,
    x: float,
    shadows: list[np.ndarray],
    other: float,
) -> None:
    segments = []
    z = rng.uniform(0.5, 3.0)
    tall = rng.uniform(0.6, 1.0)
    while z < 170.0:
        if segments and rng.random() < 0.2:
            z += rng.uniform(3.0, 12.0)
            continue
        length = rng.uniform(8.0, 30.0)
        segments.append((z, z + length, rng.uniform(7.0, 28.0) * tall))
        z += length
    lit = 0.9 if light.sun_side == 0 else (0.7 if side == light.sun_side else 1.05)
    glass_tones = [(44, 52, 64), (96, 112, 128), (160, 156, 146)]
    if light.lights_on:
        glass_tones[2] = (255, 214, 140)
    for z0, z1, height in reversed(segments):  # far to near: nearer fronts cover side walls
        color = shade(_jitter(rng, _pick(rng, _FACADES), 10), lit)
        wall = np.array(
            [[(x, 0, z0), (x + side * 10, 0, z0), (x + side * 10, height, z0), (x, height, z0)]]
        )
        cv.world(cam, wall, shade(color, 0.75), _BUILDING)
        cv.world(cam, _facade_quads(x, z0, z1, 0.0, height), color, _BUILDING)
        shop = rng.random() < 0.6
        if shop:
            cv.world(cam, _facade_quads(x, z0, z1, 0.0, 3.3), shade(color, 0.78))
        cv.world(cam, _facade_quads(x, z0, z1, height - 0.5, height), shade(color, 0.7))
        _draw_windows(rng, cv, cam, x, z0, z1, height, shop, glass_tones, light.lights_on)
        if light.sun_side == side:
            reach = min(height * rng.uniform(0.3, 0.8), abs(other - x) - 0.3)
            slant = height * rng.uniform(-0.3, 0.3)
            shadows.append(
                np.array(
                    [
                        (x, 0, z0),
                        (x - side * reach, 0, z0 + slant),
                        (x - side * reach, 0, z1 + slant),
                        (x, 0, z1),
                    ]
                )
            )


def _window_quads(x: float, zs: np.ndarray, ys: np.ndarray, width: float, height: float):
    """(N, 4, 3) quads in the facade plane X = x, one per (z, y) lower-left corner."""
    xs = np.full_like(zs, x)
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    return np.stack([np.stack((xs, ys + dy, zs + dz), -1) for dz, dy in corners], 1)


def _draw_windows(rng, cv, cam, x, z0, z1, height, shop, tones, lit) -> None:
    floor = rng.uniform(2.9, 3.6)
    ww, wh, gap = rng.uniform(1.0, 1.6), rng.uniform(1.3, 1.8), rng.uniform(0.9, 2.2)
    cols = np.arange(z0 + 0.8, z1 - 0.8 - ww, ww + gap)
    rows = np.arange(1 if shop else 0, int((height - 1.0) / floor)) * floor + 0.9
    if len(cols) and len(rows):
        zc, yc = np.meshgrid(cols, rows)
        quads = _window_quads(x, zc.ravel(), yc.ravel(), ww, wh)
        tone = rng.choice(len(tones), size=len(quads), p=[0.55, 0.3, 0.15])
        for i, color in enumerate(tones):
            if np.any(tone == i):
                cv.world(cam, quads[tone == i], color)
    if shop:  # shop windows on the ground floor, lit at dusk
        sw = rng.uniform(2.5, 4.0)
        cols = np.arange(z0 + 0.6, z1 - 0.6 - sw, sw + 1.0)
        if len(cols):
            quads = _window_quads(x, cols, np.full_like(cols, 0.4), sw, 2.3)
            cv.world(cam, quads, tones[2] if lit else tones[1])


def _draw_boundary(rng, cv: Canvas, cam: Camera, x: float) -> None:
    """Hedges, fences and low walls along the back of the sidewalk."""
    z = rng.uniform(2.0, 20.0)
    while z < 120.0:
        length = rng.uniform(5.0, 25.0)
        kind = str(rng.choice(["hedge", "fence", "wall", "none"], p=[0.35, 0.25, 0.2, 0.2]))
        if kind == "hedge":
            zs = np.arange(z, z + length, 0.7)
            tops = rng.uniform(0.9, 1.4, len(zs))
            top = np.stack((np.full_like(zs, x), tops, zs), -1)
            bottom = np.array([(x, 0.0, zs[-1]), (x, 0.0, zs[0])])
            color = shade(_pick(rng, _GREENS), 0.9)
            cv.world(cam, np.concatenate([top, bottom])[None], color, _VEGETATION)
        elif kind == "wall":
            height = rng.uniform(0.8, 1.8)
            color = _jitter(rng, (170, 165, 155), 20)
            cv.world(cam, _facade_quads(x, z, z + length, 0.0, height), color, _WALL)
            cv.world(cam, _facade_quads(x, z, z + length, height - 0.12, height), shade(color, 0.8))
        elif kind == "fence":
            height = rng.uniform(1.0, 1.6)
            color = _jitter(rng, _pick(rng, ((60, 62, 64), (120, 100, 70), (40, 70, 50))), 10)
            bars = np.arange(z, z + length, 0.35)
            quads = np.concatenate([_facade_quads(x, b, b + 0.07, 0.0, height) for b in bars])
            cv.world(cam, quads, color, _FENCE)
            for y in (0.15, height - 0.1):
                cv.world(cam, _facade_quads(x, z, z + length, y - 0.05, y + 0.05), color, _FENCE)
        z += length + rng.uniform(0.0, 10.0)


def _render_background(rng, cam: Camera, light: _Lighting, st: _Street):
    h, w = cam.image_height, cam.width
    image = np.empty((h, w, 3), np.uint8)
    key = np.full((h, w), _SKY, np.int32)
    _draw_sky(rng, image, cam, light)
    cv = Canvas(image, key)
    _draw_skyline(rng, cv, cam, light)
    _draw_ground(rng, cv, cam, light, st)
    shadows: list[np.ndarray] = []
    for i, side in enumerate((-1, 1)):
        _draw_backdrop(rng, cv, cam, side, st.facade[i] + side * 18.0)
        _draw_buildings(rng, cv, cam, light, side, st.facade[i], shadows, st.facade[1 - i])
        if abs(st.facade[i] - st.walk[i]) > 0.5:
            _draw_boundary(rng, cv, cam, st.walk[i] + side * 0.1)
    if shadows:
        mask = np.zeros((h, w), np.uint8)
        fill_plain(mask, [cam.project(p) for p in shadows], 255)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
        factor = 1.0 - light.shadow * mask.astype(np.float32)[..., None] / 255.0
        image[:] = (image * factor).astype(np.uint8)
    return image, key


def _texture(rng, h: int, w: int) -> np.ndarray:
    """Static multiplicative grain (two scales) and lens vignetting."""
    coarse = cv2.resize(
        rng.random((6, 12), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    fine = cv2.resize(
        rng.random((h // 4, w // 4), dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR
    )
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vignette = 1.0 - rng.uniform(0.04, 0.16) * r2 / 2
    return (1.0 + 0.08 * (coarse - 0.5) + 0.07 * (fine - 0.5)) * vignette


# -- one frame ---------------------------------------------------------------------------


def _tone_curve(light: _Lighting, lift: float) -> np.ndarray:
    """(256, 1, 3) lookup table: gamma, contrast, brightness, then the colour cast (RGB)."""
    x = np.arange(256, dtype=np.float64) / 255.0
    y = (x**light.gamma - 0.5) * light.contrast + 0.5 + light.brightness + lift
    table = np.stack([np.clip(np.round(y * g * 255.0), 0, 255) for g in light.gains], -1)
    return table.astype(np.uint8).reshape(256, 1, 3)


def _render(lay: _Layout, frame: int, t: float) -> Scene:
    env, light = lay.env, lay.light
    image, key = lay.background.copy(), lay.background_key.copy()
    cv = Canvas(image, key)
    _apply_actor_shadows(lay, image, t)
    full: dict[int, int] = {}
    for actor in sorted(lay.actors, key=lambda a: -a.near(t)):
        first = len(cv.owners) + 1
        actor.draw(cv, env, t)
        for inst in range(first, len(cv.owners) + 1):
            full[inst] = cv.count(inst)
    if lay.hood is not None:
        pts, color = lay.hood
        cv.fill([pts], color, IGNORE_INDEX)
        edge = pts[:-2]
        cv.fill([np.concatenate([edge, edge[::-1] + (0, 2.5)])], shade(color, 1.4))  # highlight
    instances, instance_map = _visible_instances(cv, full)
    rng = np.random.default_rng([lay.seed, 1, frame])
    amp, period, phase = light.drift
    lift = amp * (math.sin(2 * math.pi * t / period + phase) - math.sin(phase))
    out = _sensor(image, lay.texture, _tone_curve(light, lift), light, rng)
    semantic = (key & 0xFF).astype(np.uint8)
    return Scene(out, semantic, instance_map, instances, lay.seed, frame, light.mode)


def _apply_actor_shadows(lay: _Layout, image: np.ndarray, t: float) -> None:
    cast, contact = [], []
    for actor in lay.actors:
        c1, c2 = actor.shadow(lay.env, t)
        cast += [p for p in c1 if p[:, 2].min() > 0.3]
        contact += [p for p in c2 if p[:, 2].min() > 0.3]
    if not cast and not contact:
        return
    mask = np.zeros(image.shape[:2], np.uint8)
    fill_plain(mask, [lay.cam.project(p) for p in cast], int(255 * lay.light.shadow))
    fill_plain(mask, [lay.cam.project(p) for p in contact], 160)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.2)
    factor = 1.0 - mask.astype(np.float32)[..., None] / 255.0
    image[:] = (image * factor).astype(np.uint8)


def _visible_instances(cv: Canvas, full: dict[int, int]):
    ids = cv.key >> 8
    kept: list[Instance] = []
    lut = np.zeros(len(cv.owners) + 1, np.uint16)
    for inst, (category, track_id) in cv.owners.items():
        x0, y0, x1, y1 = cv.regions[inst]
        if x1 <= x0 or y1 <= y0:
            continue
        mask = ids[y0:y1, x0:x1] == inst
        area = int(np.count_nonzero(mask))
        if area < MIN_VISIBLE_AREA or area < MIN_VISIBLE_FRACTION * full.get(inst, area):
            continue
        cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
        bbox = (
            x0 + int(cols[0]),
            y0 + int(rows[0]),
            x0 + int(cols[-1]) + 1,
            y0 + int(rows[-1]) + 1,
        )
        kept.append(Instance(category, bbox, area, track_id))
        lut[inst] = len(kept)
    return tuple(kept), lut[ids]


def _sensor(image, texture, curve, light: _Lighting, rng: np.random.Generator) -> np.ndarray:
    """Grain and vignetting, tone curve and colour cast, lens blur, sensor noise; → BGR."""
    x = image * texture[..., None]
    x = cv2.LUT(np.clip(x, 0, 255).astype(np.uint8), curve)
    x = cv2.GaussianBlur(x, (0, 0), light.blur)
    noisy = x + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(light.noise)
    return np.ascontiguousarray(np.clip(noisy, 0, 255).astype(np.uint8)[..., ::-1])


# -- public API ----------------------------------------------------------------------------


def generate_scene(seed: int, height: int = 256, width: int = 512) -> Scene:
    """One driving scene, a pure function of (seed, height, width).

    Returns a :class:`Scene` with a BGR image, a Cityscapes-trainId label map and the
    visible instances of the detection classes (:data:`DETECTION_CLASSES`), each box
    tight around its visible pixels. Equals frame 0 of ``generate_sequence(seed, ...)``.
    """
    return _render(_layout(seed, height, width), frame=0, t=0.0)


def generate_sequence(
    seed: int, num_frames: int, height: int = 256, width: int = 512, *, fps: float = 10.0
) -> list[Scene]:
    """``num_frames`` consecutive frames of one street at ``fps`` frames per second.

    The street, buildings and lighting stay; cars, pedestrians and cyclists move at
    constant velocity, brightness drifts slightly, and each frame draws fresh sensor
    noise. ``track_id`` follows each object across frames. Deterministic in the arguments.
    """
    if num_frames < 0:
        raise ValueError(f"num_frames must be non-negative, got {num_frames}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    lay = _layout(seed, height, width)
    return [_render(lay, frame=i, t=i / fps) for i in range(num_frames)]


__all__ = [
    "DETECTION_CLASSES",
    "MIN_VISIBLE_AREA",
    "MIN_VISIBLE_FRACTION",
    "Instance",
    "Scene",
    "derive_seed",
    "generate_scene",
    "generate_sequence",
]
