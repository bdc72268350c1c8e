"""Hostile site files: an alias bomb, huge values, a huge file -- refused in one short line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsarchive.discover.site import load_site
from newsarchive.exceptions import ConfigError

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))


def alias_bomb() -> str:
    """Nine levels of nine aliases under ``sections:``: 9**9 strings once expanded."""
    lines = ["name: bomb", "start_urls: [http://127.0.0.1:9/]", "sections:",
             '  - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"  - &{name} [{','.join(['*' + previous] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def test_the_bomb_is_small() -> None:
    assert len(alias_bomb()) < 420


def test_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    start = time.process_time()
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert time.process_time() - start < 0.5  # CPU time: expanding it takes minutes
    message = str(info.value)
    assert message == (f"{path}: line 4: YAML anchors and aliases (&name, *name) are not "
                       "allowed in site files; write the values out")


def test_an_alias_alone_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("start_urls: &u [http://a.example/]\nsections: *u\n")
    with pytest.raises(ConfigError, match="line 1: YAML anchors and aliases"):
        load_site(path)


@pytest.mark.slow  # CLI processes
@pytest.mark.parametrize("verb", ["crawl", "schedule"])
def test_crawl_and_schedule_refuse_the_bomb_in_one_short_line(tmp_path: Path, verb: str) -> None:
    sites = tmp_path / "sites"
    sites.mkdir()
    path = sites / "bomb.yaml"
    path.write_text(alias_bomb())
    args = {"crawl": ["crawl", str(path), "--out", str(tmp_path / "out")],
            "schedule": ["schedule", str(sites), "--collections", str(tmp_path / "c"), "--once"]}
    done = subprocess.run([NEWSARCHIVE, *args[verb]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and len(done.stderr) < 300, done.stderr[:500]
    assert "anchors and aliases" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # parses 400 KB of YAML twice
def test_error_messages_cap_the_value_they_quote(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("start_urls: [http://a.example/]\nrender: " + "x" * 200_000 + "\n"
                    "depth: [" + ", ".join(["1"] * 50_000) + "]\n")
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert "line 2: render: 'xxxx" in str(info.value)
    assert len(str(info.value)) < 200
    path.write_text("start_urls: [http://a.example/]\ndepth: [" + ", ".join(["1"] * 50_000) + "]\n")
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert "line 2: depth: [1, 1, 1, 1, ...] is not a whole number" in str(info.value)
    assert len(str(info.value)) < 200


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("start_urls: [http://a.example/]\n# " + "x" * 2_000_000 + "\n")
    with pytest.raises(ConfigError, match="is larger than 1000000 bytes"):
        load_site(path)
