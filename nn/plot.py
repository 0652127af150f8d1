"""Figures with matplotlib (the optional extra "plot"): the loss curve and the decision
boundary, saved to files (.png, .svg, .pdf), atomically (`engine.files.write_atomic`).

Figures are drawn on matplotlib's Agg canvas directly, without pyplot, so using them
never changes the backend of the program that imports this module.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from engine.files import write_atomic

from . import analytic
from .checks import whole
from .data import Dataset
from .exercises import LabRun
from .train import History

__all__ = ["plot_history", "plot_decision_boundary", "loss_title", "plot_lab"]

# One colour per class, the same for its points and its region.
COLOURS = ["tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink",
           "tab:olive", "tab:cyan", "tab:gray"]


def _figure(size: tuple[float, float]) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plots need matplotlib, an optional extra: pip install 'chainrule[plot]' (or pip install matplotlib)"
        ) from None
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> Path:
    """Render to memory in the format the name ends in (PNG if none), then write atomically."""
    picture = io.BytesIO()
    fig.savefig(picture, format=Path(path).suffix[1:].lower() or None, dpi=110, bbox_inches="tight")
    return write_atomic(path, picture.getvalue())


def loss_title(history: History) -> str:
    """What the loss axis says: the loss by name ("hinge loss"), averaged over the examples."""
    name = history.loss_name.replace("_", " ")
    if not name.endswith(("loss", "error", "entropy")):  # "hinge" -> "hinge loss"
        name += " loss"
    return f"{name} (mean per example)"


def plot_history(history: History, path: str | os.PathLike, *, title: str = "training") -> Path:
    """The loss per epoch, named (log scale when it spans decades), and the accuracy if any."""
    if not isinstance(history, History):
        raise TypeError(f"plot_history takes an nn.History, got {type(history).__name__}")
    if not history.loss:
        raise ValueError("the history has no epochs to plot")
    fig = _figure((6.4, 3.6))
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot(1, 1, 1)
    epochs = range(1, len(history.loss) + 1)
    lines = ax.plot(epochs, history.loss, color="tab:blue", label=loss_title(history))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.25
    ax.set_ylabel(loss_title(history), color="tab:blue")
    positive = [v for v in history.loss if v > 0]
    if positive and max(positive) / min(positive) > 100 and len(positive) == len(history.loss):
        ax.set_yscale("log")
    accuracy = [a for a in history.accuracy if a is not None]
    if accuracy and len(accuracy) == len(history.loss):
        ax2 = ax.twinx()
        lines += ax2.plot(epochs, [100 * a for a in accuracy], color="tab:orange", label="training accuracy")
        ax2.set_ylabel("accuracy (%)", color="tab:orange")
        ax2.set_ylim(0, 105)
    # Below the axes: inside, the two curves (on two scales) leave no corner free for sure.
    ax.legend(handles=lines, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False,
              fontsize="small")
    ax.set_title(title)
    return _save(fig, path)


def plot_lab(run: LabRun, path: str | os.PathLike) -> Path:
    """The break-it lab: the honest and the tampered loss curves, and gradcheck's verdict."""
    if not isinstance(run, LabRun):
        raise TypeError(f"plot_lab takes an nn.exercises.LabRun, got {type(run).__name__}")
    fig = _figure((6.4, 3.8))
    from matplotlib.ticker import MaxNLocator

    ax = fig.add_subplot(1, 1, 1)
    lines = []
    for what, history, colour in (("honest backward", run.honest, "tab:blue"),
                                  (f"tampered: {run.mistake} in {run.op}", run.tampered, "tab:red")):
        lines += ax.plot(range(1, len(history.loss) + 1), history.loss, color=colour, label=what)
    every = run.honest.loss + run.tampered.loss
    if min(every) > 0 and max(every) / min(every) > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(loss_title(run.honest))
    verdict = "gradcheck passed" if run.verdict else f"gradcheck FAILED: it names {run.op}"
    ax.set_title(f"break-it lab: {run.mistake} in {run.op} ({verdict})", fontsize="medium")
    ax.legend(handles=lines, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False,
              fontsize="small")
    return _save(fig, path)


def plot_decision_boundary(model: Any, data: Dataset, path: str | os.PathLike, *,
                           resolution: int = 200, title: str | None = None) -> Path:
    """The model's output over the plane of a 2-feature data set, with the points.

    One output: the boundary is where it crosses the middle of the labels (0 for +-1,
    0.5 for 0/1). Several outputs: each point of the plane takes the class of the
    largest output.
    """
    import numpy as np

    if not isinstance(data, Dataset) or data.n_features != 2:
        raise ValueError("plot_decision_boundary needs an nn.data.Dataset with 2 features")
    if getattr(model, "nin", None) != 2:
        raise ValueError(f"plot_decision_boundary needs a model with 2 inputs, got {getattr(model, 'nin', None)}")
    whole(resolution, "resolution", minimum=2)
    X = np.asarray(data.X, dtype=float)
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    gx, gy = np.meshgrid(xs, ys)
    out = analytic.predict(model.weights(), np.column_stack([gx.ravel(), gy.ravel()]))
    labels = np.asarray([_label(t) for t in data.y], dtype=float)
    classes = sorted(set(labels.tolist()))
    fig = _figure((5.2, 4.6))
    from matplotlib.lines import Line2D

    ax = fig.add_subplot(1, 1, 1)
    if out.shape[1] == 1:  # below the middle: the first class's colour, above: the second's
        mid = 0.5 if set(classes) <= {0.0, 1.0} else 0.0
        Z = out[:, 0].reshape(gx.shape)
        ax.contourf(gx, gy, Z > mid, levels=[-0.5, 0.5, 1.5], colors=COLOURS[:2], alpha=0.25)
        ax.contour(gx, gy, Z, levels=[mid], colors="k", linewidths=1)
        extra = [Line2D([], [], color="k", linewidth=1, label=f"boundary (output = {mid:g})")]
        colours = [COLOURS[k % len(COLOURS)] for k in range(len(classes))]
    else:  # class k's region and points share COLOURS[k]
        Z = out.argmax(axis=1).reshape(gx.shape)
        region = [COLOURS[k % len(COLOURS)] for k in range(out.shape[1])]
        ax.contourf(gx, gy, Z, levels=np.arange(out.shape[1] + 1) - 0.5, colors=region, alpha=0.25)
        extra = []
        colours = [COLOURS[int(c) % len(COLOURS)] for c in classes]
    if len(classes) <= len(COLOURS):
        for c, colour, name in zip(classes, colours, _class_names(data, classes, out.shape[1] > 1)):
            mine = labels == c
            ax.scatter(X[mine, 0], X[mine, 1], color=colour, edgecolors="k", s=28, label=name)
        ax.legend(handles=ax.get_legend_handles_labels()[0] + extra, loc="best", fontsize="small",
                  framealpha=0.9)
    else:  # many distinct targets (regression): a colour scale instead of a legend
        points = ax.scatter(X[:, 0], X[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=28)
        fig.colorbar(points, ax=ax, label="target")
    ax.set_xlabel(data.features[0])
    ax.set_ylabel(data.features[1])
    ax.set_title(title or f"decision boundary: {data.name}")
    return _save(fig, path)


def _class_names(data: Dataset, classes: list[float], one_hot: bool) -> list[str]:
    """Legend entries, "class +1" or "class 0": a one-hot index names the data set's class."""
    if one_hot and len(data.classes) >= len(classes):
        classes = [data.classes[int(k)] for k in classes]
    signed = set(classes) == {-1.0, 1.0}
    return [f"class {c:+g}" if signed else f"class {c:g}" if isinstance(c, (int, float)) else f"class {c}"
            for c in classes]


def _label(t: Any) -> float:
    """A number to colour a point by: the label, or the class of a one-hot target."""
    if hasattr(t, "__len__"):
        return float(max(range(len(t)), key=lambda i: t[i]))
    return float(t)
