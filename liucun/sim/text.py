"""Review texts whose sentiment follows the rating, in Chinese and English.

Real review text is what sentiment models and "negative review -> churn" features are
trained on, so the simulator writes texts with the structure of real ones rather than a
few fixed sentences. Each text is composed from parts:

* an opener ("五星好评！", "Absolutely love it!"),
* one to three aspect clauses - quality, logistics, price/value, packaging, service,
  match with the description, and the item category's own aspects (fit and fabric for
  apparel, battery and screen for electronics, taste and freshness for food ...),
* connectors ("而且", "就是", "but", "The only downside is that"),
* an optional closer (repurchase intent, recommendation).

Polarity follows the rating: 1-2 negative, 3 mixed, 4-5 positive; 1 and 5 use strong
adverbs, more clauses and more openers/closers than 2 and 4, while 4 and 2 sometimes carry
a caveat of the opposite sign ("就是包装有点简陋"). A late delivery always adds a clause
that complains about slow shipping (物流慢), whatever the rating. Chinese follows the
style of Taobao/JD reviews, English that of Amazon reviews.

Randomness comes only from the ``numpy.random.Generator`` passed in: a fixed block of
uniforms is drawn per review, so the texts are deterministic for a seed.
``POSITIVE_WORDS`` / ``NEGATIVE_WORDS`` are small cue lexicons per language (negated
forms such as "不满意" / "not worth" are listed as negative) for lexicon scoring with
leftmost-longest matching.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CATEGORIES", "NEGATIVE_WORDS", "POSITIVE_WORDS", "review_texts"]

CATEGORIES: tuple[str, ...] = (
    "apparel",
    "beauty",
    "electronics",
    "home",
    "food",
    "sports",
    "books",
    "toys",
)

_Bank = dict[str, tuple[str, ...]]
_Adverbs = dict[tuple[str, bool], tuple[str, ...]]

# ---------------------------------------------------------------- Chinese

# Adverbs filled into "{a}": by sign and strength.
_ZH_ADV = {
    ("pos", True): ("非常", "特别", "超级", "真的很", "相当", "十分"),
    ("pos", False): ("挺", "还挺", "蛮", "比较", "很"),
    ("neg", True): ("太", "非常", "特别", "真的太", "超级"),
    ("neg", False): ("有点", "有些", "稍微有点", "略"),
}

_ZH_OPENERS = {
    2: (
        "五星好评！",
        "非常满意！",
        "太喜欢了！",
        "超级满意",
        "完美！",
        "好评！",
        "惊喜！",
        "买到就是赚到",
        "第二次购买了，依旧满意",
        "收到货了，非常满意",
        "必须好评",
        "太满意了",
    ),
    1: (
        "还不错",
        "挺好的",
        "整体满意",
        "收到了，不错",
        "东西挺好",
        "满意",
        "还可以，挺喜欢的",
        "总体不错",
        "好评",
    ),
    0: (
        "一般般吧",
        "还行吧",
        "中规中矩",
        "马马虎虎",
        "凑合",
        "一般",
        "说实话一般",
        "没有想象中那么惊艳",
        "就那样吧",
    ),
    -1: (
        "有点失望",
        "不太满意",
        "感觉一般，有点失望",
        "和预期有差距",
        "不太推荐",
        "体验不太好",
        "有点后悔",
    ),
    -2: (
        "差评！",
        "太差了！",
        "非常失望！",
        "千万别买！",
        "垃圾！",
        "后悔买了",
        "上当了",
        "坑人的东西",
        "第一次给差评",
        "真的无语了",
        "气死了",
    ),
}

_ZH_CLOSERS = {
    2: (
        "会回购的",
        "推荐购买！",
        "下次还来",
        "强烈推荐",
        "已经推荐给朋友了",
        "五星好评",
        "还会再来的",
        "值得入手",
        "良心店家，推荐",
        "已回购",
    ),
    1: (
        "值得购买",
        "推荐",
        "还会再来",
        "给个好评",
        "满意",
        "可以入手",
        "整体满意",
    ),
    0: (
        "凑合用吧",
        "先用用看",
        "看以后怎么样吧",
        "一分钱一分货",
        "就这样吧",
        "还行",
    ),
    -1: (
        "不太推荐",
        "慎买",
        "不会回购了",
        "不太满意",
        "有点后悔",
        "大家谨慎",
    ),
    -2: (
        "再也不会买了",
        "已申请退货",
        "大家别上当",
        "千万别买",
        "退货！",
        "差评！",
        "避雷！",
        "浪费钱",
    ),
}

_ZH_ASPECTS: dict[str, _Bank] = {
    "quality": {
        "pos": (
            "质量{a}好",
            "做工{a}精致",
            "做工{a}细致",
            "用料{a}扎实",
            "手感{a}好",
            "质量超出预期，惊喜",
            "质量杠杠的",
            "是正品",
        ),
        "neg": (
            "质量{a}差",
            "做工{a}粗糙",
            "用了两天就坏了",
            "做工粗糙，线头很多",
            "收到就是坏的",
            "感觉是假货",
            "质量{a}差，一用就坏",
        ),
    },
    "logistics": {
        "pos": (
            "物流{a}快",
            "发货{a}快",
            "第二天就到了，给力",
            "隔天就收到了",
            "物流给力",
            "配送速度{a}快",
            "送货上门，{a}快",
            "下单第二天就到了，{a}快",
        ),
        "neg": (
            "物流{a}慢",
            "发货{a}慢",
            "催了几次才发货",
            "配送速度{a}慢",
            "物流信息一直不更新，{a}慢",
        ),
    },
    "price": {
        "pos": (
            "性价比{a}高，划算",
            "价格{a}实惠",
            "物超所值",
            "活动价买的，{a}划算",
            "这个价格{a}值",
            "价格{a}便宜，值得",
        ),
        "neg": (
            "价格{a}贵，不值",
            "性价比{a}低",
            "不值这个价",
            "买完就降价了，{a}坑",
            "这个价格真不值",
        ),
    },
    "packaging": {
        "pos": (
            "包装{a}用心",
            "包装{a}严实",
            "包装{a}精美",
            "包装完好无损",
            "包装{a}结实",
        ),
        "neg": (
            "包装破损",
            "包装{a}简陋",
            "包装{a}敷衍",
            "外箱压坏了",
            "包装破了，里面也脏了",
        ),
    },
    "service": {
        "pos": (
            "客服{a}热情",
            "客服态度{a}好",
            "客服回复{a}快",
            "客服{a}耐心",
            "售后{a}贴心",
        ),
        "neg": (
            "客服态度{a}差",
            "客服爱答不理",
            "客服{a}敷衍",
            "找客服也没用",
            "售后{a}差",
            "客服一直不回消息",
        ),
    },
    "match": {
        "pos": (
            "和描述的一样，满意",
            "跟图片一模一样",
            "实物和图片一致，{a}满意",
            "和宣传的一样{a}好",
        ),
        "neg": (
            "和图片差别{a}大",
            "实物与描述不符",
            "跟宣传的差太多",
            "和详情页说的不一样，{a}失望",
        ),
    },
}

_ZH_CATEGORY: dict[str, _Bank] = {
    "apparel": {
        "pos": (
            "尺码{a}标准",
            "穿着{a}舒服",
            "面料{a}舒服",
            "上身效果{a}好",
            "版型{a}好看",
            "很合身",
            "颜色{a}正，没色差",
            "洗了也不掉色，{a}好",
        ),
        "neg": (
            "尺码偏小",
            "尺码偏大，{a}不合身",
            "洗一次就起球",
            "掉色{a}严重",
            "面料{a}差，{a}扎人",
            "有色差",
            "线头{a}多",
        ),
    },
    "beauty": {
        "pos": (
            "味道{a}好闻",
            "用了皮肤{a}好",
            "很温和，不刺激",
            "保湿效果{a}好",
            "不油腻，{a}好用",
            "是正品，{a}好用",
        ),
        "neg": (
            "用了过敏",
            "味道刺鼻",
            "用完脸上爆痘",
            "{a}油腻，不好用",
            "怀疑是假货",
            "{a}刺激，皮肤发红",
        ),
    },
    "electronics": {
        "pos": (
            "续航{a}给力",
            "电池{a}耐用",
            "屏幕{a}清晰",
            "运行{a}流畅",
            "音质{a}好",
            "连接{a}稳定",
            "充电{a}快",
        ),
        "neg": (
            "电池{a}不耐用",
            "屏幕有坏点",
            "用一会儿就发烫",
            "{a}卡顿",
            "充不进电",
            "蓝牙{a}不稳定，老是断连",
            "音质{a}差",
        ),
    },
    "home": {
        "pos": (
            "安装{a}方便",
            "尺寸刚刚好",
            "{a}结实耐用",
            "放在家里{a}好看",
            "{a}实用",
            "收纳{a}方便",
        ),
        "neg": (
            "有股刺鼻的异味",
            "{a}不结实，一碰就晃",
            "安装{a}麻烦，少了零件",
            "尺寸不对",
            "用了没几天就坏了",
        ),
    },
    "food": {
        "pos": (
            "味道{a}好",
            "{a}新鲜",
            "{a}好吃",
            "口感{a}好",
            "日期{a}新鲜",
            "家里人都说好吃",
        ),
        "neg": (
            "{a}难吃",
            "不新鲜",
            "临近过期了",
            "味道{a}怪",
            "吃出了异物",
            "{a}咸，难吃",
        ),
    },
    "sports": {
        "pos": (
            "穿着跑步{a}舒服",
            "{a}轻便",
            "{a}结实耐用",
            "弹性{a}好",
            "防滑效果{a}好",
        ),
        "neg": (
            "穿了几次就开胶",
            "{a}磨脚",
            "{a}不结实",
            "用了几次就坏了",
            "尺码不准，{a}不合脚",
        ),
    },
    "books": {
        "pos": (
            "印刷{a}清晰",
            "纸张{a}好",
            "是正版",
            "内容{a}好看",
            "孩子{a}喜欢看",
        ),
        "neg": (
            "印刷{a}模糊",
            "像是盗版",
            "纸张{a}差",
            "书角压坏了",
            "缺页",
        ),
    },
    "toys": {
        "pos": (
            "孩子{a}喜欢",
            "做工{a}精细，没有毛刺",
            "材质安全，{a}放心",
            "小朋友玩得{a}开心",
            "{a}好玩",
        ),
        "neg": (
            "{a}容易坏",
            "有股刺鼻的味道",
            "边缘有毛刺，{a}不安全",
            "孩子玩了一天就坏了",
            "零件缺失",
        ),
    },
}

_ZH_LATE = (
    "物流{a}慢，等了一个星期才到",
    "物流{a}慢",
    "发货{a}慢",
    "物流慢得离谱，等了十来天",
    "说是次日达，结果等了一周，{a}慢",
    "物流{a}慢，催了几次才到",
    "配送{a}慢，耽误事",
)

_ZH_MID = (
    "质量一般",
    "东西就那样",
    "和价格相符吧",
    "中规中矩",
    "用着还行",
    "没什么特别的",
    "一分钱一分货",
    "能用",
)

_ZH_ADD = ("", "", "而且", "另外", "还有", "并且")
_ZH_TO_BAD = ("就是", "不过", "但是", "可惜", "唯一不足的是", "只是")
_ZH_TO_GOOD = ("不过", "但是", "不过话说回来，", "当然")
_ZH_END = {2: ("！", "！", "。", "~", "!!"), 1: ("。", "！", "", "~"), 0: ("。", "", "…")}
_ZH_END_NEG = ("。", "！", "", "!!")

# ---------------------------------------------------------------- English

_EN_ADV = {
    ("pos", True): ("really", "very", "super", "incredibly", "extremely", "amazingly"),
    ("pos", False): ("pretty", "fairly", "quite", "reasonably", "surprisingly"),
    ("neg", True): ("really", "very", "extremely", "incredibly", "ridiculously"),
    ("neg", False): ("a bit", "a little", "slightly", "somewhat"),
}

_EN_OPENERS = {
    2: (
        "Absolutely love it!",
        "Five stars!",
        "Exceeded my expectations!",
        "Couldn't be happier.",
        "Love it!",
        "Perfect!",
        "Best purchase I've made this year.",
        "Wow, just wow.",
        "Amazing!",
        "So happy with this.",
        "Fantastic product.",
    ),
    1: (
        "Pretty good overall.",
        "Happy with it.",
        "Good purchase.",
        "Nice product.",
        "Works well, happy with it.",
        "Solid buy.",
        "Good.",
        "I like it.",
    ),
    0: (
        "It's okay.",
        "Average.",
        "Mixed feelings.",
        "It's fine, I guess.",
        "Nothing special.",
        "Meh.",
        "It's alright.",
        "Middle of the road.",
        "Three stars.",
    ),
    -1: (
        "A bit disappointed.",
        "Not great.",
        "Not what I expected.",
        "Somewhat disappointing.",
        "Not happy with this.",
        "Expected more.",
    ),
    -2: (
        "Terrible!",
        "Total waste of money.",
        "Do not buy!",
        "Very disappointed.",
        "Awful.",
        "Worst purchase ever.",
        "One star is too many.",
        "Complete garbage.",
        "Save your money.",
        "Extremely disappointed.",
    ),
}

_EN_CLOSERS = {
    2: (
        "Would definitely buy again!",
        "Highly recommend!",
        "Already ordered another one.",
        "Recommended to all my friends.",
        "Will be a repeat customer.",
        "Five stars, no question.",
        "Can't recommend it enough.",
        "Worth every penny.",
    ),
    1: (
        "Would buy again.",
        "Recommended.",
        "Good value overall.",
        "Happy with the purchase.",
        "Would recommend.",
        "Worth it.",
    ),
    0: (
        "It'll do for now.",
        "You get what you pay for.",
        "We'll see how it holds up.",
        "Okay for the price.",
        "Not sure I'd buy again.",
    ),
    -1: (
        "Probably won't buy again.",
        "Wouldn't recommend.",
        "Look elsewhere.",
        "Not worth it.",
        "Disappointed overall.",
    ),
    -2: (
        "Returning it.",
        "Never again.",
        "Asked for a refund.",
        "Stay away.",
        "Would not recommend to anyone.",
        "Don't waste your money.",
        "Avoid this seller.",
    ),
}

_EN_ASPECTS: dict[str, _Bank] = {
    "quality": {
        "pos": (
            "the quality is {a} good",
            "it feels {a} well made",
            "build quality is {a} solid",
            "it's {a} sturdy",
            "the quality is excellent",
            "great quality for the money",
            "the materials feel premium",
        ),
        "neg": (
            "the quality is {a} poor",
            "it feels {a} flimsy",
            "it broke after two days",
            "it arrived broken",
            "it's clearly a cheap knockoff",
            "it's {a} poorly made",
            "it stopped working within a week",
        ),
    },
    "logistics": {
        "pos": (
            "shipping was {a} fast",
            "it arrived {a} quickly",
            "delivery was {a} quick",
            "it came the next day",
            "it arrived ahead of schedule",
            "fast shipping too",
        ),
        "neg": (
            "shipping was {a} slow",
            "delivery was {a} slow",
            "tracking never updated and shipping was slow",
            "it took {a} long and shipping was slow",
        ),
    },
    "price": {
        "pos": (
            "it's {a} good value",
            "great value for money",
            "the price is {a} fair",
            "got it on sale, a great deal",
            "worth every penny",
            "a bargain at this price",
        ),
        "neg": (
            "it's {a} overpriced",
            "not worth the price",
            "the price dropped right after I bought it, annoying",
            "way too expensive for what it is",
            "poor value for money",
        ),
    },
    "packaging": {
        "pos": (
            "it was {a} well packaged",
            "the packaging was {a} neat",
            "it arrived in perfect condition",
            "nicely packed and protected",
            "the packaging is {a} nice",
        ),
        "neg": (
            "the box was damaged",
            "the packaging was {a} sloppy",
            "it arrived in a crushed box",
            "the packaging was torn and dirty",
            "the packaging is {a} flimsy",
        ),
    },
    "service": {
        "pos": (
            "the seller was {a} helpful",
            "customer service was {a} responsive",
            "the seller answered my questions {a} quickly",
            "great customer service",
            "the seller was {a} friendly",
        ),
        "neg": (
            "customer service was {a} rude",
            "the seller never replied",
            "customer service was {a} unhelpful",
            "the seller ignored my messages",
            "support was useless",
        ),
    },
    "match": {
        "pos": (
            "exactly as described",
            "it looks just like the pictures",
            "exactly what I wanted, love it",
            "true to the description, {a} happy",
        ),
        "neg": (
            "it looks nothing like the pictures",
            "not as described",
            "the description is {a} misleading",
            "it's different from the listing, {a} disappointing",
        ),
    },
}

_EN_CATEGORY: dict[str, _Bank] = {
    "apparel": {
        "pos": (
            "it fits perfectly",
            "true to size, fits great",
            "the fabric is {a} soft",
            "it's {a} comfortable to wear",
            "the color is great and it washes well",
            "the cut is {a} flattering",
        ),
        "neg": (
            "it runs {a} small",
            "it runs {a} large",
            "it started pilling after one wash",
            "the color faded after the first wash",
            "the fabric is {a} scratchy",
            "loose threads everywhere",
        ),
    },
    "beauty": {
        "pos": (
            "it smells {a} nice",
            "my skin feels {a} soft",
            "it's {a} gentle on my skin",
            "great moisturizer, not greasy",
            "a little goes a long way, love it",
        ),
        "neg": (
            "it gave me a rash",
            "the scent is {a} overpowering",
            "it broke me out",
            "it's {a} greasy",
            "it irritated my skin",
            "I suspect it's fake",
        ),
    },
    "electronics": {
        "pos": (
            "the battery lasts all day",
            "battery life is {a} good",
            "the screen is {a} bright and sharp",
            "it runs {a} smooth",
            "the sound is {a} clear",
            "setup was {a} easy",
            "it charges {a} fast",
        ),
        "neg": (
            "the battery drains in a few hours",
            "the screen has dead pixels",
            "it gets {a} hot",
            "it's {a} laggy",
            "it won't hold a charge",
            "the bluetooth keeps disconnecting",
            "the sound is {a} tinny",
        ),
    },
    "home": {
        "pos": (
            "easy to assemble",
            "it's {a} sturdy",
            "the size is perfect",
            "it looks {a} nice in my kitchen",
            "it's {a} practical",
            "great for storage",
        ),
        "neg": (
            "the chemical smell is {a} strong",
            "it's {a} wobbly",
            "missing parts and a pain to assemble",
            "the size is wrong",
            "it broke within a week",
        ),
    },
    "food": {
        "pos": (
            "it tastes {a} good",
            "{a} fresh",
            "delicious",
            "the flavor is {a} good",
            "my family loved it",
            "fresh and tasty",
        ),
        "neg": (
            "it tastes {a} bad",
            "it was stale",
            "it was close to expiry",
            "the flavor is {a} off",
            "found something gross inside",
            "{a} salty and bland at the same time",
        ),
    },
    "sports": {
        "pos": (
            "{a} comfortable for running",
            "{a} lightweight",
            "{a} durable",
            "great grip",
            "it holds up great in training",
        ),
        "neg": (
            "the sole came apart after a few runs",
            "it gave me blisters",
            "{a} flimsy",
            "it broke after a few uses",
            "sizing is {a} off",
        ),
    },
    "books": {
        "pos": (
            "the print is {a} clear",
            "{a} good paper quality",
            "the story is {a} good",
            "my kids love it",
            "an authentic copy, great edition",
        ),
        "neg": (
            "the print is {a} blurry",
            "seems to be a pirated copy",
            "pages are missing",
            "the cover arrived bent",
            "the paper is {a} thin and poor",
        ),
    },
    "toys": {
        "pos": (
            "my kid loves it",
            "{a} well made with smooth edges",
            "{a} fun to play with",
            "safe materials, {a} happy",
            "the kids love playing with it",
        ),
        "neg": (
            "it broke on the first day",
            "the plastic smell is {a} strong",
            "rough edges, not safe",
            "pieces were missing",
            "{a} cheaply made",
        ),
    },
}

_EN_LATE = (
    "shipping was {a} slow",
    "it arrived a week late",
    "delivery was {a} slow, over a week",
    "it showed up {a} late",
    "shipping was delayed twice",
    "the package was late and tracking never updated",
    "delivery was {a} slow and nobody told me why",
)

_EN_MID = (
    "it does the job",
    "the quality is average",
    "it's okay for the price",
    "nothing to write home about",
    "it works, mostly",
    "about what you'd expect",
    "it's decent",
)

_EN_ADD = (", and ", ". Also, ", ". ", ", and ", ". Plus, ")
_EN_TO_BAD = (
    ", but ",
    ". However, ",
    ". The only downside is that ",
    ". Unfortunately, ",
    ", though ",
    ". My one complaint: ",
)
_EN_TO_GOOD = (", but ", ". However, ", ". That said, ", ", though ", ". On the plus side, ")
_EN_END = {2: ("!", "!", ".", "!!"), 1: (".", ".", "!"), 0: (".", ".", "...")}
_EN_END_NEG = (".", "!", ".")

# ---------------------------------------------------------------- lexicons

#: Positive cue words per language (for lexicon scoring; leftmost-longest match).
POSITIVE_WORDS: dict[str, tuple[str, ...]] = {
    "zh": (
        "好评",
        "好",
        "满意",
        "喜欢",
        "推荐",
        "不错",
        "完美",
        "惊喜",
        "赚到",
        "回购",
        "值得",
        "物超所值",
        "划算",
        "实惠",
        "便宜",
        "快",
        "给力",
        "精致",
        "细致",
        "扎实",
        "杠杠的",
        "正品",
        "用心",
        "严实",
        "精美",
        "完好无损",
        "结实",
        "热情",
        "耐心",
        "贴心",
        "舒服",
        "合身",
        "温和",
        "清晰",
        "流畅",
        "稳定",
        "耐用",
        "方便",
        "实用",
        "新鲜",
        "轻便",
        "开心",
        "放心",
        "正版",
        "良心",
        "标准",
        "再来",
        "值",
        "不刺激",
        "没色差",
        "不掉色",
        "不油腻",
        "没有毛刺",
        "精细",
    ),
    "en": (
        "love",
        "loved",
        "loves",
        "perfect",
        "perfectly",
        "great",
        "good",
        "excellent",
        "amazing",
        "fantastic",
        "happy",
        "happier",
        "recommend",
        "recommended",
        "best",
        "exceeded",
        "solid",
        "sturdy",
        "well made",
        "premium",
        "fast",
        "quickly",
        "quick",
        "ahead of schedule",
        "worth",
        "bargain",
        "fair",
        "well packaged",
        "perfect condition",
        "neat",
        "nice",
        "nicely",
        "helpful",
        "responsive",
        "friendly",
        "as described",
        "soft",
        "comfortable",
        "flattering",
        "gentle",
        "bright",
        "sharp",
        "clear",
        "smooth",
        "easy",
        "delicious",
        "fresh",
        "tasty",
        "lightweight",
        "durable",
        "fun",
        "safe",
        "like",
        "wow",
        "repeat customer",
        "five stars",
        "not greasy",
        "practical",
        "lasts",
    ),
}

#: Negative cue words per language; negated positives ("不满意", "not worth") live here.
NEGATIVE_WORDS: dict[str, tuple[str, ...]] = {
    "zh": (
        "差评",
        "差",
        "失望",
        "别买",
        "垃圾",
        "后悔",
        "上当",
        "坑",
        "无语",
        "气死",
        "不满意",
        "不太满意",
        "不推荐",
        "不太推荐",
        "不太好",
        "不好",
        "不好用",
        "不值",
        "不会回购",
        "不会再买",
        "不会买",
        "慎买",
        "谨慎",
        "退货",
        "避雷",
        "浪费",
        "粗糙",
        "坏",
        "假货",
        "慢",
        "贵",
        "低",
        "破损",
        "破了",
        "压坏",
        "简陋",
        "敷衍",
        "爱答不理",
        "没用",
        "不回",
        "不符",
        "不一样",
        "偏小",
        "偏大",
        "不合身",
        "起球",
        "掉色",
        "扎人",
        "线头",
        "过敏",
        "刺鼻",
        "爆痘",
        "油腻",
        "刺激",
        "不耐用",
        "坏点",
        "发烫",
        "卡顿",
        "充不进",
        "不稳定",
        "异味",
        "不结实",
        "麻烦",
        "不对",
        "难吃",
        "不新鲜",
        "过期",
        "怪",
        "异物",
        "开胶",
        "磨脚",
        "不合脚",
        "不准",
        "模糊",
        "盗版",
        "缺页",
        "毛刺",
        "不安全",
        "缺失",
        "离谱",
        "耽误",
        "等了",
    ),
    "en": (
        "terrible",
        "waste",
        "do not buy",
        "don't buy",
        "disappointed",
        "disappointing",
        "awful",
        "worst",
        "garbage",
        "save your money",
        "not great",
        "not happy",
        "not what i expected",
        "not worth",
        "wouldn't recommend",
        "would not recommend",
        "won't buy",
        "never",
        "returning",
        "refund",
        "stay away",
        "avoid",
        "look elsewhere",
        "poor",
        "poorly",
        "flimsy",
        "broke",
        "broken",
        "knockoff",
        "stopped working",
        "slow",
        "late",
        "delayed",
        "overpriced",
        "expensive",
        "annoying",
        "damaged",
        "sloppy",
        "crushed",
        "torn",
        "dirty",
        "rude",
        "unhelpful",
        "useless",
        "ignored",
        "misleading",
        "not as described",
        "nothing like",
        "small",
        "large",
        "pilling",
        "faded",
        "scratchy",
        "loose threads",
        "rash",
        "overpowering",
        "broke me out",
        "greasy",
        "irritated",
        "fake",
        "drains",
        "dead pixels",
        "hot",
        "laggy",
        "won't hold",
        "disconnecting",
        "tinny",
        "chemical smell",
        "wobbly",
        "missing",
        "pain",
        "wrong",
        "bad",
        "stale",
        "expiry",
        "off",
        "gross",
        "bland",
        "salty",
        "came apart",
        "blisters",
        "blurry",
        "pirated",
        "bent",
        "thin",
        "not safe",
        "cheaply",
        "plastic smell",
    ),
}

# ---------------------------------------------------------------- composition

_LANG = {
    "zh": (
        _ZH_ADV,
        _ZH_OPENERS,
        _ZH_CLOSERS,
        _ZH_ASPECTS,
        _ZH_CATEGORY,
        _ZH_LATE,
        _ZH_MID,
    ),
    "en": (
        _EN_ADV,
        _EN_OPENERS,
        _EN_CLOSERS,
        _EN_ASPECTS,
        _EN_CATEGORY,
        _EN_LATE,
        _EN_MID,
    ),
}


def _add_soft(banks: dict[str, _Bank]) -> None:
    """Add "pos_soft"/"neg_soft": the templates an adverb softens, for caveats."""
    for bank in banks.values():
        for sign in ("pos", "neg"):
            soft = tuple(t for t in bank[sign] if "{a}" in t)
            bank[sign + "_soft"] = soft or bank[sign]


for _banks in (_ZH_ASPECTS, _ZH_CATEGORY, _EN_ASPECTS, _EN_CATEGORY):
    _add_soft(_banks)

_GENERAL = ("quality", "logistics", "price", "packaging", "service", "match")
_GENERAL_NO_LOGISTICS = tuple(a for a in _GENERAL if a != "logistics")

# Per rating: polarity level (-2..2), P(opener), aspect-count weights for 1/2/3 clauses,
# P(closer), P(caveat of the opposite sign).
_PLAN = {
    5: (2, 0.85, (0.1, 0.5, 0.4), 0.7, 0.0),
    4: (1, 0.7, (0.5, 0.5, 0.0), 0.45, 0.3),
    3: (0, 0.75, (1.0, 0.0, 0.0), 0.4, 1.0),
    2: (-1, 0.7, (0.5, 0.5, 0.0), 0.45, 0.3),
    1: (-2, 0.85, (0.1, 0.5, 0.4), 0.7, 0.0),
}
_N_UNIFORMS = 32  # fixed draws per review; the longest text uses about 22


class _Draw:
    """Picks from sequences using a fixed row of uniforms."""

    __slots__ = ("i", "u")

    def __init__(self, u: list[float]) -> None:
        self.u = u
        self.i = 0

    def next(self) -> float:
        x = self.u[self.i]
        self.i += 1
        return x

    def pick(self, seq: tuple[str, ...] | list[str]) -> str:
        return seq[int(self.next() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.next() < p


def _clause(
    d: _Draw, bank: _Bank, sign: str, strong: bool, adv: _Adverbs, soft: bool = False
) -> str:
    template = d.pick(bank[sign + "_soft" if soft else sign])
    a = d.pick(adv[(sign, strong)])
    return template.replace("{a}", a) if "{a}" in template else template


def _compose(
    d: _Draw,
    lang: str,
    rating: int,
    category: str | None,
    late: bool,
) -> str:
    adv, openers, closers, aspects, cat_banks, late_bank, mid = _LANG[lang]
    level, p_open, n_weights, p_close, p_caveat = _PLAN[rating]
    sign = "pos" if level > 0 else "neg"
    strong = abs(level) == 2
    pool = list(_GENERAL_NO_LOGISTICS if late else _GENERAL)
    cat_bank = cat_banks.get(category) if category is not None else None
    if cat_bank is not None:
        pool.append("cat")

    def bank_of(name: str) -> _Bank:
        return cat_bank if name == "cat" and cat_bank is not None else aspects[name]

    def take_aspect(prefer_cat: bool) -> str:
        if prefer_cat and "cat" in pool and d.chance(0.65):
            pool.remove("cat")
            return "cat"
        return pool.pop(int(d.next() * len(pool)))

    # (polarity sign of the clause: +1, 0, -1; text)
    clauses: list[tuple[int, str]] = []
    if level == 0:
        # Mixed: a mild good point against a mild bad point, or a neutral remark.
        if d.chance(0.75):
            good = _clause(d, bank_of(take_aspect(True)), "pos", False, adv, soft=True)
            bad = _clause(d, bank_of(take_aspect(False)), "neg", False, adv, soft=True)
            pair = [(1, good), (-1, bad)] if d.chance(0.6) else [(-1, bad), (1, good)]
            clauses.extend(pair)
        else:
            clauses.append((0, d.pick(mid)))
            if d.chance(0.5):
                clauses.append((1, _clause(d, bank_of(take_aspect(True)), "pos", False, adv)))
    else:
        x = d.next()
        n = 1 if x < n_weights[0] else (2 if x < n_weights[0] + n_weights[1] else 3)
        s = 1 if level > 0 else -1
        for k in range(n):
            clauses.append((s, _clause(d, bank_of(take_aspect(k == 0)), sign, strong, adv)))
        if d.chance(p_caveat) and pool:
            other = "neg" if level > 0 else "pos"
            caveat = _clause(d, bank_of(take_aspect(False)), other, False, adv, soft=True)
            clauses.append((-s, caveat))
    if late:
        late_text = d.pick(late_bank).replace("{a}", d.pick(adv[("neg", True)]))
        clauses.append((-1, late_text))

    opener = d.pick(openers[level]) if d.chance(p_open) else ""
    closer = d.pick(closers[level]) if d.chance(p_close) else ""
    if lang == "zh":
        return _join_zh(d, level, opener, clauses, closer)
    return _join_en(d, level, opener, clauses, closer)


def _connector(
    d: _Draw,
    prev: int,
    s: int,
    add: tuple[str, ...],
    to_bad: tuple[str, ...],
    to_good: tuple[str, ...],
) -> str:
    """Connector before a clause of sign ``s`` after one of sign ``prev``."""
    if s < 0 <= prev:
        return d.pick(to_bad)
    if s > 0 >= prev:
        return d.pick(to_good)
    return d.pick(add)


def _join_zh(d: _Draw, level: int, opener: str, clauses: list[tuple[int, str]], closer: str) -> str:
    parts: list[str] = []
    prev, last = 0, ""
    for k, (s, text) in enumerate(clauses):
        if k == 0:
            parts.append(text)
        else:
            conn = _connector(d, prev, s, _ZH_ADD, _ZH_TO_BAD, _ZH_TO_GOOD)
            if conn == last:
                conn = ""
            parts.append(conn + text)
            last = conn
        prev = s
    body = "，".join(parts)
    end = d.pick(_ZH_END[level] if level >= 0 else _ZH_END_NEG)
    out = body + end
    if opener:
        sep = "" if opener[-1] in "！。!~" else "，"
        out = opener + sep + out
    if closer:
        if out[-1] not in "！。!~…":
            out += "，"
        out += closer
        if closer[-1] not in "！。!~":
            out += "！" if level == 2 or level == -2 else "。"
    return out


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join_en(d: _Draw, level: int, opener: str, clauses: list[tuple[int, str]], closer: str) -> str:
    out = ""
    prev, last = 0, ""
    for k, (s, text) in enumerate(clauses):
        if k == 0:
            out = _sentence_start(text)
        else:
            conn = _connector(d, prev, s, _EN_ADD, _EN_TO_BAD, _EN_TO_GOOD)
            if conn == last:
                conn = ". "
            out += conn + (_sentence_start(text) if conn.endswith(". ") else text)
            last = conn
        prev = s
    out += d.pick(_EN_END[level] if level >= 0 else _EN_END_NEG)
    if opener:
        out = opener + " " + out
    if closer:
        out += " " + closer
    return out


def review_texts(
    rng: np.random.Generator,
    ratings: np.ndarray,
    langs: np.ndarray,
    categories: np.ndarray | None = None,
    late: np.ndarray | None = None,
) -> list[str]:
    """One review text per rating (1-5), in its language ("zh"/"en").

    ``categories`` (top-level category name or None per review) lets the text mention
    category aspects; ``late`` (bool per review) adds a slow-delivery complaint.
    """
    ratings_list = np.asarray(ratings).astype(np.int64).tolist()
    n = len(ratings_list)
    langs_list = [str(x) for x in np.asarray(langs, dtype=object).tolist()]
    if len(langs_list) != n:
        raise ValueError(f"langs has {len(langs_list)} entries for {n} ratings")
    cats: list[str | None]
    if categories is None:
        cats = [None] * n
    else:
        cats = [None if c is None else str(c) for c in np.asarray(categories, dtype=object)]
        if len(cats) != n:
            raise ValueError(f"categories has {len(cats)} entries for {n} ratings")
    late_list: list[bool]
    if late is None:
        late_list = [False] * n
    else:
        late_list = np.asarray(late, dtype=bool).tolist()
        if len(late_list) != n:
            raise ValueError(f"late has {len(late_list)} entries for {n} ratings")
    bad_rating = sorted({r for r in ratings_list if r not in _PLAN})
    if bad_rating:
        raise ValueError(f"ratings must be 1-5, got {bad_rating[:5]}")
    bad_lang = sorted({x for x in langs_list if x not in _LANG})
    if bad_lang:
        raise ValueError(f"langs must be 'zh' or 'en', got {bad_lang[:5]}")
    uniforms = rng.random((n, _N_UNIFORMS)).tolist()
    return [
        _compose(_Draw(uniforms[i]), langs_list[i], ratings_list[i], cats[i], late_list[i])
        for i in range(n)
    ]
