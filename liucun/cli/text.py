"""Texts: the ``sentiment`` and ``reviews`` groups and ``liucun assist``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liucun.cli._common import AsOf, console, err, open_workspace, show_or_write
from liucun.errors import LiucunError

sentiment_app = typer.Typer(
    help="Sentiment of review and service texts (Chinese and English).",
    invoke_without_command=True,
)


@sentiment_app.callback()
def sentiment_cmd(
    ctx: typer.Context,
    in_file: Annotated[
        Path | None,
        typer.Option(
            "--in", help="CSV/Parquet/JSONL with a text column, or .txt with one text per line."
        ),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Input columns + label, p_positive, lang.")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding: utf-8 (default), gbk, gb18030, utf-16..."),
    ] = None,
) -> None:
    """Score texts: adds label (positive|negative), p_positive and lang to each row.

    Rows that cannot be read are left out and listed on stderr; a file mostly unreadable
    (more than [ingest] max_bad_share) is refused.
    """
    if ctx.invoked_subcommand:
        return
    if in_file is None or out_file is None:
        raise LiucunError("sentiment: give --in FILE and --out FILE (or `sentiment train`)")
    from liucun import config
    from liucun.outputs import check_output, write_frame
    from liucun.tasks.reviews import read_texts, score_texts, sentiment_model

    check_output(out_file)
    ws = open_workspace()
    share = float(config.section("ingest", ws.config)["max_bad_share"])
    df = read_texts(in_file, encoding, max_bad_share=share)
    errors: list[str] = df.attrs.get("read_errors", [])
    for line in errors:
        err.print(f"{in_file}: {line}", markup=False, highlight=False, soft_wrap=True)
    if errors:
        err.print(
            f"warning: {len(errors):,} unreadable row{'s' * (len(errors) > 1)} of {in_file} "
            "left out (listed above)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    with err.status("loading the sentiment model"):
        model, model_id = sentiment_model(ws)
    scored = score_texts(df["text"].tolist(), model)
    out = df.drop(columns=[c for c in scored.columns if c in df.columns])
    out = out.reset_index(drop=True).join(scored)
    write_frame(out, out_file)
    pos = int((out["label"] == "positive").sum())
    console.print(
        f"scored {len(out):,} texts ({pos:,} positive, {len(out) - pos:,} negative; "
        f"model {model_id}) → {out_file}",
        highlight=False,
    )


@sentiment_app.command("train")
def sentiment_train(
    data: Annotated[
        Path, typer.Option("--data", help="Columns text, label (positive|negative or 1|0).")
    ],
) -> None:
    """Fit the workspace's sentiment model on a labelled file; later scoring uses it."""
    from liucun.tasks.reviews import train_sentiment

    with err.status("fitting the sentiment model"):
        info = train_sentiment(open_workspace(), data)
    console.print(
        f"trained on {info['rows']:,} texts ({info['positive']:,} positive, "
        f"{info['negative']:,} negative) → {info['path']}",
        highlight=False,
    )


reviews_app = typer.Typer(
    help="Review themes, topics, item quality, interests.", no_args_is_help=True
)


@reviews_app.command("themes")
def reviews_themes(
    as_of: AsOf = None,
    by: Annotated[str, typer.Option("--by", help="category, top_category or item.")] = "category",
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 30,
) -> None:
    """Aspects customers talk about (quality, price, delivery...) per group, with sentiment."""
    from liucun.tasks.reviews import themes
    from liucun.workspace import parse_as_of

    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("scoring review texts"):
        df = themes(ws, day, by)
    show_or_write(df, out_file, f"themes by {by} as of {day}", limit)


@reviews_app.command("quality")
def reviews_quality(
    as_of: AsOf = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print (worst first).")] = 20,
) -> None:
    """Item quality from ratings, review sentiment and refunds, shrunk when evidence is thin."""
    from liucun.tasks.reviews import item_quality
    from liucun.workspace import parse_as_of

    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("scoring review texts"):
        df = item_quality(ws, day)
    show_or_write(df, out_file, f"item quality as of {day}", limit)


@reviews_app.command("topics")
def reviews_topics(as_of: AsOf = None) -> None:
    """Topics over all reviews (NMF) with their top words, share and sentiment."""
    import pandas as pd

    from liucun.tasks.reviews import topics
    from liucun.workspace import parse_as_of

    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    with err.status("fitting topics"):
        tp = topics(ws, day)
    if not tp:
        console.print("too few reviews for topics", highlight=False)
        return
    df = pd.DataFrame(tp).assign(words=lambda d: d["words"].map(" ".join))
    show_or_write(df, None, f"review topics as of {day}", len(df))


@reviews_app.command("interests")
def reviews_interests(
    as_of: AsOf = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV or Parquet.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows to print.")] = 20,
) -> None:
    """Interest keywords per customer from the items they browsed and bought."""
    from liucun.tasks.reviews import interests
    from liucun.workspace import parse_as_of

    ws = open_workspace()
    day = parse_as_of(as_of, ws)
    df = interests(ws, day)
    show_or_write(df, out_file, f"interest keywords as of {day}", limit)


def assist_cmd(
    question: Annotated[str, typer.Argument(help="The customer's question (zh or en).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer as JSON.")] = False,
) -> None:
    """Answer a customer question from the shop FAQ, or hand it over to a person."""
    import json

    from liucun.tasks.assist import Assistant, assistant_config

    ws = open_workspace()
    a = Assistant(assistant_config(ws.config, root=ws.path)).answer(question)
    if as_json:
        console.print_json(json.dumps(a, ensure_ascii=False))
        return
    console.print(
        f"intent: {a['intent']} (p={a['intent_p']:.2f}) · source: {a['source']}"
        + (" · handed over to a person" if a["handover"] else ""),
        highlight=False,
    )
    console.print(a["reply"], markup=False, highlight=False)
    for hit in a["answers"]:
        err.print(f"  {hit['score']:.2f}  {hit['question']}", markup=False, highlight=False)
