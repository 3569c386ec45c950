"""Things that stand on the street and are drawn far to near: vehicles, pedestrians,
cyclists, poles with signs or lights, and trees.

Each actor is a frozen description (position at t = 0, velocity, look); ``draw`` renders
it at time ``t`` onto a :class:`~adcert.datasets._canvas.Canvas`, ``near`` is the depth
used for painter's ordering, ``shadow`` gives ground polygons for the shadow pass.
Vehicles are built from boxes in 3-D (back-face culled); people, bicycles and signs are
flat figures in the plane Z = const, scaled by the pinhole model at their depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from adcert.datasets._canvas import (
    Camera,
    Canvas,
    Color,
    bilinear,
    hexa,
    limb,
    shade,
    visible_faces,
)
from adcert.datasets.labels import TRAIN_IDS

_DARK: Color = (24, 24, 27)
_TIRE: Color = (30, 30, 32)
_HUB: Color = (120, 120, 125)
_MIN_DEPTH = 1.6  # metres; nearer things are behind the bonnet or out of frame


@dataclass(frozen=True)
class Env:
    """What actors need to know about the frame they are drawn into."""

    cam: Camera
    lights_on: bool
    sun_side: float  # -1: sun on the left, +1: on the right, 0: diffuse light
    glass: Color


def _off_screen(env: Env, xf: float, s: float, half_width_m: float) -> bool:
    return xf + s * half_width_m < -2 or xf - s * half_width_m > env.cam.width + 2


def _ground_rect(x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return np.array([(x0, 0.0, z0), (x1, 0.0, z0), (x1, 0.0, z1), (x0, 0.0, z1)])


def _cast(rect: np.ndarray, env: Env, height: float) -> list[np.ndarray]:
    """A cast shadow: the footprint stretched away from the sun."""
    if env.sun_side == 0:
        return []
    out = rect.copy()
    far = out[:, 0] * -env.sun_side >= out[:, 0].mean() * -env.sun_side
    out[far, 0] -= env.sun_side * 0.8 * height
    out[:, 2] += 0.15 * height
    return [out]


# -- vehicles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Vehicle:
    """A car, truck or bus driving along Z (``facing=+1``: rear towards the camera)."""

    kind: str  # "car" | "truck" | "bus"
    x: float  # lateral centre (m)
    z: float  # depth of the face nearest the camera at t = 0 (m)
    speed: float  # m/s along +Z
    width: float
    height: float
    length: float
    color: Color
    accent: Color
    facing: int
    style: str  # car body: "sedan" | "hatch" | "suv"
    track_id: int

    def near(self, t: float) -> float:
        return self.z + self.speed * t

    def shadow(self, env: Env, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        z0 = self.near(t)
        if z0 < _MIN_DEPTH:
            return [], []
        x0, x1 = self.x - self.width / 2 - 0.12, self.x + self.width / 2 + 0.12
        rect = _ground_rect(x0, x1, z0 - 0.15, z0 + self.length + 0.1)
        return _cast(rect, env, self.height), [rect]

    def draw(self, cv: Canvas, env: Env, t: float) -> None:
        z0 = self.near(t)
        if z0 < _MIN_DEPTH:
            return
        label = TRAIN_IDS[self.kind]
        inst = cv.begin("car", self.track_id) if self.kind == "car" else 0
        if self.kind == "car":
            self._draw_car(cv, env, z0, label, inst)
        elif self.kind == "truck":
            self._draw_truck(cv, env, z0, label)
        else:
            self._draw_bus(cv, env, z0, label)

    # Parts -------------------------------------------------------------------------

    def _box(self, cv, env, corners, color, label, inst) -> dict[str, np.ndarray]:
        faces = visible_faces(corners, env.cam)
        sun = {"left": -env.sun_side, "right": env.sun_side}
        for name, q in faces.items():
            factor = {"near": 0.86, "top": 1.0}.get(name, 0.68 + 0.2 * sun.get(name, 0.0))
            cv.world(env.cam, q[None], shade(color, factor), label, inst)
        return faces

    def _wheels(self, cv, env, z0, radius, label, inst) -> None:
        x0, x1, z1 = self.x - self.width / 2, self.x + self.width / 2, z0 + self.length
        inset = 0.2 * radius + 0.05
        centers = sorted((z0 + inset + 1.3 * radius, z1 - inset - 1.3 * radius), reverse=True)
        for zc in centers:
            for xa, xb in ((x0 + 0.03, x0 + 0.28), (x1 - 0.28, x1 - 0.03)):
                box = hexa(xa, xb, 0.0, 2 * radius, zc - radius, zc + radius)
                self._box(cv, env, box, _TIRE, label, inst)

    def _side_wheels(self, cv, env, faces, z0, radius, label, inst) -> None:
        if "left" in faces:
            xs = self.x - self.width / 2
        elif "right" in faces:
            xs = self.x + self.width / 2
        else:
            return
        inset = 0.2 * radius + 0.05
        theta = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        for zc in (z0 + inset + 1.3 * radius, z0 + self.length - inset - 1.3 * radius):
            for r, color, lab in ((radius, _TIRE, label), (0.55 * radius, _HUB, None)):
                ring = np.stack(
                    (np.full_like(theta, xs), radius + r * np.sin(theta), zc + r * np.cos(theta)),
                    axis=-1,
                )
                cv.world(env.cam, ring[None], color, lab, inst)

    def _lights(self, cv, env, near_face, v0, v1, front: bool) -> None:
        if front:
            color = (255, 250, 225) if env.lights_on else (215, 215, 200)
        else:
            color = (255, 70, 55) if env.lights_on else (165, 25, 25)
        for a0, a1 in ((0.03, 0.2), (0.8, 0.97)):
            cv.world(env.cam, bilinear(near_face, a0, a1, v0, v1)[None], color)

    def _draw_car(self, cv, env, z0, label, inst) -> None:
        w, h, length = self.width, self.height, self.length
        x0, x1, z1 = self.x - w / 2, self.x + w / 2, z0 + length
        radius = 0.31
        self._wheels(cv, env, z0, radius, label, inst)
        body_top = h * (0.58 if self.style == "suv" else 0.54)
        body = hexa(x0, x1, 0.22, body_top, z0, z1, 0.03, 0.06, 0.06)
        faces = self._box(cv, env, body, self.color, label, inst)
        # The cabin: rear window slant and length depend on the body style.
        back = {"sedan": 0.27, "hatch": 0.1, "suv": 0.06}[self.style] * length
        back_slant = {"sedan": 0.3, "hatch": 0.14, "suv": 0.06}[self.style]
        front, front_slant = 0.3 * length, 0.5
        if self.facing > 0:
            cz0, cz1, s_near, s_far = z0 + back, z1 - front, back_slant, front_slant
        else:
            cz0, cz1, s_near, s_far = z0 + front, z1 - back, front_slant, back_slant
        cabin = hexa(x0 + 0.06 * w, x1 - 0.06 * w, body_top, h, cz0, cz1, 0.1, s_near, s_far)
        cab_faces = self._box(cv, env, cabin, self.color, label, inst)
        if "near" in cab_faces:
            glass = bilinear(cab_faces["near"], 0.07, 0.93, 0.08, 0.9)
            cv.world(env.cam, glass[None], env.glass)
        for side in ("left", "right"):
            if side in cab_faces:
                q = cab_faces[side]
                panes = [bilinear(q, 0.06, 0.47, 0.12, 0.88), bilinear(q, 0.53, 0.94, 0.12, 0.88)]
                cv.world(env.cam, np.stack(panes), shade(env.glass, 0.85))
        near = faces.get("near")
        if near is not None:
            cv.world(env.cam, bilinear(near, 0.0, 1.0, 0.0, 0.22)[None], (52, 52, 55))
            if self.facing > 0:
                self._lights(cv, env, near, 0.55, 0.85, front=False)
                cv.world(env.cam, bilinear(near, 0.38, 0.62, 0.28, 0.52)[None], (225, 225, 215))
            else:
                self._lights(cv, env, near, 0.6, 0.85, front=True)
                cv.world(env.cam, bilinear(near, 0.3, 0.7, 0.5, 0.82)[None], (40, 40, 44))
                cv.world(env.cam, bilinear(near, 0.38, 0.62, 0.08, 0.22)[None], (225, 225, 215))
        self._side_wheels(cv, env, faces, z0, radius, label, inst)

    def _draw_truck(self, cv, env, z0, label) -> None:
        w, length = self.width, self.length
        x0, x1, z1 = self.x - w / 2, self.x + w / 2, z0 + length
        radius = 0.5
        self._wheels(cv, env, z0, radius, label, 0)
        cab_len = 2.2
        if self.facing > 0:
            cargo_z, cab_z = (z0, z1 - cab_len - 0.25), (z1 - cab_len, z1)
            order = ("cab", "cargo")
        else:
            cab_z, cargo_z = (z0, z0 + cab_len), (z0 + cab_len + 0.25, z1)
            order = ("cargo", "cab")
        for part in order:
            if part == "cab":
                box = hexa(x0 + 0.05, x1 - 0.05, 0.45, 2.9, *cab_z, 0.05, 0.1, 0.0)
                faces = self._box(cv, env, box, self.accent, label, 0)
                if self.facing < 0 and "near" in faces:
                    cv.world(
                        env.cam, bilinear(faces["near"], 0.06, 0.94, 0.55, 0.92)[None], env.glass
                    )
                    self._lights(cv, env, faces["near"], 0.12, 0.25, front=True)
            else:
                box = hexa(x0, x1, 0.55, self.height, *cargo_z)
                faces = self._box(cv, env, box, self.color, label, 0)
                if self.facing > 0 and "near" in faces:
                    cv.world(
                        env.cam,
                        bilinear(faces["near"], 0.49, 0.51, 0.05, 0.95)[None],
                        shade(self.color, 0.5),
                    )
                    self._lights(cv, env, faces["near"], 0.05, 0.12, front=False)
        self._side_wheels(cv, env, faces, z0, radius, label, 0)

    def _draw_bus(self, cv, env, z0, label) -> None:
        w, length = self.width, self.length
        x0, x1, z1 = self.x - w / 2, self.x + w / 2, z0 + length
        radius = 0.5
        self._wheels(cv, env, z0, radius, label, 0)
        body = hexa(x0, x1, 0.3, self.height, z0, z1, 0.05, 0.05, 0.05)
        faces = self._box(cv, env, body, self.color, label, 0)
        if "near" in faces:
            q = faces["near"]
            cv.world(env.cam, bilinear(q, 0.05, 0.95, 0.45, 0.92)[None], env.glass)
            self._lights(cv, env, q, 0.08, 0.16, front=self.facing < 0)
        for side in ("left", "right"):
            if side in faces:
                cv.world(
                    env.cam,
                    bilinear(faces[side], 0.03, 0.97, 0.52, 0.88)[None],
                    shade(env.glass, 0.85),
                )
                cv.world(env.cam, bilinear(faces[side], 0.0, 1.0, 0.3, 0.38)[None], self.accent)
        self._side_wheels(cv, env, faces, z0, radius, label, 0)


# -- people ----------------------------------------------------------------------------

Part = tuple[object, Color, int | None]  # (polygon (k, 2) or circle (u, v, r), colour, label)


def _draw_parts(
    cv: Canvas, parts: list[Part], xf: float, yf: float, s: float, inst_label: int, inst: int
) -> None:
    """Draw a flat figure given in metres (u right, v up) with its origin at pixel (xf, yf)."""
    for geom, color, label in parts:
        owner = inst if label == inst_label else 0
        if isinstance(geom, tuple):
            u, v, r, *thick = geom
            t = max(1, int(round(thick[0] * s))) if thick else -1
            cv.circle((xf + s * u, yf - s * v), r * s, color, label, owner, t)
        else:
            pts = np.asarray(geom, dtype=np.float64)
            cv.fill(
                [np.stack((xf + s * pts[:, 0], yf - s * pts[:, 1]), axis=-1)], color, label, owner
            )


@dataclass(frozen=True)
class Look:
    """Clothes and skin of a person or rider."""

    shirt: Color
    pants: Color
    skin: Color
    hair: Color
    shoes: Color


def _head(parts: list[Part], look: Look, u: float, v: float, r: float, facing: str, lab: int):
    if facing == "away":
        parts.append(((u, v, r), look.hair, lab))
    elif facing == "toward":
        parts.append(((u, v + 0.18 * r, r * 1.02), look.hair, lab))
        parts.append(((u, v - 0.06 * r, r * 0.9), look.skin, lab))
    else:
        d = 1.0 if facing == "right" else -1.0
        parts.append(((u - 0.25 * r * d, v + 0.15 * r, r), look.hair, lab))
        parts.append(((u + 0.15 * r * d, v - 0.08 * r, r * 0.88), look.skin, lab))


def person_parts(height: float, look: Look, facing: str, phase: float, walking: bool) -> list[Part]:
    """A pedestrian as flat parts; ``facing`` is "toward" | "away" | "left" | "right"."""
    lab = TRAIN_IDS["person"]
    h = height
    hip, sh, head_v, hr = 0.5 * h, 0.81 * h, 0.925 * h, 0.066 * h
    k = h / 1.75
    parts: list[Part] = []
    if facing in ("toward", "away"):
        lift = 0.03 * h * math.sin(phase) if walking else 0.0
        for side, dv in ((-1, max(lift, 0.0)), (1, max(-lift, 0.0))):
            foot = (side * 0.1 * k, dv)
            parts.append((limb((side * 0.08 * k, hip), foot, 0.13 * k, 0.1 * k), look.pants, lab))
            shoe = limb((foot[0], foot[1] + 0.0), (foot[0], foot[1] + 0.07 * k), 0.12 * k)
            parts.append((shoe, look.shoes, lab))
        torso = np.array(
            [
                (-0.16, hip - 0.05),
                (0.16, hip - 0.05),
                (0.2, sh),
                (0.1, sh + 0.035),
                (-0.1, sh + 0.035),
                (-0.2, sh),
            ]
        ) * (k, 1)
        parts.append((torso, look.shirt, lab))
        swing = 0.03 * h * math.sin(phase) if walking else 0.0
        for side in (-1, 1):
            hand = (side * 0.24 * k, hip - 0.02 + side * swing)
            parts.append(
                (limb((side * 0.19 * k, sh - 0.03), hand, 0.09 * k, 0.075 * k), look.shirt, lab)
            )
            parts.append(((hand[0], hand[1] - 0.03, 0.045 * k), look.skin, lab))
        parts.append((limb((0, sh), (0, head_v - 0.7 * hr), 0.08 * k), look.skin, lab))
        _head(parts, look, 0.0, head_v, hr, facing, lab)
        return parts
    d = 1.0 if facing == "right" else -1.0
    a = 0.42 * math.sin(phase) if walking else 0.0
    legs = []
    for sign in (1, -1):
        foot = (d * hip * math.sin(sign * a), hip * (1 - math.cos(a)))
        legs.append((sign, foot))
    # The leg swinging backwards is the far one: draw it first, a shade darker.
    for sign, foot in sorted(legs, key=lambda item: item[0] * a):
        pants = look.pants if sign * a >= 0 else shade(look.pants, 0.8)
        parts.append((limb((0.0, hip), foot, 0.14 * k, 0.1 * k), pants, lab))
        toe = (foot[0] + d * 0.13 * k, foot[1])
        parts.append((limb((foot[0] - d * 0.03, foot[1] + 0.03), toe, 0.07 * k), look.shoes, lab))
    arm, shoulder = 0.33 * h, (d * 0.02, sh - 0.03)

    def hand_at(angle: float) -> tuple[float, float]:
        return (shoulder[0] + d * arm * math.sin(angle), shoulder[1] - arm * math.cos(angle))

    far_hand, near_hand = hand_at(-0.8 * a), hand_at(0.8 * a)  # arms swing against the legs
    parts.append((limb(shoulder, far_hand, 0.085 * k, 0.07 * k), shade(look.shirt, 0.8), lab))
    torso = limb((0.0, hip - 0.05), (d * 0.03, sh + 0.03), 0.23 * k, 0.25 * k)
    parts.append((torso, look.shirt, lab))
    parts.append((limb(shoulder, near_hand, 0.085 * k, 0.07 * k), look.shirt, lab))
    parts.append(((near_hand[0], near_hand[1], 0.045 * k), look.skin, lab))
    parts.append((limb((d * 0.02, sh), (d * 0.03, head_v - 0.7 * hr), 0.08 * k), look.skin, lab))
    _head(parts, look, d * 0.03, head_v, hr, facing, lab)
    return parts


class _Walker:
    """Moves at constant ground velocity (vx, vz) m/s from (x, z); needs those fields."""

    x: float
    z: float
    vx: float
    vz: float

    def near(self, t: float) -> float:
        return self.z + self.vz * t

    def _where(self, t: float) -> tuple[float, float]:
        return self.x + self.vx * t, self.near(t)


@dataclass(frozen=True)
class Pedestrian(_Walker):
    """A person standing or walking (``vx``, ``vz`` in m/s) at ground point (x, z)."""

    x: float
    z: float
    vx: float
    vz: float
    height: float
    look: Look
    facing: str
    phase: float
    track_id: int

    def shadow(self, env: Env, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        x, z = self._where(t)
        if z < _MIN_DEPTH:
            return [], []
        rect = _ground_rect(x - 0.28, x + 0.28, z - 0.18, z + 0.18)
        return _cast(rect, env, self.height), [rect]

    def draw(self, cv: Canvas, env: Env, t: float) -> None:
        x, z = self._where(t)
        if z < _MIN_DEPTH:
            return
        xf, yf, s = env.cam.foot(x, z)
        if _off_screen(env, xf, s, 0.6):
            return
        speed = math.hypot(self.vx, self.vz)
        phase = self.phase + 2 * math.pi * speed * t / 1.4
        parts = person_parts(self.height, self.look, self.facing, phase, speed > 0.1)
        label = TRAIN_IDS["person"]
        _draw_parts(cv, parts, xf, yf, s, label, cv.begin("person", self.track_id))


def _knee(hip, foot, length: float, forward: float):
    """Two equal segments from hip to foot; the knee bends towards ``forward`` (±1 in u)."""
    hip, foot = np.asarray(hip, dtype=np.float64), np.asarray(foot, dtype=np.float64)
    d = foot - hip
    dist = max(float(np.hypot(*d)), 1e-6)
    rise = math.sqrt(max(length**2 - (dist / 2) ** 2, 0.0))
    n = np.array((-d[1], d[0])) / dist
    if n[0] * forward < 0:
        n = -n
    return (hip + foot) / 2 + n * rise


def cyclist_parts(look: Look, frame: Color, helmet: Color, facing: str, phase: float) -> list[Part]:
    """Rider (trainId 12) on a bicycle (trainId 18), seen from the side or from behind."""
    rider, bike = TRAIN_IDS["rider"], TRAIN_IDS["bicycle"]
    parts: list[Part] = []
    crank = 0.17
    if facing == "away":
        pedal = (0.3 + crank * math.sin(phase), 0.3 - crank * math.sin(phase))
        parts.append((limb((0, 0.08), (0, 0.62), 0.05), _TIRE, bike))  # front wheel
        parts.append((limb((-0.28, 1.04), (0.28, 1.04), 0.035), _DARK, bike))  # handlebar
        for side, pv in zip((-1, 1), pedal, strict=True):
            hip, foot = (side * 0.1, 0.98), (side * 0.16, pv)
            knee = (side * 0.2, (0.98 + pv) / 2 + 0.06)
            parts.append((limb(hip, knee, 0.14, 0.11), look.pants, rider))
            parts.append((limb(knee, foot, 0.11, 0.09), look.pants, rider))
            parts.append((limb(foot, (foot[0], foot[1] + 0.06), 0.1), look.shoes, rider))
        torso = np.array([(-0.15, 0.95), (0.15, 0.95), (0.2, 1.4), (-0.2, 1.4)])
        parts.append((torso, look.shirt, rider))
        for side in (-1, 1):
            parts.append(
                (limb((side * 0.19, 1.38), (side * 0.27, 1.05), 0.085, 0.07), look.shirt, rider)
            )
        parts.append(((0.0, 1.53, 0.1), look.skin, rider))
        parts.append(((0.0, 1.575, 0.112), helmet, rider))
        parts.append((limb((0, 0.02), (0, 0.7), 0.06), _TIRE, bike))  # rear wheel
        parts.append((limb((0, 0.7), (0, 0.92), 0.04), frame, bike))
        parts.append((limb((-0.07, 0.93), (0.07, 0.93), 0.05), _DARK, bike))  # saddle
        return parts
    d = 1.0 if facing == "right" else -1.0

    def p(u: float, v: float) -> tuple[float, float]:
        return (d * u, v)

    bb = np.array(p(-0.02, 0.3))
    pedals = [
        bb + crank * np.array((d * math.cos(phase + k * math.pi), math.sin(phase + k * math.pi)))
        for k in (1, 0)
    ]
    hip, shoulder, hand = p(-0.17, 1.0), p(0.16, 1.42), p(0.42, 1.05)
    far_pants = shade(look.pants, 0.75)
    knee = _knee(hip, pedals[0], 0.47, d)
    parts.append((limb(hip, knee, 0.14, 0.11), far_pants, rider))
    parts.append((limb(knee, pedals[0], 0.11, 0.09), far_pants, rider))
    ring = 0.05
    for u in (-0.52, 0.52):
        parts.append(((d * u, 0.34, 0.34 - ring / 2, ring), _TIRE, bike))
    for a, b in (
        (bb, p(-0.2, 0.92)),
        (bb, p(0.38, 0.8)),
        (p(-0.18, 0.84), p(0.39, 0.9)),
        (bb, p(-0.52, 0.34)),
        (p(-0.2, 0.86), p(-0.52, 0.34)),
        (p(0.4, 0.9), p(0.52, 0.34)),
    ):
        parts.append((limb(a, b, 0.045), frame, bike))
    parts.append((limb(p(0.36, 0.9), hand, 0.04), _DARK, bike))
    parts.append((limb(p(-0.3, 0.95), p(-0.1, 0.95), 0.05), _DARK, bike))  # saddle
    knee = _knee(hip, pedals[1], 0.47, d)
    parts.append((limb(hip, knee, 0.15, 0.12), look.pants, rider))
    parts.append((limb(knee, pedals[1], 0.12, 0.09), look.pants, rider))
    parts.append((limb(pedals[1], pedals[1] + np.array((d * 0.12, 0.0)), 0.06), look.shoes, rider))
    parts.append((limb(hip, shoulder, 0.26, 0.3), look.shirt, rider))
    elbow = ((shoulder[0] + hand[0]) / 2, (shoulder[1] + hand[1]) / 2 - 0.06)
    parts.append((limb(shoulder, elbow, 0.09, 0.08), look.shirt, rider))
    parts.append((limb(elbow, hand, 0.08, 0.07), look.skin, rider))
    parts.append((p(0.27, 1.57) + (0.1,), look.skin, rider))
    parts.append((p(0.24, 1.61) + (0.11,), helmet, rider))
    return parts


@dataclass(frozen=True)
class Cyclist(_Walker):
    """A rider on a bicycle, riding away along Z or crossing along X."""

    x: float
    z: float
    vx: float
    vz: float
    look: Look
    frame: Color
    helmet: Color
    facing: str  # "away" | "left" | "right"
    phase: float
    track_id: int

    def shadow(self, env: Env, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        x, z = self._where(t)
        if z < _MIN_DEPTH:
            return [], []
        if self.facing == "away":
            rect = _ground_rect(x - 0.25, x + 0.25, z - 0.1, z + 1.6)
        else:
            rect = _ground_rect(x - 0.8, x + 0.8, z - 0.15, z + 0.15)
        return _cast(rect, env, 1.7), [rect]

    def draw(self, cv: Canvas, env: Env, t: float) -> None:
        x, z = self._where(t)
        if z < _MIN_DEPTH:
            return
        xf, yf, s = env.cam.foot(x, z)
        if _off_screen(env, xf, s, 1.0):
            return
        phase = self.phase + math.hypot(self.vx, self.vz) * t / 0.35
        parts = cyclist_parts(self.look, self.frame, self.helmet, self.facing, phase)
        _draw_parts(cv, parts, xf, yf, s, TRAIN_IDS["rider"], cv.begin("rider", self.track_id))


# -- street furniture and trees --------------------------------------------------------


@dataclass(frozen=True)
class Sign:
    shape: str  # "prohibitory" | "mandatory" | "warning" | "info" | "priority" | "stop"
    size: float  # metres
    v: float  # height of the plate centre (m)
    track_id: int


_SQUARE = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])
_TRIANGLE = np.array([(-0.5, -0.42), (0.5, -0.42), (0.0, 0.45)])
_DIAMOND = np.array([(0.0, -0.55), (0.55, 0.0), (0.0, 0.55), (-0.55, 0.0)])
_ARROW_HEAD = np.array([(-0.16, 0.08), (0.16, 0.08), (0.0, 0.28)])
_OCTAGON = 0.5 * np.stack(
    [np.cos(np.arange(8) * np.pi / 4 + np.pi / 8), np.sin(np.arange(8) * np.pi / 4 + np.pi / 8)], -1
)


def sign_parts(sign: Sign) -> list[Part]:
    """Plate (trainId 7) plus image-only symbol, centred at (0, sign.v)."""
    lab, a, v = TRAIN_IDS["traffic sign"], sign.size, sign.v
    red, white, blue = (200, 30, 35), (236, 236, 230), (30, 75, 170)
    yellow, dark = (245, 195, 20), (30, 30, 30)

    def poly(unit: np.ndarray, scale: float = 1.0) -> np.ndarray:
        return unit * a * scale + (0.0, v)

    def disc(radius: float) -> tuple[float, float, float]:
        return (0.0, v, radius * a)

    def bar(u0: float, v0: float, u1: float, v1: float, width: float) -> np.ndarray:
        return limb((u0 * a, v + v0 * a), (u1 * a, v + v1 * a), width * a)

    shapes: dict[str, list[Part]] = {
        "prohibitory": [
            (disc(0.5), red, lab),
            (disc(0.36), white, lab),
            (bar(-0.16, 0, 0.16, 0, 0.08), dark, None),
        ],
        "mandatory": [
            (disc(0.5), blue, lab),
            (bar(0, -0.25, 0, 0.1, 0.1), white, None),
            (poly(_ARROW_HEAD), white, None),
        ],
        "warning": [
            (poly(_TRIANGLE), red, lab),
            (poly(_TRIANGLE, 0.6), white, lab),
            (bar(0, -0.2, 0, 0.05, 0.07), dark, None),
        ],
        "info": [(poly(_SQUARE), blue, lab), (bar(-0.25, 0, 0.25, 0, 0.3), white, None)],
        "priority": [(poly(_DIAMOND), white, lab), (poly(_DIAMOND, 0.7), yellow, lab)],
        "stop": [(poly(_OCTAGON), red, lab), (bar(-0.3, 0, 0.3, 0, 0.16), white, None)],
    }
    return shapes[sign.shape]


@dataclass(frozen=True)
class Pole:
    """A street lamp, a sign post (one or two plates) or a traffic light, at (x, z)."""

    x: float
    z: float
    kind: str  # "lamp" | "sign" | "light"
    height: float
    arm: float  # lamp arm towards the road: signed metres along X
    signs: tuple[Sign, ...]
    state: int  # traffic light: 0 red, 1 amber, 2 green
    color: Color

    def near(self, t: float) -> float:
        return self.z

    def shadow(self, env: Env, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [], []

    def draw(self, cv: Canvas, env: Env, t: float) -> None:
        if self.z < _MIN_DEPTH:
            return
        xf, yf, s = env.cam.foot(self.x, self.z)
        if _off_screen(env, xf, s, abs(self.arm) + 0.6):
            return
        pole = TRAIN_IDS["pole"]
        width = 0.16 if self.kind == "lamp" else 0.09
        parts: list[Part] = [(limb((0, 0), (0, self.height), width * 1.2, width), self.color, pole)]
        if self.kind == "lamp":
            top = (self.arm * 0.25, self.height + 0.35)
            end = (self.arm, self.height + 0.4)
            parts += [
                (limb((0, self.height - 0.2), top, 0.1, 0.08), self.color, pole),
                (limb(top, end, 0.08), self.color, pole),
                (
                    limb(end, (end[0] + np.sign(self.arm) * 0.5, end[1] - 0.05), 0.18, 0.14),
                    shade(self.color, 0.8),
                    pole,
                ),
            ]
            if env.lights_on:
                bulb = limb(
                    (end[0] + np.sign(self.arm) * 0.1, end[1] - 0.1),
                    (end[0] + np.sign(self.arm) * 0.45, end[1] - 0.12),
                    0.06,
                )
                parts.append((bulb, (255, 240, 200), None))
        elif self.kind == "light":
            box = np.array(
                [
                    (-0.17, self.height - 0.95),
                    (0.17, self.height - 0.95),
                    (0.17, self.height),
                    (-0.17, self.height),
                ]
            )
            parts.append((box, (35, 35, 35), TRAIN_IDS["traffic light"]))
            colors = ((230, 40, 30), (245, 170, 20), (40, 215, 110))
            for i, on in enumerate(colors):
                lamp = on if i == self.state else shade(on, 0.25)
                parts.append(((0.0, self.height - 0.17 - 0.3 * i, 0.09), lamp, None))
        _draw_parts(cv, parts, xf, yf, s, -1, 0)
        for sign in self.signs:
            inst = cv.begin("traffic sign", sign.track_id)
            _draw_parts(cv, sign_parts(sign), xf, yf, s, TRAIN_IDS["traffic sign"], inst)


@dataclass(frozen=True)
class Tree:
    """A trunk and a crown of overlapping discs (all vegetation, trainId 8)."""

    x: float
    z: float
    trunk: float  # trunk height (m)
    blobs: tuple[tuple[float, float, float, Color], ...]  # (u, v, radius, colour)
    bark: Color

    def near(self, t: float) -> float:
        return self.z

    def shadow(self, env: Env, t: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        if env.sun_side == 0 or self.z < _MIN_DEPTH:
            return [], []
        r = max(b[2] for b in self.blobs)
        cx = self.x - env.sun_side * (self.trunk + r)
        theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        ring = np.stack(
            (
                cx + r * np.cos(theta),
                np.zeros_like(theta),
                self.z + 0.3 * self.trunk + 0.8 * r * np.sin(theta),
            ),
            -1,
        )
        return [ring], []

    def draw(self, cv: Canvas, env: Env, t: float) -> None:
        if self.z < _MIN_DEPTH:
            return
        xf, yf, s = env.cam.foot(self.x, self.z)
        reach = max(abs(b[0]) + b[2] for b in self.blobs)
        if _off_screen(env, xf, s, reach):
            return
        veg = TRAIN_IDS["vegetation"]
        parts: list[Part] = [(limb((0, 0), (0, self.trunk + 0.4), 0.32, 0.22), self.bark, veg)]
        parts += [((u, v, r), color, veg) for u, v, r, color in self.blobs]
        _draw_parts(cv, parts, xf, yf, s, -1, 0)
