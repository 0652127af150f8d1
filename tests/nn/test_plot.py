"""Plots: files are written, and bad input is refused (needs matplotlib, extra "plot")."""
from __future__ import annotations

import pytest

from nn import MLP, History, data
from tests.conftest import require

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


@pytest.fixture(autouse=True)
def _needs_matplotlib():
    require(HAVE_MPL, "matplotlib (the 'plot' extra)")


PNG = b"\x89PNG\r\n\x1a\n"


def test_plot_history_writes_a_png_and_an_svg(tmp_path):
    from nn.plot import plot_history

    h = History(loss=[1.0, 0.1, 0.001], accuracy=[0.5, 0.9, 1.0])
    png = plot_history(h, tmp_path / "sub" / "loss.png")
    assert png.read_bytes().startswith(PNG)
    svg = plot_history(History(loss=[2.0, 1.0], accuracy=[None, None]), tmp_path / "loss.svg")
    assert "<svg" in svg.read_text()


def test_plot_decision_boundary_one_and_two_outputs(tmp_path):
    from nn.plot import plot_decision_boundary

    d = data.load("moons", n=20)
    assert plot_decision_boundary(MLP(2, [4, 1], seed=0), d, tmp_path / "a.png", resolution=20).read_bytes().startswith(PNG)
    hot = data.load("table10").one_hot()
    assert plot_decision_boundary(MLP(2, [3, 2], seed=0), hot, tmp_path / "b.png", resolution=20).exists()


def test_plot_errors(tmp_path):
    from nn.plot import plot_decision_boundary, plot_history

    with pytest.raises(ValueError, match="no epochs"):
        plot_history(History(), tmp_path / "x.png")
    with pytest.raises(ValueError, match="2 inputs"):
        plot_decision_boundary(MLP(3, [1], seed=0), data.load("moons", n=10), tmp_path / "x.png")
    with pytest.raises(ValueError, match="2 features"):
        plot_decision_boundary(MLP(1, [1], seed=0), data.load("not"), tmp_path / "x.png")


def test_plotting_does_not_switch_the_pyplot_backend(tmp_path):
    import matplotlib

    from nn.plot import plot_history

    before = matplotlib.get_backend()
    plot_history(History(loss=[1.0, 0.5], accuracy=[None, None]), tmp_path / "l.png")
    assert matplotlib.get_backend() == before


def test_a_full_disk_leaves_the_old_figures_intact(tmp_path, full_disk):
    from nn.plot import plot_decision_boundary, plot_history

    moons = data.load("moons", n=20, seed=0)
    for name, plot in (("loss.png", lambda p: plot_history(History(loss=[1.0, 0.5]), p)),
                       ("moons.png", lambda p: plot_decision_boundary(MLP(2, [1], seed=0), moons, p))):
        path = tmp_path / name
        path.write_bytes(b"the old figure")
        with pytest.raises(OSError, match="No space left"):
            plot(path)
        assert path.read_bytes() == b"the old figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "moons.png"]


def test_a_name_without_an_ending_gets_a_png_under_that_very_name(tmp_path):
    from nn.plot import plot_history

    path = plot_history(History(loss=[1.0, 0.5]), tmp_path / "loss")
    assert path == tmp_path / "loss" and path.read_bytes().startswith(PNG)


def _svg_text(write) -> str:
    """The SVG that `write(path)` makes, with its text kept as text (not glyph outlines)."""
    import tempfile
    from pathlib import Path

    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}), tempfile.TemporaryDirectory() as folder:
        return write(Path(folder) / "figure.svg").read_text()


def test_the_loss_curve_names_its_loss_and_labels_both_lines():
    from nn import fit
    from nn.plot import plot_history

    history = fit(MLP(2, [3, 1], seed=0), data.load("xor"), loss="hinge", epochs=3, progress=False)
    assert history.loss_name == "hinge"
    svg = _svg_text(lambda path: plot_history(history, path))
    assert svg.count("hinge loss (mean per example)") == 2  # the axis and the legend
    assert "training accuracy" in svg
    regression = History(loss=[2.0, 1.0], accuracy=[None, None], loss_name="mean_squared_error")
    assert "mean squared error (mean per example)" in _svg_text(lambda path: plot_history(regression, path))


def test_the_decision_boundary_has_a_legend_of_its_classes():
    from nn.plot import plot_decision_boundary

    moons = data.load("moons", n=20)
    svg = _svg_text(lambda path: plot_decision_boundary(MLP(2, [4, 1], seed=0), moons, path, resolution=20))
    assert "class -1" in svg and "class +1" in svg and "boundary (output = 0)" in svg
    hot = data.load("table10").one_hot()  # the classes of one-hot targets are the data set's own
    svg = _svg_text(lambda path: plot_decision_boundary(MLP(2, [3, 2], seed=0), hot, path, resolution=20))
    assert "class -1" in svg and "class +1" in svg and "boundary (output" not in svg
    bits = data.Dataset([[0, 0], [1, 1]], [0, 1], name="bits")
    svg = _svg_text(lambda path: plot_decision_boundary(MLP(2, [2, 1], seed=0), bits, path, resolution=20))
    assert "class 0" in svg and "class 1" in svg and "boundary (output = 0.5)" in svg
