"""The one atomic writer: files that behave like files, and a full disk that loses nothing."""
from __future__ import annotations

import errno
import os
import socket
import stat

import pytest

from engine import Value
from engine.draw import render, renderer_available
from engine.files import NotARegularFileError, check_writable, write_atomic
from engine.player import save_html
from tests.conftest import require


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (and put it back)."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda value: os.umask(value)
    os.umask(previous)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_mode_open_would_give(tmp_path, umask, mask, expected):
    umask(mask)
    write_atomic(tmp_path / "new.txt", "hello")
    with open(tmp_path / "by-open.txt", "w"):
        pass
    assert mode(tmp_path / "new.txt") == mode(tmp_path / "by-open.txt") == expected


@pytest.mark.parametrize("existing", [0o664, 0o600, 0o640])
def test_an_existing_file_keeps_its_mode(tmp_path, umask, existing):
    umask(0o022)
    path = tmp_path / "old.txt"
    path.write_text("old")
    os.chmod(path, existing)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == existing


def special_files(tmp_path) -> dict[str, os.PathLike]:
    """Things that exist and are not regular files: a folder, a FIFO, a socket (and, when
    the tests run as root, a character device like /dev/null)."""
    found = {"a folder": tmp_path / "folder", "a FIFO": tmp_path / "fifo", "a socket": tmp_path / "sock"}
    found["a folder"].mkdir()
    os.mkfifo(found["a FIFO"])
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(found["a socket"]))
    server.close()
    if os.geteuid() == 0:
        found["a character device"] = tmp_path / "null"
        os.mknod(found["a character device"], stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return found


def test_a_destination_that_is_not_a_regular_file_is_refused(tmp_path):
    special = special_files(tmp_path)
    for kind, path in special.items():
        before = os.lstat(path)
        for attempt in (check_writable, lambda p: write_atomic(p, "x")):
            with pytest.raises(NotARegularFileError, match=f"it is {kind}") as caught:
                attempt(path)
            assert caught.value.filename == str(path) and str(path) in str(caught.value)
        after = os.lstat(path)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), kind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in special.values())


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target.name)
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text() == "new" and mode(target) == 0o640
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to("made-by-writing.txt")
    write_atomic(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "made-by-writing.txt").read_text() == "made"


def test_the_longest_name_the_system_allows_works(tmp_path):
    name = "m" * (os.pathconf(tmp_path, "PC_NAME_MAX") - 5) + ".json"
    check_writable(tmp_path / name)
    write_atomic(tmp_path / name, "{}")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    with pytest.raises(OSError, match="too long") as caught:
        check_writable(tmp_path / ("m" + name))
    assert caught.value.errno == errno.ENAMETOOLONG


def test_missing_folders_are_made_and_impossible_ones_named(tmp_path):
    write_atomic(tmp_path / "a" / "b" / "c.txt", "deep")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "deep"
    (tmp_path / "file.txt").write_text("a file")
    impossible = tmp_path / "file.txt" / "sub" / "m.json"
    for attempt in (check_writable, lambda p: write_atomic(p, "x")):
        with pytest.raises(NotADirectoryError) as caught:
            attempt(impossible)
        assert caught.value.filename == str(impossible)


def test_no_permission_is_found_before_writing(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if os.fspath(p) == str(locked) else real_access(p, m))
    with pytest.raises(PermissionError, match="no permission to write in") as caught:
        check_writable(locked / "sub" / "m.json")
    assert caught.value.filename == str(locked / "sub" / "m.json")


def test_errors_name_the_callers_path_not_the_temporary_file(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kw):
        if os.fspath(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as caught:
        write_atomic(tmp_path / "m.json", "x")
    assert caught.value.filename == str(tmp_path / "m.json") and ".tmp" not in str(caught.value)


# ---------------------------------------------------------------- a full disk loses nothing

def neuron() -> Value:
    w, x, b = Value(2.3, label="w"), Value(0.5, label="x"), Value(-1.2, label="b")
    out = (w * x + b).tanh()
    out.label = "a"
    out.backward()
    return out


WRITERS = {
    "write_atomic": lambda path: write_atomic(path, "new contents " * 1000),
    "render": lambda path: render(neuron(), path.with_suffix(".svg")),
    "save_html": lambda path: save_html(neuron(), path.with_suffix(".html")),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_leaves_the_old_file_intact(tmp_path, request, writer):
    if writer != "write_atomic":
        require(renderer_available(), "Graphviz dot")
    write = WRITERS[writer]
    name = {"write_atomic": "f.txt", "render": "f.svg", "save_html": "f.html"}[writer]
    path = tmp_path / name
    path.write_text("the old file")
    request.getfixturevalue("full_disk")
    with pytest.raises(OSError) as caught:
        write(path)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert path.read_text() == "the old file"
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left
