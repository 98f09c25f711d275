"""English review phrases for :mod:`liucun.sim.text`, in the style of Amazon reviews.

Data only. ``ASPECTS`` and ``CATEGORY`` hold one bank per aspect or top-level category
(templates by sign, "pos"/"neg"); ``{a}`` marks where an adverb of ``ADV`` goes.
``OPENERS``/``CLOSERS``/``END`` are keyed by polarity level (2, 1, 0, -1, -2).
"""

from __future__ import annotations

ADV = {
    ("pos", True): ("really", "very", "super", "incredibly", "extremely", "amazingly"),
    ("pos", False): ("pretty", "fairly", "quite", "reasonably", "surprisingly"),
    ("neg", True): ("really", "very", "extremely", "incredibly", "ridiculously"),
    ("neg", False): ("a bit", "a little", "slightly", "somewhat"),
}

OPENERS = {
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

CLOSERS = {
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

ASPECTS: dict[str, dict[str, tuple[str, ...]]] = {
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

CATEGORY: dict[str, dict[str, tuple[str, ...]]] = {
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

LATE = (
    "shipping was {a} slow",
    "it arrived a week late",
    "delivery was {a} slow, over a week",
    "it showed up {a} late",
    "shipping was delayed twice",
    "the package was late and tracking never updated",
    "delivery was {a} slow and nobody told me why",
)

MID = (
    "it does the job",
    "the quality is average",
    "it's okay for the price",
    "nothing to write home about",
    "it works, mostly",
    "about what you'd expect",
    "it's decent",
)

ADD = (", and ", ". Also, ", ". ", ", and ", ". Plus, ")
TO_BAD = (
    ", but ",
    ". However, ",
    ". The only downside is that ",
    ". Unfortunately, ",
    ", though ",
    ". My one complaint: ",
)
TO_GOOD = (", but ", ". However, ", ". That said, ", ", though ", ". On the plus side, ")
END = {2: ("!", "!", ".", "!!"), 1: (".", ".", "!"), 0: (".", ".", "...")}
END_NEG = (".", "!", ".")
