"""The speed figures the README and docs/speed.md show are the benchmark run's own."""
from __future__ import annotations

import pytest

from benchmarks.run import PUBLISHED, RESULTS, SUMMARY, publish


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_the_docs_show_the_summary_of_the_last_benchmark_run():
    summary = _between(RESULTS.read_text(encoding="utf-8"), "## Summary\n", "\n## ")
    assert "| `nn.fit`, digits" in summary and "micrograd's demo loop" in summary
    for path in PUBLISHED:
        assert _between(path.read_text(encoding="utf-8"), *SUMMARY) == summary, path


def test_publish_rewrites_only_between_the_markers_and_refuses_a_file_without_them(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"before\n{SUMMARY[0]}\nold figures\n{SUMMARY[1]}\nafter\n", encoding="utf-8")
    publish("| new | figures |", [page])
    assert page.read_text(encoding="utf-8") == f"before\n{SUMMARY[0]}\n| new | figures |\n{SUMMARY[1]}\nafter\n"
    bare = tmp_path / "bare.md"
    bare.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must hold the benchmark markers"):
        publish("x", [bare])
    assert bare.read_text(encoding="utf-8") == "no markers here\n"
