"""What both ways of drawing a world share: its countries, products, flows and labels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from tradeflows._reference import countries, hs_codes
from tradeflows._synth._reports import Marks

__all__ = ["CONTROLLED", "DESTINATIONS", "HUBS", "ORIGINS", "World", "month_range"]

ORIGINS = ["USA", "TWN", "KOR", "JPN", "DEU", "NLD"]
HUBS = ["MYS", "SGP", "ARE", "ARM", "KAZ", "KGZ", "THA", "VNM", "TUR", "GEO"]
DESTINATIONS = ["CHN", "RUS", "IRN", "BLR"]
CONTROLLED = ["847150", "847180", "847330", "854231", "854232", "851762", "848620"]

TRUTH_SCHEMA = {"origin": pl.String, "hub": pl.String, "destination": pl.String, "hs": pl.String,
                "period": pl.Date, "kind": pl.String, "is_transshipment": pl.Boolean}  # fmt: skip


def month_range(start: str, end: str) -> list[dt.date]:
    """First days of the months from ``start`` to ``end`` (``YYYY-MM``), both included."""
    y, m = map(int, start.split("-"))
    ye, me = map(int, end.split("-"))
    out = []
    while (y, m) <= (ye, me):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass
class World:
    """A world being drawn: the draws' generator, its months, countries and products,
    the monthly value of every flow ``(exporter, importer, hs) -> array``, the labels
    and the reporting overrides episodes plant."""

    rng: np.random.Generator
    months: list[dt.date]
    codes: dict[str, int]
    others: list[str]
    products: list[str]
    six: list[str]
    flows: dict = field(default_factory=dict)
    truth: list = field(default_factory=list)
    marks: Marks = field(default_factory=Marks)
    #: Flows a preset sets after the others are drawn.
    asia: dict = field(default_factory=dict)

    @classmethod
    def draw(cls, seed: int, start: str, end: str, n_others: int, n_products: int) -> World:
        """The countries and products of a world (the first draws of ``seed``)."""
        rng = np.random.default_rng(seed)
        table = countries().filter(pl.col("kind") == "country")
        codes = dict(zip(table["iso3"].to_list(), table["comtrade"].to_list(), strict=False))
        others_pool = sorted(set(codes) - set(ORIGINS + HUBS + DESTINATIONS))
        others = [str(c) for c in rng.choice(others_pool, n_others, replace=False)]
        # Monaco has no Comtrade code of its own (Comtrade books it with
        # France): a drawn country without one is replaced by another drawn
        # after, so that every world which drew none keeps its draws.
        uncoded = [c for c in others if codes[c] is None]
        if uncoded:
            spare = [c for c in others_pool if codes[c] is not None and c not in others]
            swap = dict(zip(uncoded, rng.choice(spare, len(uncoded), replace=False), strict=True))
            others = [str(swap.get(c, c)) for c in others]
        six = hs_codes("HS2022").filter(pl.col("level") == 6)["hs"].to_list()
        plain = [c for c in six if c[:2] not in ("84", "85", "88", "90")]
        products = CONTROLLED + [
            str(c) for c in rng.choice(plain, max(0, n_products - len(CONTROLLED)), replace=False)
        ]
        return cls(rng, month_range(start, end), codes, others, products, six)

    @property
    def countries(self) -> list[str]:
        return ORIGINS + HUBS + DESTINATIONS + self.others

    @property
    def n_t(self) -> int:
        return len(self.months)

    def add(self, e: str, i: str, p: str, extra: np.ndarray) -> None:
        """Add ``extra`` to the flow from ``e`` to ``i`` of ``p`` (created if new)."""
        base = self.flows.get((e, i, p))
        self.flows[(e, i, p)] = extra.copy() if base is None else base + extra

    def label(self, o, h, d, p, kind: str, active: np.ndarray, is_tx: bool) -> None:
        """Label the route's months where ``active``."""
        self.truth.extend(
            {"origin": o, "hub": h, "destination": d, "hs": p, "period": self.months[k],
             "kind": kind, "is_transshipment": is_tx}
            for k in np.flatnonzero(active)
        )  # fmt: skip

    def sibling(self, p: str) -> str:
        """Another HS6 code of ``p``'s heading (``p`` itself when there is none)."""
        return next((c for c in self.six if c[:4] == p[:4] and c != p), p)

    def truth_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.truth, schema=TRUTH_SCHEMA).sort(
            "period", "hub", "destination", "hs", "origin", "kind"
        )
