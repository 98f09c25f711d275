"""The Demand page's words (and the report's demand section), English and Chinese.

Kept apart from :mod:`liucun.serve.i18n`, which lays them over its own tables, so that
neither module grows past the house's size limit; keys are looked up there as any other.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "nav_demand": "Demand",
    "demand_title": "Demand, stock and prices",
    "forecast_title": "Demand forecast",
    "forecast_help": "Expected units sold per day over the next {days} days (dots) with "
    "the {interval} interval around them (bars). A category and the whole shop are the "
    "sums of their items' forecasts; their intervals are their own.",
    "forecast_none": "No forecast in this run. `liucun run` forecasts demand once the "
    "warehouse holds orders and their lines (order_items); `liucun forecast --as-of DATE "
    "--horizon 28 --out FILE` writes one on its own.",
    "forecast_series": "Series",
    "forecast_shop": "Whole shop",
    "forecast_show": "Show",
    "forecast_chart": "Forecast and interval per day",
    "forecast": "Forecast",
    "forecast_interval": "{interval} interval",
    "forecast_lo": "Low",
    "forecast_hi": "High",
    "forecast_units": "Units, next {days} days",
    "forecast_by_category": "Forecast by category",
    "forecast_daily": "Per day",
    "forecast_report_help": "Expected units sold per category over the next {days} days "
    "({interval} intervals per day in the run's forecast_categories.parquet), the largest "
    "first; each item's daily forecast is in forecast_items.parquet.",
    "date": "Date",
    "stock_title": "Stock-out list",
    "stock_help": "Items that may run out before new stock arrives (stock-out risk) "
    "first, soonest out first, then overstocked ones; from each item's latest stock "
    "snapshot before as-of and the forecast over its lead time.",
    "stock_none": "No stock data in this run: ingest stock snapshots with `liucun ingest "
    "inventory FILE`, then `liucun run` (or `liucun inventory --as-of DATE --out FILE`).",
    "stock_all_ok": "No item is at risk of a stock-out or overstocked.",
    "stock_shown": "The first {shown} of {total} items with an alert.",
    "on_hand": "On hand",
    "daily_demand": "Daily demand",
    "days_of_cover": "Days of cover",
    "reorder_point": "Reorder point",
    "order_qty": "Order qty",
    "stockout_date": "Runs out",
    "alert": "Alert",
    "kpi_stockout_risk": "Items at stock-out risk",
    "kpi_overstock": "Items overstocked",
    "kpi_to_order": "Items to order",
    "prices_title": "Price elasticity",
    "prices_help": "How demand answers price: -1.5 means 10% off sells about 15% more. "
    "Learned from the shop's own price changes with calendar and promotions controlled "
    "for; with fewer price changes than [pricing] min_price_changes (5 by default) there is "
    "no estimate (see the note). The "
    "suggested discount keeps the margin floor of [pricing] in liucun.toml.",
    "prices_none": "No elasticities in this run: `liucun run` estimates them from price "
    "changes in order_items (or `liucun pricing --as-of DATE --out FILE`).",
    "level": "Level",
    "elasticity": "Elasticity",
    "elasticity_interval": "Interval",
    "n_price_changes": "Price changes",
    "suggested_discount": "Suggested discount",
    "note": "Note",
}

ZH: dict[str, str] = {
    "nav_demand": "需求",
    "demand_title": "需求、库存与价格",
    "forecast_title": "需求预测",
    "forecast_help": "未来 {days} 天每天的预计销量（圆点）及其 {interval} 区间（柱）。"
    "品类和全店的预测是其商品预测之和，区间单独校准。",
    "forecast_none": "本次运行没有预测。仓库中有订单及订单明细（order_items）后，"
    "`liucun run` 会预测需求；也可单独运行 `liucun forecast --as-of DATE --horizon 28 "
    "--out FILE`。",
    "forecast_series": "序列",
    "forecast_shop": "全店",
    "forecast_show": "显示",
    "forecast_chart": "每日预测及区间",
    "forecast": "预测",
    "forecast_interval": "{interval} 区间",
    "forecast_lo": "下限",
    "forecast_hi": "上限",
    "forecast_units": "未来 {days} 天销量",
    "forecast_by_category": "按品类的预测",
    "forecast_daily": "日均",
    "forecast_report_help": "各品类未来 {days} 天的预计销量，从大到小（每日的 {interval} 区间见本次"
    "运行的 forecast_categories.parquet）；每个商品的每日预测见 forecast_items.parquet。",
    "date": "日期",
    "stock_title": "缺货清单",
    "stock_help": "可能在补货到达前售罄的商品（缺货风险）排在前面，最早售罄的在先，"
    "其后是积压商品；依据 as-of 之前每个商品最新的库存快照和补货周期内的需求预测。",
    "stock_none": "本次运行没有库存数据：先用 `liucun ingest inventory FILE` 导入库存快照，"
    "再运行 `liucun run`（或 `liucun inventory --as-of DATE --out FILE`）。",
    "stock_all_ok": "没有商品有缺货风险或积压。",
    "stock_shown": "有提示的 {total} 个商品中的前 {shown} 个。",
    "on_hand": "现有库存",
    "daily_demand": "日需求",
    "days_of_cover": "可售天数",
    "reorder_point": "再订货点",
    "order_qty": "建议订货量",
    "stockout_date": "预计售罄",
    "alert": "提示",
    "kpi_stockout_risk": "缺货风险商品",
    "kpi_overstock": "积压商品",
    "kpi_to_order": "需订货商品",
    "prices_title": "价格弹性",
    "prices_help": "需求对价格的反应：-1.5 表示降价 10% 销量约增加 15%。依据店铺自身的调价，"
    "并控制了日历和促销的影响；调价次数少于 [pricing] min_price_changes（默认 5）时"
    "不做估计（见说明）。建议折扣保持 "
    "liucun.toml 中 [pricing] 的毛利下限。",
    "prices_none": "本次运行没有价格弹性：`liucun run` 会根据 order_items 中的调价估计"
    "（或运行 `liucun pricing --as-of DATE --out FILE`）。",
    "level": "层级",
    "elasticity": "弹性",
    "elasticity_interval": "区间",
    "n_price_changes": "调价次数",
    "suggested_discount": "建议折扣",
    "note": "说明",
}

# Data values the demand outputs hold (alerts, pricing levels and notes).
VALUES: dict[str, dict[str, str]] = {
    "en": {
        "stockout_risk": "stock-out risk",
        "overstock": "overstock",
        "ok": "ok",
        "item": "item",
    },
    "zh": {
        "stockout_risk": "缺货风险",
        "overstock": "积压",
        "ok": "正常",
        "item": "商品",
        "category": "品类",
        "not enough price variation": "调价不足",
        "interval includes 0: no discount": "区间包含 0：不建议折扣",
    },
}
