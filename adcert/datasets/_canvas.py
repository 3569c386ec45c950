"""Drawing primitives for the scene generator: a pinhole camera and a two-layer canvas.

The canvas draws every primitive twice with the same rasterisation (``cv2`` fill calls,
sub-pixel precision): once into the colour image and once into an int32 *key* map that
holds ``trainId | instance_id << 8``. Labels and instance masks therefore agree with the
image pixel for pixel, and occlusion comes for free from drawing far to near.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4  # fixed-point bits handed to cv2 (1/16 pixel precision)
_ONE = 1 << SHIFT

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Camera:
    """Pinhole camera at height ``height`` (m) looking along +Z with no pitch or roll.

    World frame: X to the right, Y up, Z forward, in metres; the ground is Y = 0.
    """

    f: float  # focal length in pixels
    cx: float  # principal point x: the vanishing point of the road
    cy: float  # principal point y: the horizon row
    height: float
    width: int
    image_height: int

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points with Z > 0 → (..., 2) pixel coordinates (float)."""
        p = np.asarray(points, dtype=np.float64)
        z = p[..., 2]
        return np.stack(
            (self.cx + self.f * p[..., 0] / z, self.cy + self.f * (self.height - p[..., 1]) / z),
            axis=-1,
        )

    def foot(self, x: float, z: float) -> tuple[float, float, float]:
        """Pixel position of the ground point (x, 0, z) and the scale in pixels per metre."""
        s = self.f / z
        return self.cx + s * x, self.cy + s * self.height, s


def clip_polygon(poly: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Sutherland–Hodgman clip of a 2-D polygon to a rectangle (keeps cv2 in range)."""
    out = np.asarray(poly, dtype=np.float64)
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if len(out) == 0:
            break
        pts, kept = out, []
        inside = pts[:, axis] >= bound if keep_above else pts[:, axis] <= bound
        for i in range(len(pts)):
            a, b = pts[i - 1], pts[i]
            if inside[i] != inside[i - 1]:
                t = (bound - a[axis]) / (b[axis] - a[axis])
                kept.append(a + t * (b - a))
            if inside[i]:
                kept.append(b)
        out = np.array(kept).reshape(-1, 2)
    return out


def bilinear(quad: np.ndarray, a0: float, a1: float, b0: float, b1: float) -> np.ndarray:
    """Sub-quad [a0, a1] × [b0, b1] of a planar quad q0 q1 q2 q3 (u: q0→q1, v: q0→q3)."""
    q0, q1, q2, q3 = quad

    def at(a: float, b: float) -> np.ndarray:
        return (1 - a) * (1 - b) * q0 + a * (1 - b) * q1 + a * b * q2 + (1 - a) * b * q3

    return np.stack((at(a0, b0), at(a1, b0), at(a1, b1), at(a0, b1)))


def limb(p: Sequence[float], q: Sequence[float], w0: float, w1: float | None = None) -> np.ndarray:
    """Quad around the segment p→q, ``w0`` wide at p and ``w1`` wide at q."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    d = q - p
    n = np.array((-d[1], d[0])) / max(float(np.hypot(*d)), 1e-9)
    w1 = w0 if w1 is None else w1
    return np.stack((p + n * w0 / 2, q + n * w1 / 2, q - n * w1 / 2, p - n * w0 / 2))


def shade(color: Sequence[float], factor: float) -> Color:
    """Colour scaled by ``factor`` and clipped to 0..255."""
    return tuple(int(min(255, max(0, round(c * factor)))) for c in color)  # type: ignore[return-value]


def mix(a: Sequence[float], b: Sequence[float], t: float) -> Color:
    """Linear blend (1 - t)·a + t·b."""
    return tuple(int(round((1 - t) * x + t * y)) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def to_fixed(poly: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel polygon → cv2 fixed-point int32, clipped first when far outside the frame."""
    poly = np.asarray(poly, dtype=np.float64)
    if np.abs(poly).max(initial=0.0) > 4 * (width + height):
        poly = clip_polygon(poly, -2.0, -2.0, width + 2.0, height + 2.0)
    return np.round(poly * _ONE).astype(np.int32)


def fill_plain(image: np.ndarray, polys: Iterable[np.ndarray], value: int | Color) -> None:
    """Fill pixel polygons one by one (overlaps stay filled) into a plain image."""
    h, w = image.shape[:2]
    for poly in polys:
        fixed = to_fixed(poly, w, h)
        if len(fixed) >= 3:
            cv2.fillPoly(image, [fixed], value, cv2.LINE_8, SHIFT)


class Canvas:
    """Colour image + key map (trainId | instance << 8), drawn with identical rasterisation.

    ``label=None`` draws into the image only (texture, windows, lights: detail that does
    not change the class). Instance ids are handed out by :meth:`begin`; the canvas keeps
    a bounding region per id so visible pixels can be counted without scanning the frame.
    """

    def __init__(self, image: np.ndarray, key: np.ndarray) -> None:
        self.image = image
        self.key = key
        self.h, self.w = key.shape
        self.regions: dict[int, list[int]] = {}
        self.owners: dict[int, tuple[str, int]] = {}

    def begin(self, category: str, track_id: int) -> int:
        """A fresh instance id (≥ 1) for one detectable object."""
        inst = len(self.owners) + 1
        self.owners[inst] = (category, track_id)
        self.regions[inst] = [self.w, self.h, 0, 0]
        return inst

    def count(self, inst: int) -> int:
        """Pixels currently showing instance ``inst``."""
        x0, y0, x1, y1 = self.regions[inst]
        if x1 <= x0 or y1 <= y0:
            return 0
        return int(np.count_nonzero((self.key[y0:y1, x0:x1] >> 8) == inst))

    # -- primitives -------------------------------------------------------------------

    def _fixed(self, poly: np.ndarray) -> np.ndarray:
        return to_fixed(poly, self.w, self.h)

    def _grow(self, inst: int, lo: np.ndarray, hi: np.ndarray) -> None:
        r = self.regions[inst]
        r[0] = min(r[0], max(0, int(np.floor(lo[0])) - 2))
        r[1] = min(r[1], max(0, int(np.floor(lo[1])) - 2))
        r[2] = max(r[2], min(self.w, int(np.ceil(hi[0])) + 3))
        r[3] = max(r[3], min(self.h, int(np.ceil(hi[1])) + 3))

    def fill(
        self,
        polys: np.ndarray | Iterable[np.ndarray],
        color: Color,
        label: int | None = None,
        inst: int = 0,
    ) -> None:
        """Fill polygons (pixel coordinates). One call fills with the even-odd rule, so
        polygons batched together must not overlap (window grids, dashes, fence bars)."""
        if isinstance(polys, np.ndarray) and np.abs(polys).max(initial=0.0) <= 4 * (
            self.w + self.h
        ):
            fixed = list(np.round(polys * _ONE).astype(np.int32))  # fast path: one batch
        else:
            fixed = [p for p in (self._fixed(q) for q in polys) if len(p) >= 3]
        if not fixed:
            return
        cv2.fillPoly(self.image, fixed, color, cv2.LINE_8, SHIFT)
        if label is not None:
            cv2.fillPoly(self.key, fixed, label | inst << 8, cv2.LINE_8, SHIFT)
            if inst:
                pts = np.concatenate(fixed) / _ONE
                self._grow(inst, pts.min(axis=0), pts.max(axis=0))

    def circle(
        self,
        center: Sequence[float],
        radius: float,
        color: Color,
        label: int | None = None,
        inst: int = 0,
        thickness: int = -1,
    ) -> None:
        """Filled disc (``thickness=-1``) or ring of ``thickness`` pixels."""
        if radius <= 0 or max(abs(center[0]), abs(center[1])) > 8 * (self.w + self.h):
            return
        c = (int(round(center[0] * _ONE)), int(round(center[1] * _ONE)))
        r = max(int(round(radius * _ONE)), 1)
        cv2.circle(self.image, c, r, color, thickness, cv2.LINE_8, SHIFT)
        if label is not None:
            cv2.circle(self.key, c, r, label | inst << 8, thickness, cv2.LINE_8, SHIFT)
            if inst:
                ext = radius + max(thickness, 0)
                self._grow(inst, np.subtract(center, ext), np.add(center, ext))

    def world(
        self,
        cam: Camera,
        polys3d: np.ndarray,
        color: Color,
        label: int | None = None,
        inst: int = 0,
    ) -> None:
        """Project (N, k, 3) world polygons (all Z > 0) and fill them (see :meth:`fill`)."""
        polys3d = np.asarray(polys3d, dtype=np.float64)
        if polys3d.size:
            self.fill(cam.project(polys3d.reshape(-1, polys3d.shape[-2], 3)), color, label, inst)


# Faces of a hexahedron given as 4 bottom corners then the 4 top corners above them,
# each ordered (x0, z0), (x1, z0), (x1, z1), (x0, z1); every face lists q0 q1 q2 q3 with
# q0→q1 along the face and q0→q3 upwards (or forwards for the top).
HEXA_FACES = {
    "near": (0, 1, 5, 4),
    "right": (1, 2, 6, 5),
    "far": (2, 3, 7, 6),
    "left": (3, 0, 4, 7),
    "top": (4, 5, 6, 7),
}


def hexa(
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    z0: float,
    z1: float,
    inset_x: float = 0.0,
    inset_near: float = 0.0,
    inset_far: float = 0.0,
) -> np.ndarray:
    """(8, 3) corners of a box whose top face may be inset (a car cabin, a roof)."""
    bottom = [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]
    tx0, tx1, tz0, tz1 = x0 + inset_x, x1 - inset_x, z0 + inset_near, z1 - inset_far
    top = [(tx0, y1, tz0), (tx1, y1, tz0), (tx1, y1, tz1), (tx0, y1, tz1)]
    return np.array(bottom + top, dtype=np.float64)


_FACE_NAMES = tuple(HEXA_FACES)
_FACE_INDEX = np.array(list(HEXA_FACES.values()))


def visible_faces(corners: np.ndarray, cam: Camera) -> dict[str, np.ndarray]:
    """The faces of a convex hexahedron that face the camera (back-face culling)."""
    q = corners[_FACE_INDEX]  # (5, 4, 3)
    e1, e2 = q[:, 1] - q[:, 0], q[:, 3] - q[:, 0]
    normal = e1[:, [1, 2, 0]] * e2[:, [2, 0, 1]] - e1[:, [2, 0, 1]] * e2[:, [1, 2, 0]]
    center = q.mean(axis=1)
    outward = np.sign(np.einsum("ij,ij->i", normal, center - corners.mean(axis=0)))
    eye = np.array((0.0, cam.height, 0.0))
    facing = outward * np.einsum("ij,ij->i", normal, eye - center)
    return {name: q[i] for i, name in enumerate(_FACE_NAMES) if facing[i] > 1e-9}
