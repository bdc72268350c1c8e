"""`newsarchive export`: every format round-trips, filters, story dedupe, WACZ."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import subprocess
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.collection import Collection
from newsarchive.index.sidecars import iter_sidecars
from tests.plugins.collection import NEWSARCHIVE, copy_collection


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NEWSARCHIVE, *args], capture_output=True, text=True, timeout=timeout)


def catalog_count(coll: Path, where: str = "true") -> int:
    con = duckdb.connect()
    glob = str(coll / "catalog" / "**" / "*.parquet")
    return int(con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true) "
        f"WHERE is_article AND ({where})"
    ).fetchone()[0])


def read_export(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_format_round_trips_with_typed_fields(demo_collection: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"articles.{fmt}"
    result = run("export", str(demo_collection), "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "articles" in result.stderr  # progress/summary on stderr
    rows = read_export(out, fmt)
    assert len(rows) == catalog_count(demo_collection) > 0
    sidecars = {s["url"]: s for uri in Collection.open(demo_collection).sidecar_files()
                for s in iter_sidecars(uri)}
    for row in rows:
        sc = sidecars[row["url"]]
        if fmt == "csv":
            assert int(row["text_length"]) == len(sc["text"])
            assert json.loads(row["authors"]) == sc["authors"]
            assert dt.datetime.fromisoformat(row["captured"].replace("Z", "+00:00")).tzinfo
            assert int(row["warc_offset"]) == sc["capture"]["offset"]
        else:
            assert row["text"] == sc["text"]
            assert row["text_length"] == len(sc["text"]) and isinstance(row["text_length"], int)
            assert row["authors"] == sc["authors"]
            assert [a["text"] for a in row["ads"]] == [a["text"] for a in sc["ads"]]
            assert [r["url"] for r in row["related"]] == [r["url"] for r in sc["related"]]
            assert row["warc_offset"] == sc["capture"]["offset"]
    if fmt == "parquet":
        schema = pq.read_schema(out)
        assert schema.field("captured").type == pa.timestamp("us", tz="UTC")
        assert schema.field("published").type == pa.timestamp("us", tz="UTC")
        assert "also_at" not in schema.names
        assert schema.field("authors").type == pa.list_(pa.string())
        assert schema.field("warc_length").type == pa.int64()


def test_stdout_and_fields(demo_collection: Path) -> None:
    result = run("export", str(demo_collection), "--fields", "url,title,word_count", "--quiet")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == catalog_count(demo_collection)
    assert all(list(r) == ["url", "title", "word_count"] for r in rows)


@pytest.mark.parametrize(
    ("options", "where"),
    [
        (["--lang", "en"], "language = 'en'"),
        (["--lang", "en-US"], "language_declared = 'en-US'"),
        (["--since", "2026-02-01", "--until", "2026-02-28"],
         "published_date BETWEEN DATE '2026-02-01' AND DATE '2026-02-28'"),
        (["--domain", "127.0.0.1"], "true"),
        (["--domain", "example.com"], "false"),
        (["--query", "Belarus pardons"],
         "title ILIKE '%belarus%' AND title ILIKE '%pardons%'"),
    ],
)
def test_filters_select_what_the_catalog_says(demo_collection: Path, options: list[str], where: str) -> None:
    result = run("export", str(demo_collection), "--fields", "url,title,text", "--quiet", *options)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == catalog_count(demo_collection, where)


def test_captured_date_filter(demo_collection: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    args = ["export", str(demo_collection), "--quiet", "--date-field", "captured", "--fields", "url"]
    assert len(run(*args, "--since", str(today - dt.timedelta(days=1))).stdout.splitlines()) == \
        catalog_count(demo_collection)
    assert run(*args, "--until", "2000-01-01").stdout == ""


def test_every_demo_article_has_a_language_and_the_declared_tag_is_kept(demo_collection: Path) -> None:
    rows = [json.loads(line) for line in run(
        "export", str(demo_collection), "--quiet", "--fields", "url,language,language_declared"
    ).stdout.splitlines()]
    assert rows and all(r["language"] == "en" for r in rows)
    declared = {r["language_declared"] for r in rows}
    assert None in declared and "en-US" in declared  # one template declares none: detected


def test_api_articles_match_the_export(demo_collection: Path) -> None:
    import newsarchive

    coll = newsarchive.open(demo_collection)
    exported = [json.loads(line) for line in run("export", str(demo_collection), "--quiet")
                .stdout.splitlines()]
    table = coll.articles()
    assert table.num_rows == len(exported) == catalog_count(demo_collection)
    assert table.column("url").to_pylist() == [r["url"] for r in exported]
    assert table.schema.field("published").type == pa.timestamp("us", tz="UTC")
    some = coll.articles(lang="en-US", columns=["url", "title"], since="2026-01-01")
    assert some.column_names == ["url", "title"]
    assert some.num_rows == catalog_count(
        demo_collection, "language_declared = 'en-US' AND published_date >= DATE '2026-01-01'")
    assert coll.articles(query="zzzz-no-such-word").num_rows == 0
    assert coll.captures().num_rows == catalog_count(demo_collection, "true") + \
        catalog_count_all(demo_collection, "NOT is_article")
    assert sum(1 for s in coll.sidecars() if s.get("is_article") is not False) == len(exported)
    df = coll.articles(columns=["url", "word_count"]).to_pandas() if _has_pandas() else None
    assert df is None or len(df) == len(exported)


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def catalog_count_all(coll: Path, where: str) -> int:
    con = duckdb.connect()
    glob = str(coll / "catalog" / "**" / "*.parquet")
    return int(con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true) WHERE {where}"
    ).fetchone()[0])


def test_dedupe_stories_needs_the_catalogs_story_ids(demo_collection: Path, tmp_path: Path) -> None:
    coll = copy_collection(demo_collection, tmp_path / "demo")
    source = sorted((coll / "sidecars").glob("*.sidecars.jsonl.gz"))[0]
    first = next(iter_sidecars(str(source)))
    with open(coll / "sidecars" / "uncatalogued.sidecars.jsonl.gz", "wb") as out:
        copy = {**first, "url": first["url"] + "?copy", "is_article": True}
        out.write(gzip.compress((json.dumps(copy) + "\n").encode()))
    result = run("export", str(coll), "--quiet", "--dedupe-stories")
    assert result.returncode == 2
    assert "no story_id in the catalog" in result.stderr and "Traceback" not in result.stderr
    plain = run("export", str(coll), "--quiet", "--fields", "url")
    assert plain.returncode == 0 and first["url"] + "?copy" in plain.stdout


def test_an_odd_sidecar_does_not_stop_the_export(demo_collection: Path, tmp_path: Path) -> None:
    coll = copy_collection(demo_collection, tmp_path / "demo")
    source = sorted((coll / "sidecars").glob("*.sidecars.jsonl.gz"))[0]
    good = [s for s in iter_sidecars(str(source)) if s.get("is_article")][:2]
    odd = {**good[0], "url": good[0]["url"] + "?odd", "authors": [1, "Jane Roe"],
           "published": "sometime last week", "ads": "none"}
    with open(coll / "sidecars" / "odd.sidecars.jsonl.gz", "wb") as out:
        for sc in (odd, good[1]):
            out.write(gzip.compress((json.dumps(sc) + "\n").encode()))
        out.write(gzip.compress(b"{not json\n"))
    rows = {r["url"]: r for r in (json.loads(line) for line in run(
        "export", str(coll), "--quiet", "--fields", "url,authors,published,ads").stdout.splitlines())}
    assert rows[odd["url"]]["authors"] == ["1", "Jane Roe"]
    assert rows[odd["url"]]["published"] is None and rows[odd["url"]]["ads"] is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--since", "yesterday"], "--since 'yesterday': give a date as YYYY-MM-DD"),
        (["--fields", "url,nope"], "unknown field(s) nope"),
        (["--format", "wacz"], "needs --out FILE.wacz"),
        (["--since", "2026-03-01", "--until", "2026-01-01"], "is after --until"),
    ],
)
def test_bad_options_are_one_line_errors(demo_collection: Path, options: list[str], expected: str) -> None:
    result = run("export", str(demo_collection), *options)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_wacz_validates_and_replays(demo_collection: Path, tmp_path: Path) -> None:
    from wacz.main import main as wacz_main

    out = tmp_path / "subset.wacz"
    result = run("export", str(demo_collection), "--format", "wacz", "--out", str(out),
                 "--lang", "en-US", timeout=300)
    assert result.returncode == 0, result.stderr
    assert wacz_main(["validate", "-f", str(out)]) == 0  # py-wacz's own validator
    expected = catalog_count(demo_collection, "language_declared = 'en-US'")
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").splitlines()[1:]]
        sidecars = [json.loads(line) for line in z.read("sidecars/sidecars.jsonl").splitlines()]
        assert any(n.startswith("archive/") and n.endswith(".warc.gz") for n in names)
        assert "indexes/index.cdx.gz" in names
        assert len(pages) == len(sidecars) == expected
        # only the chosen pages' records (and their resources), not whole WARC files
        articles = {s["url"] for uri in Collection.open(demo_collection).sidecar_files()
                    for s in iter_sidecars(uri) if s.get("is_article")}
        warcs = [n for n in names if n.startswith("archive/")]
        assert len(warcs) == 1
        records = list(ArchiveIterator(io.BytesIO(z.read(warcs[0]))))
        responses = [r.rec_headers.get_header("WARC-Target-URI") for r in records
                     if r.rec_type in ("response", "revisit")]
        assert {u for u in responses if u in articles} == {p["url"] for p in pages}
        assert sum(r.rec_type == "request" for r in records) == len(responses)
        assert len(responses) < 2 * len(pages)
        # replay the package's own WARCs with pywb
        replay_dir = tmp_path / "fromwacz"
        (replay_dir / "warc").mkdir(parents=True)
        for n in names:
            if n.startswith("archive/"):
                (replay_dir / "warc" / Path(n).name).write_bytes(z.read(n))
    assert run("index", str(replay_dir)).returncode == 0
    proc = subprocess.Popen([*NEWSARCHIVE, "replay", str(replay_dir), "--port", "0",
                             "--admin-port", "0", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        page = sidecars[0]
        url = f"{info['replay']}mp_/{page['url']}"
        body = urllib.request.urlopen(url, timeout=30).read().decode("utf-8", "replace")
        assert page["paragraphs"][0][:40] in body.replace("&#x27;", "'").replace("&#39;", "'")
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
