"""The playground's training state: one model, trained live in its own thread.

Requests never touch the model. They change what is *wanted* (settings, points, the
selected point, play/pause/step) under one lock and wake the training thread; that
thread alone owns the model, runs `nn.fit(..., compile=True)` (the compiled replay)
with a callback between steps, and after each batch of steps publishes an immutable
`Frame`: the weights as plain floats, the boundary on a grid (a second compiled graph
over the same parameters) and the selected point's values and gradients. Readers wait
for the next frame or read the latest one; everything they inspect is rebuilt from it.
"""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import engine
from engine import Value

from .. import losses
from ..data import Dataset
from ..module import ACTIVATIONS, MLP
from ..optim import Optimiser
from ..train import fit
from . import point

__all__ = ["Settings", "Session", "Frame", "CHOICES", "LIMITS", "SettingsError"]

# The page's choice lists, read from the network layer itself.
LOSSES = {obj.name: obj for obj in vars(losses).values() if isinstance(obj, losses.Loss)}
OPTIMISERS: dict[str, type[Optimiser]] = {cls.__name__.lower(): cls for cls in Optimiser.__subclasses__()}
CHOICES = {"activation": list(ACTIVATIONS), "output": list(ACTIVATIONS), "loss": list(LOSSES),
           "optimiser": list(OPTIMISERS)}
# The boundary graph has 3 nodes per neuron per grid point: 4 x 16 neurons build in ~1.3 s.
LIMITS = {"layers": 4, "width": 16, "points": 500, "speed": 100, "lr": 10.0}

GRID = 30          # the boundary is sampled on GRID x GRID points
FPS = 25           # frames published per second at most while playing
CURVE_POINTS = 400  # the loss curve keeps between this many points and twice as many
RUN = 10_000        # steps per fit call: fit's own history stays small in a long session


class SettingsError(ValueError):
    """A setting or request the playground cannot use (the server answers 400)."""


@dataclass(frozen=True)
class Settings:
    """What the network and its training look like; any change but lr and speed restarts it."""

    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    output: str = "linear"
    loss: str = "mean_squared_error"
    optimiser: str = "adam"
    lr: float = 0.03
    speed: int = 2  # training steps per published frame
    seed: int = 0

    def changed(self, updates: dict[str, Any]) -> "Settings":
        """A copy with `updates` (as the page sends them), checked; or a SettingsError."""
        unknown = set(updates) - {"hidden", "activation", "output", "loss", "optimiser", "lr", "speed", "seed"}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(map(str, unknown)))}")
        new = dict(updates)
        if "hidden" in new:
            new["hidden"] = parse_hidden(new["hidden"])
        for key in ("activation", "output", "loss", "optimiser"):
            if key in new and new[key] not in CHOICES[key]:
                raise SettingsError(f"unknown {key} {new[key]!r}; choose one of {', '.join(CHOICES[key])}")
        if "lr" in new:
            new["lr"] = _number(new["lr"], "the learning rate")
            if not 0.0 < new["lr"] <= LIMITS["lr"]:
                raise SettingsError(f"the learning rate must be above 0 and at most {LIMITS['lr']:g}, got {new['lr']:g}")
        for key, top in (("speed", LIMITS["speed"]), ("seed", 2**31)):
            if key in new and (isinstance(new[key], bool) or not isinstance(new[key], int) or not 0 <= new[key] <= top):
                raise SettingsError(f"{key} must be a whole number from {int(key == 'speed')} to {top}, got {new[key]!r}")
        if new.get("speed") == 0:
            raise SettingsError("speed must be at least 1 step per frame")
        return replace(self, **new)

    def as_dict(self) -> dict[str, Any]:
        return {"hidden": ",".join(map(str, self.hidden)), "activation": self.activation,
                "output": self.output, "loss": self.loss, "optimiser": self.optimiser,
                "lr": self.lr, "speed": self.speed, "seed": self.seed}


def parse_hidden(text: object) -> tuple[int, ...]:
    """Hidden layer widths from "8,8" (or "" for none), within the playground's limits."""
    if not isinstance(text, str):
        raise SettingsError(f"the architecture must be text like \"8,8\", got {text!r}")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise SettingsError(f"the architecture must be layer widths like \"8,8\", got {text!r}")
    widths = tuple(int(p) for p in parts)
    if len(widths) > LIMITS["layers"] or not all(1 <= w <= LIMITS["width"] for w in widths):
        raise SettingsError(f"the architecture allows up to {LIMITS['layers']} hidden layers of "
                            f"1 to {LIMITS['width']} neurons, got {text!r}")
    return widths


def _number(x: object, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise SettingsError(f"{what} must be a finite number, got {x!r}")
    return float(x)


def target_form(loss: losses.Loss) -> tuple[int, Callable[[float], Any]]:
    """(outputs, label -> target): the first encoding of the labels +-1 the loss accepts.

    +-1 with one output (squared error, hinge), 0/1 with one logit (binary cross-entropy),
    a class index with two logits (softmax cross-entropy). The decision score is then
    output 1 (or logit 2 - logit 1) and its threshold 0 in every case.
    """
    forms = ((1, lambda c: c), (1, lambda c: (c + 1.0) / 2.0), (2, lambda c: int(c > 0)))
    for nout, form in forms:
        try:
            for label in (-1.0, 1.0):
                loss.encode(form(label), nout)
        except ValueError:
            continue
        return nout, form
    raise SettingsError(f"the loss {loss.name} cannot learn two classes")  # pragma: no cover - every nn loss can


@dataclass(frozen=True)
class Frame:
    """One published state of the training, immutable; `json` is what the page receives.

    `settings` are those the model was built with (the page may already want others).
    """

    version: int
    step: int
    settings: Settings
    weights: list
    points: list[list[float]]
    labels: list[float]
    selected: int
    json: bytes = field(repr=False)

    def point_graph(self) -> point.PointGraph:
        """The selected point's loss through a copy of this frame's network, after backward()."""
        loss = LOSSES[self.settings.loss]
        target = target_form(loss)[1](self.labels[self.selected])
        return point.graph(self.weights, self.points[self.selected], target, loss)


class _Interrupt(Exception):
    """Raised from fit's callback to leave the current run (restart, reset or stop)."""


class Session:
    """The training state shared by the server's threads (see the module docstring)."""

    def __init__(self, data: Dataset, settings: Settings = Settings()) -> None:
        if data.n_features != 2:
            raise SettingsError(f"the playground draws 2 inputs; {data.name!r} has {data.n_features}")
        classes = sorted(set(data.y))
        if len(classes) != 2:
            raise SettingsError(f"the playground needs two classes; {data.name!r} has {len(classes)}")
        self.name = data.name
        self.points = [[float(a), float(b)] for a, b in data.X]
        self.labels = [1.0 if y == classes[1] else -1.0 for y in data.y]
        if len(self.points) > LIMITS["points"]:
            raise SettingsError(f"the playground takes at most {LIMITS['points']} points; {data.name!r} has {len(self.points)}")
        self.bounds = _bounds(self.points)
        self.settings = settings
        self.selected = 0
        self._lock = threading.Condition()
        self._playing = False
        self._budget = 0           # single steps asked for while paused
        self._generation = 0       # bumped by every change that needs a new fit run
        self._rebuild = True       # a new model is wanted (settings or reset)
        self._dirty = True         # something shown changed: publish a frame
        self._stopping = False
        self._error = ""
        self._curve = _Curve()
        self._accuracy: float | None = None
        self._frame: Frame | None = None
        self._version = 0
        self._published_at = 0.0
        self._thread = threading.Thread(target=self._run, name="playground training", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- what requests may do
    def play(self) -> None:
        self._wish(playing=True)

    def pause(self) -> None:
        self._wish(playing=False)

    def step(self) -> None:
        with self._lock:
            self._playing = False
            self._budget += 1
            self._lock.notify_all()

    def reset(self) -> None:
        """A fresh model with the current settings, paused, its history cleared."""
        self._wish(playing=False, rebuild=True)

    def configure(self, updates: dict[str, Any]) -> Settings:
        """Change settings; architecture, activations, loss, optimiser or seed mean a new model."""
        with self._lock:
            new = self.settings.changed(updates)
            structural = replace(new, lr=self.settings.lr, speed=self.settings.speed) != self.settings
            self.settings = new
            if structural:
                self._rebuild, self._playing = True, False
                self._generation += 1
            self._dirty = True
            self._lock.notify_all()
            return new

    def add_point(self, x: object, y: object, label: object) -> int:
        with self._lock:
            if len(self.points) >= LIMITS["points"]:
                raise SettingsError(f"the playground takes at most {LIMITS['points']} points")
            xy = self._inside(x, y)
            if label not in (-1, 1):
                raise SettingsError(f"a point's class must be -1 or 1, got {label!r}")
            self.points.append(xy)
            self.labels.append(float(label))
            self._data_changed()
            return len(self.points) - 1

    def move_point(self, index: object, x: object, y: object) -> None:
        with self._lock:
            i = self._index(index)
            self.points[i] = self._inside(x, y)
            self._data_changed()

    def select(self, index: object) -> None:
        with self._lock:
            self.selected = self._index(index)
            self._dirty = True
            self._lock.notify_all()

    def stop(self) -> None:
        """End the training thread (waits for it); the session is finished afterwards."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join(timeout=10)

    @property
    def stopped(self) -> bool:
        return self._stopping

    # ---------------------------------------------------------------- what readers see
    def frame(self) -> Frame:
        """The latest frame (waits for the first one)."""
        frame = self.next_frame(-1, timeout=30)
        if frame is None:
            raise RuntimeError("the training thread published nothing in 30 s")
        return frame

    def next_frame(self, after: int, timeout: float) -> Frame | None:
        """The first frame newer than version `after`, or None after `timeout` or on stop."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._stopping and (self._frame is None or self._frame.version <= after):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)
            return None if self._stopping else self._frame

    # ---------------------------------------------------------------- helpers under the lock
    def _wish(self, playing: bool, rebuild: bool = False) -> None:
        with self._lock:
            self._playing = playing
            if not playing:
                self._budget = 0
            if rebuild:
                self._rebuild = True
                self._generation += 1
            self._dirty = True
            self._lock.notify_all()

    def _data_changed(self) -> None:
        self._generation += 1
        self._dirty = True
        self._lock.notify_all()

    def _index(self, index: object) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.points):
            raise SettingsError(f"no point number {index!r}; there are {len(self.points)} (0 to {len(self.points) - 1})")
        return index

    def _inside(self, x: object, y: object) -> list[float]:
        xy = [_number(x, "x"), _number(y, "y")]
        (x0, x1), (y0, y1) = self.bounds
        if not (x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1):
            raise SettingsError(f"the point ({xy[0]:g}, {xy[1]:g}) is outside the picture "
                                f"({x0:g}..{x1:g}, {y0:g}..{y1:g})")
        return xy

    # ---------------------------------------------------------------- the training thread
    def _run(self) -> None:
        model = grid = None
        while True:
            with self._lock:
                while not (self._stopping or self._rebuild or self._playing or self._budget or self._dirty):
                    self._lock.wait()
                if self._stopping:
                    return
                if self._rebuild:
                    self._rebuild, self._error, self._curve, self._accuracy = False, "", _Curve(), None
                    settings = self.settings
                    model = None
            if model is None:
                model, optimiser, grid = self._build(settings)
            with self._lock:
                self._built = settings
                self._publish(model, grid)
                if not (self._playing or self._budget) or self._rebuild or self._stopping:
                    continue
                generation = self._generation
                optimiser.lr = self.settings.lr
                loss = LOSSES[settings.loss]
                _, form = target_form(loss)
                data = Dataset([p[:] for p in self.points], [form(c) for c in self.labels], self.name)
            try:
                fit(model, data, loss=loss, optimiser=optimiser, epochs=RUN, compile=True, progress=False,
                    callback=lambda _, value, acc: self._between_steps(model, optimiser, grid, generation, value, acc))
            except _Interrupt:
                pass
            except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError) as error:
                with self._lock:  # the run diverged: stop there and say why
                    self._playing, self._budget = False, 0
                    self._error = _short(f"training stopped: {error}")
                    self._dirty = True

    def _build(self, settings: Settings) -> tuple[MLP, Optimiser, "_Grid"]:
        nout, _ = target_form(LOSSES[settings.loss])
        model = MLP(2, [*settings.hidden, nout], activation=settings.activation, output=settings.output,
                    seed=settings.seed)
        optimiser = OPTIMISERS[settings.optimiser](model.parameters(), lr=settings.lr)
        return model, optimiser, _Grid(model, self.bounds)

    def _between_steps(self, model: MLP, optimiser: Optimiser, grid: "_Grid", generation: int,
                       value: float, accuracy: float | None) -> None:
        """fit's callback: record the step, publish when a frame is due, pause, or leave."""
        with self._lock:
            self._curve.add(value)
            self._accuracy = accuracy
            optimiser.lr = self.settings.lr  # the one setting that changes mid-run
            if self._budget:
                self._budget -= 1
            if not self._playing or self._curve.steps % self.settings.speed == 0:
                # At most FPS frames a second: the wait comes before publishing, so the
                # steps since the last frame count towards the frame's time.
                while self._playing and not self._stopping and generation == self._generation:
                    left = self._published_at + 1.0 / FPS - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                self._publish(model, grid)
            while not (self._playing or self._budget or self._stopping or generation != self._generation):
                if self._dirty:
                    self._publish(model, grid)
                self._lock.wait()
            if self._stopping or generation != self._generation:
                raise _Interrupt

    def _publish(self, model: MLP, grid: "_Grid") -> None:
        """Make the next frame from the model as it is now (called with the lock held)."""
        self._dirty = False
        self._version += 1
        self._published_at = time.monotonic()
        weights = model.weights()
        loss = LOSSES[self._built.loss]
        x, label = self.points[self.selected], self.labels[self.selected]
        try:
            view = point.network_view(point.graph(weights, x, target_form(loss)[1](label), loss))
        except point.InspectError as error:
            view, self._error = None, self._error or _short(str(error))
        curve = self._curve.points()
        payload = {
            "version": self._version, "step": self._curve.steps, "playing": self._playing,
            "loss": curve[-1][1] if curve else None, "accuracy": self._accuracy,
            "curve": curve, "error": self._error, "settings": self.settings.as_dict(),
            "points": self.points, "labels": self.labels, "selected": self.selected,
            "bounds": self.bounds, "grid": {"size": GRID, "scores": grid.scores()}, "network": view,
        }
        self._frame = Frame(self._version, self._curve.steps, self._built, weights, [p[:] for p in self.points],
                            self.labels[:], self.selected,
                            json.dumps(payload, allow_nan=False, separators=(",", ":")).encode())
        self._lock.notify_all()


class _Curve:
    """The loss per step, thinned as it grows: every `stride`-th step is kept, and when
    twice CURVE_POINTS are kept, every other one goes and the stride doubles."""

    def __init__(self) -> None:
        self.steps, self.stride, self.last = 0, 1, math.nan
        self.kept: list[list[float]] = []

    def add(self, loss: float) -> None:
        self.steps += 1
        self.last = loss
        if (self.steps - 1) % self.stride == 0:
            self.kept.append([self.steps, loss])
            if len(self.kept) > 2 * CURVE_POINTS:
                self.kept, self.stride = self.kept[::2], self.stride * 2

    def points(self) -> list[list[float | None]]:
        """[step, loss] pairs ending at the latest step; a non-finite loss is None (JSON)."""
        out = self.kept if not self.kept or self.kept[-1][0] == self.steps else [*self.kept, [self.steps, self.last]]
        return [[step, loss if math.isfinite(loss) else None] for step, loss in out]


class _Grid:
    """The model's decision score on a GRID x GRID lattice: one compiled graph over the
    model's own parameters, replayed for each frame (the parameters are its leaves)."""

    def __init__(self, model: MLP, bounds: list[list[float]]) -> None:
        (x0, x1), (y0, y1) = bounds
        coords = [(x0 + (x1 - x0) * (i + 0.5) / GRID, y1 - (y1 - y0) * (j + 0.5) / GRID)
                  for j in range(GRID) for i in range(GRID)]  # row by row, from the top
        outputs = [model([a, b]) for a, b in coords]
        self.scores_nodes = [out[0] if len(out) == 1 else out[1] - out[0] for out in outputs]
        self.compiled = engine.compile(Value.sum(self.scores_nodes), wrt=[])

    def scores(self) -> list[float]:
        try:
            self.compiled.forward()
        except (OverflowError, ValueError, ZeroDivisionError):
            return [0.0] * (GRID * GRID)
        return [round(s, 4) if math.isfinite(s) else 0.0 for s in self.compiled.values_of(self.scores_nodes)]


def _bounds(points: list[list[float]]) -> list[list[float]]:
    """A square view around the data with a margin, fixed for the session."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9) / 2 * 1.25 + 0.25
    return [[cx - half, cx + half], [cy - half, cy + half]]


def _short(message: str, limit: int = 240) -> str:
    """An error for the status line: an overflow names every operand, which can be long."""
    return message if len(message) <= limit else message[:limit - 1] + "…"
