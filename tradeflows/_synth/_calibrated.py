"""The calibrated world: monthly series that move as real ones do.

A month's value of a flow is the sum of its shipments: their number is
Poisson around the flow's rate (which drifts, trends and, for a few flows,
follows the seasons) and each shipment's value is lognormal. A flow of a few
shipments a year is there in few months and jumps from one to the next; a
flow of hundreds a month is smooth. The constants below were fitted so that
the world's series have the profile of the bundled Eurostat CN8 exports
(:func:`tradeflows._calibration.reference_profile`): the size of their
month-to-month changes by flow size, the months they are present in, when
they start, their sizes and their (weak) seasonality. ``benchmarks/RESULTS.md``
has the table; ``tests/test_synth.py`` fails when they drift apart.

Episodes are sized against what their route already carries: a re-export
adds ``strength`` (0.5x to 5x by default) times the origin -> hub flow's rate
for 6 to 24 months, or a new supplier appears from almost nothing with
``strength`` times the hub's usual imports of the product from everyone else.
"""

from __future__ import annotations

import numpy as np

from tradeflows._synth._world import CONTROLLED, DESTINATIONS, HUBS, ORIGINS, World

__all__ = ["EPISODE_KINDS", "LOOKALIKE_KINDS", "STRESS", "plant", "reporting"]

EPISODE_KINDS = (
    "pass_through",
    "destination_silent",
    "hidden_reexport",
    "origin_booked",
    "code_change",
)
LOOKALIKE_KINDS = (
    "absorption",
    "destination_demand",
    "entrepot",
    "unit_slip",
    "seasonal",
    "direct_collapse",
)
#: Destinations that file nothing (IRN) or nothing after 2022-03 (RUS).
SILENT = ("IRN", "RUS")

# The calibration (fitted to the reference profile; see the module docstring).
_RATE_MEDIAN = 0.07  # shipments a month of the median baseline flow
_RATE_SD = 2.1  # sd of log rate across flows
_GRAVITY = 0.8  # weight of each country's size in a flow's log rate
_SHIP_MU = 7.8  # log USD of a shipment of the median flow
_SHIP_BETA = 0.4  # larger flows ship larger consignments
_SHIP_MU_SD = 0.1
_SHIP_SD = 0.9  # log sd of one shipment's value, for the median flow
_SHIP_SD_SLOPE = 0.05  # less per log unit of rate: regular flows ship regular consignments
_PARCEL_SHARE, _PARCEL_DROP = 0.3, 3.0  # some shipments are parcels, exp(-drop) the size
_DRIFT_RHO, _DRIFT_SD = 0.85, 0.45  # the AR(1) drift of a flow's log rate
_SEASONAL_SHARE, _SEASONAL_AMP = 0.15, 0.6  # flows with seasons of their own, and their amplitude
_CALENDAR_AMP = 0.3  # an exporter's own calendar (holidays), shared by its flows: at most
_TREND_SD = 0.15  # per year
_DIVERTED = 0.4  # share of episodes that take goods off the origin's direct route
_HUB_TRADE = (
    0.25  # shares of baseline flows from a hub to a destination, and from an origin to a hub
)

# Flows that carry the goods of interest: established, a few shipments a month.
_ESTABLISHED_RATE = (5.4, 0.6)  # median, log sd
_ESTABLISHED_SHIP = (10.3, 0.8)  # log USD of a shipment: mean, sd

#: The stress suite's worlds: each varies one thing around the calibrated default.
STRESS = {
    "default": {},
    "smooth": {"noise": 0.25},
    "noisy": {"noise": 2.0},
    "weak": {"strength": (0.5, 1.0)},
    "strong": {"strength": (3.0, 5.0)},
    "established": {"inflow": "established"},
    "new_supplier": {"inflow": "new"},
    "destination_silent": {"episode_kinds": ("destination_silent",)},
    "hidden": {"episode_kinds": ("hidden_reexport", "origin_booked")},
    "code_change": {"episode_kinds": ("code_change",)},
    "missing_months": {"missing": 4.0},
    "direct_collapse": {"lookalike_kinds": ("direct_collapse",) * 2 + LOOKALIKE_KINDS},
    "short": {"start": "2022-01", "end": "2024-12"},
    "lookalikes": {"lookalikes": 24},
    "exporters_only": {"reporters": "origins"},
    # Never among the worlds the shipped trees are trained on
    # (scripts/train_detector.py, NOT_TRAINED_ON): a check of how they carry
    # over to one hub's own records.
    "hubs_only": {"reporters": "hubs"},
}


def _compound(
    rng: np.random.Generator, rate: np.ndarray, mu: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """Monthly sums of Poisson(``rate``) shipments, each lognormal(``mu``, ``sd``) (one
    ``mu`` and ``sd`` per row), a share of them parcels.

    Cells of more than 64 shipments take the sum's normal approximation.
    """
    n = rng.poisson(np.clip(rate, 0.0, None))
    sd_cell = np.broadcast_to(sd[:, None], rate.shape)
    out = np.zeros(rate.shape)
    few = (n > 0) & (n <= 64)
    counts = n[few]
    drop = np.exp(-_PARCEL_DROP)
    if counts.size:
        draws = rng.standard_normal(int(counts.sum())) * np.repeat(sd_cell[few], counts)
        draws = np.exp(draws) * np.where(rng.random(draws.size) < _PARCEL_SHARE, drop, 1.0)
        out[few] = np.add.reduceat(draws, np.concatenate(([0], np.cumsum(counts)[:-1])))
    many = n > 64
    if many.any():
        # The normal approximation of the sum, with the parcels' share in its moments.
        s = sd_cell[many]
        size = 1 - _PARCEL_SHARE + _PARCEL_SHARE * drop
        size2 = 1 - _PARCEL_SHARE + _PARCEL_SHARE * drop**2
        mean = np.exp(s**2 / 2) * size
        var = np.exp(2 * s**2) * size2 - mean**2
        k = n[many]
        total = k * mean + np.sqrt(k * var) * rng.standard_normal(k.size)
        out[many] = np.maximum(total, 0.2 * k * mean)
    return out * np.exp(mu)[:, None]


def _shipment_sd(rate: float) -> float:
    """Flows of few shipments ship more unequal ones."""
    return float(np.clip(_SHIP_SD - _SHIP_SD_SLOPE * np.log(rate / _RATE_MEDIAN), 0.4, 2.5))


def _mean_shipment(sd: float) -> float:
    """The expected value of one shipment of ``mu`` 0 and log sd ``sd``."""
    return float(np.exp(sd**2 / 2) * (1 - _PARCEL_SHARE + _PARCEL_SHARE * np.exp(-_PARCEL_DROP)))


class _Flows:
    """Flows as rates and shipment sizes until they are drawn; extras added as values."""

    def __init__(self, w: World, noise: float) -> None:
        self.w, self.noise = w, noise
        self.rate: dict[tuple[str, str, str], np.ndarray] = {}
        self.mu: dict[tuple[str, str, str], float] = {}
        self.sd: dict[tuple[str, str, str], float] = {}
        self.extra: dict[tuple[str, str, str], np.ndarray] = {}
        t = np.arange(w.n_t)
        self.calendar = {
            c: w.rng.uniform(0, _CALENDAR_AMP) * np.sin(2 * np.pi * (t + w.rng.uniform(0, 12)) / 12)
            for c in w.countries
        }

    def path(self, rate: float, calendar: np.ndarray | float = 0.0) -> np.ndarray:
        """A rate's monthly path: drift, trend, the exporter's ``calendar`` and, for
        some flows, seasons of their own."""
        rng, n_t = self.w.rng, self.w.n_t
        shocks = rng.normal(0.0, _DRIFT_SD * np.sqrt(1 - _DRIFT_RHO**2), n_t)
        drift = np.empty(n_t)
        drift[0] = rng.normal(0.0, _DRIFT_SD)
        for k in range(1, n_t):
            drift[k] = _DRIFT_RHO * drift[k - 1] + shocks[k]
        t = np.arange(n_t)
        trend = rng.normal(0.0, _TREND_SD) * t / 12
        seasonal = 0.0
        if rng.random() < _SEASONAL_SHARE:
            seasonal = rng.uniform(0, _SEASONAL_AMP) * np.sin(
                2 * np.pi * (t + rng.uniform(0, 12)) / 12
            )
        return rate * np.exp(drift + trend + seasonal + calendar)

    def set(self, key, rate: float, mu: float) -> None:
        calendar = self.calendar.get(key[0], 0.0)
        self.rate[key], self.mu[key], self.sd[key] = (
            self.path(rate, calendar),
            mu,
            _shipment_sd(rate),
        )

    def drop(self, key) -> None:
        for table in (self.rate, self.mu, self.sd):
            table.pop(key, None)

    def established(self, key) -> None:
        """Make ``key`` an established flow unless it is one already."""
        if key in self.rate and np.median(self.rate[key]) >= 1.0:
            return
        rate = float(
            np.exp(np.log(_ESTABLISHED_RATE[0]) + _ESTABLISHED_RATE[1] * self.w.rng.normal())
        )
        self.set(key, rate, float(self.w.rng.normal(*_ESTABLISHED_SHIP)))

    def expected(self, key) -> np.ndarray:
        """The flow's expected monthly value (zero when it does not exist)."""
        if key not in self.rate:
            return np.zeros(self.w.n_t)
        return self.rate[key] * np.exp(self.mu[key]) * _mean_shipment(self.sd[key])

    def shipments(self, rate: np.ndarray, mu: float, sd: float) -> np.ndarray:
        """Values of extra shipments at ``rate`` a month, of log median ``mu`` and log sd ``sd``."""
        return self.draw(rate[None, :], np.array([mu]), np.array([sd]))[0]

    def draw(self, rate: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        # More noise: fewer, larger shipments, the same expected value.
        scale = max(self.noise, 1e-3) ** 2
        return _compound(self.w.rng, rate / scale, mu + np.log(scale), sd)

    def realise(self) -> None:
        """Draw every flow's shipments into ``w.flows``, then add the extras."""
        keys = sorted(self.rate)
        if keys:
            values = self.draw(
                np.vstack([self.rate[k] for k in keys]),
                np.array([self.mu[k] for k in keys]),
                np.array([self.sd[k] for k in keys]),
            )
            for k, v in zip(keys, values, strict=True):
                self.w.flows[k] = v
        for k in sorted(self.extra):
            self.w.add(*k, self.extra[k])

    def add_extra(self, key, value: np.ndarray) -> None:
        self.extra[key] = self.extra.get(key, 0.0) + value


def reporting(w: World, missing: float, reporters: str = "all"):
    """Who files what in a calibrated world: Iran and Taiwan never file (Taiwan is
    not a Comtrade reporter), Russia stops in 2022-03, most reporters file every
    month, some miss a share of months, and some are late (a ragged end).
    ``reporters="origins"``: only the origins file (their exports and imports),
    as in a download of the EU's own statistics; ``"hubs"``: only the hubs
    file, as in one hub's national records (its imports by origin, its
    exports by destination)."""
    import datetime as dt

    from tradeflows._synth._reports import Reporting

    rng = w.rng
    countries = sorted(set(w.countries))
    # Seven in ten file every month; the others miss up to 4% of months (spread
    # evenly over the reporters, in a random order).
    spread = np.clip((np.linspace(0, 1, len(countries)) - 0.7) / 0.3, 0, 1) * 0.04
    rates = rng.permutation(spread) * missing
    late = rng.random(len(countries)) < 0.3
    lags = np.where(late, rng.integers(1, 7, len(countries)), 0)
    never = {"IRN", "TWN"}
    if reporters == "origins":  # a download of the origins' exports only (Eurostat's view)
        never |= set(w.countries) - set(ORIGINS)
    elif reporters == "hubs":  # the hubs' own records only (a national statistics office)
        never |= set(w.countries) - set(HUBS)
    return Reporting(
        never=frozenset(never),
        stops={"RUS": dt.date(2022, 3, 1)},
        gap_rates={c: float(min(r, 0.9)) for c, r in zip(countries, rates, strict=True)},
        lags={c: int(k) for c, k in zip(countries, lags, strict=True)},
    )


def plant(w: World, *, pairs_per_product: int, episodes: int, lookalikes: int,
          strength: tuple[float, float], noise: float = 1.0, inflow: str = "mixed",
          episode_kinds=EPISODE_KINDS, lookalike_kinds=LOOKALIKE_KINDS,
          duration: tuple[int, int] = (6, 24)) -> None:  # fmt: skip
    """Draw the baseline flows, plant the episodes and look-alikes, realise the shipments.

    Every draw comes from ``w.rng`` in a fixed order (the baseline, then each
    episode, then each look-alike): a world is its seed's, bit for bit.
    """
    rng = w.rng
    f = _Flows(w, noise)
    _baseline(f, pairs_per_product)

    def route() -> tuple[str, str, str, str]:
        return (str(rng.choice(ORIGINS)), str(rng.choice(HUBS)), str(rng.choice(DESTINATIONS)),
                str(rng.choice(CONTROLLED)))  # fmt: skip

    for n in range(episodes):
        kind = episode_kinds[n % len(episode_kinds)]
        _episode(f, kind, route(), strength, inflow, duration)
    for n in range(lookalikes):
        kind = lookalike_kinds[n % len(lookalike_kinds)]
        _lookalike(f, kind, route(), strength)
    f.realise()


def _baseline(f: _Flows, pairs_per_product: int) -> None:
    """The ordinary trade: ``pairs_per_product`` drawn flows a product, sized by
    the countries' gravity; and the established flows the goods of interest
    travel on."""
    w, rng = f.w, f.w.rng
    gravity = dict(zip(w.countries, rng.normal(0, 1, len(w.countries)), strict=True))
    rest = np.sqrt(max(_RATE_SD**2 - 2 * _GRAVITY**2, 0.0))
    for p in w.products:
        for _ in range(pairs_per_product):
            # Hubs trade much with their neighbours of concern, and buy from the
            # origins: most of what passes between them is ordinary trade.
            u = rng.random()
            if u < _HUB_TRADE:
                e, i = str(rng.choice(HUBS)), str(rng.choice(DESTINATIONS))
            elif u < 2 * _HUB_TRADE:
                e, i = str(rng.choice(ORIGINS)), str(rng.choice(HUBS))
            else:
                e, i = (str(c) for c in rng.choice(w.countries, 2, replace=False))
            log_rate = _GRAVITY * (gravity[e] + gravity[i]) + rest * rng.normal()
            mu = _SHIP_MU + _SHIP_BETA * log_rate + _SHIP_MU_SD * rng.normal()
            f.set((e, i, p), _RATE_MEDIAN * float(np.exp(log_rate)), float(mu))
    # The goods of interest travel on established flows: origins to hubs,
    # hubs to destinations, origins to destinations.
    for p in CONTROLLED:
        for a, b, share in (
            (ORIGINS, HUBS, 0.25),
            (HUBS, DESTINATIONS, 0.5),
            (ORIGINS, DESTINATIONS, 0.25),
        ):
            for e in a:
                for i in b:
                    if rng.random() < share:
                        f.established((e, i, p))


def _episode(f: _Flows, kind: str, route: tuple[str, str, str, str],
             strength: tuple[float, float], inflow: str, duration: tuple[int, int]) -> None:  # fmt: skip
    """One transshipment episode of ``kind`` on ``route`` (origin, hub,
    destination, product), labelled: extra goods into the hub, passed on
    to the destination after a lag, as the kind reports them."""
    w, rng, n_t = f.w, f.w.rng, f.w.n_t
    t = np.arange(n_t)
    o, h, d, p = route
    lo, hi = strength
    if kind == "destination_silent":
        d = str(rng.choice(SILENT))
    elif kind in ("hidden_reexport", "origin_booked") and d in SILENT:
        # Hidden by the hub and unreported by the destination, the flow would
        # be in no report at all: no method could see it, so none is planted.
        d = str(rng.choice([c for c in DESTINATIONS if c not in SILENT]))
    new = inflow == "new" or (inflow == "mixed" and rng.random() < 1 / 3)
    t0 = int(rng.integers(n_t // 3, n_t - 6))
    end = min(n_t, t0 + int(rng.integers(duration[0], duration[1] + 1)))
    lag = int(rng.integers(0, 3))
    size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    on = (t >= t0) & (t < end)
    ramp = on * np.clip((t - t0 + 1) / 2, 0, 1)
    if new:
        # A new supplier, from almost nothing: as large as ``size`` times the
        # hub's usual imports of the product from everyone else.
        f.drop((o, h, p))
        usual = sum(float(np.median(f.expected(k)[:t0])) for k in f.rate if k[1:] == (h, p))
        f.established((o, h, p))  # how the new supplier ships (it ships nothing yet)
        mu, sd = f.mu[(o, h, p)], f.sd[(o, h, p)]
        usual = max(usual, float(np.median(f.expected((o, h, p)))))
        f.drop((o, h, p))
        rate = ramp * size * usual / (np.exp(mu) * _mean_shipment(sd))
    else:
        f.established((o, h, p))
        mu, sd = f.mu[(o, h, p)], f.sd[(o, h, p)]
        rate = ramp * size * float(np.median(f.rate[(o, h, p)][:t0]))
    arrived = f.shipments(rate, mu, sd)
    f.add_extra((o, h, p), arrived)
    if rng.random() < _DIVERTED:
        # Goods the origin used to ship to the destination directly, now
        # routed through the hub (a sanction closes the direct route).
        f.established((o, d, p))
        f.rate[(o, d, p)] = f.rate[(o, d, p)] * np.where(on, rng.uniform(0.05, 0.5), 1.0)
    passed = np.roll(arrived, lag) * rng.uniform(0.7, 0.95) * rng.lognormal(0, 0.2, n_t)
    passed[: t0 + lag] = 0
    f.add_extra((h, d, p), passed)
    for k in np.flatnonzero(passed > 0):
        if kind in ("hidden_reexport", "origin_booked"):
            w.marks.hide.add((h, d, p, int(k)))
        if kind == "origin_booked":
            w.marks.rebook[(d, h, p, int(k))] = o
        elif kind == "code_change":
            w.marks.recode[(h, d, p, int(k))] = w.sibling(p)
    w.label(o, h, d, p, kind, on, True)
    if kind == "code_change":  # the goods leave the hub under the sibling code
        w.label(o, h, d, w.sibling(p), kind, passed > 0, True)


def _lookalike(f: _Flows, kind: str, route: tuple[str, str, str, str],
               strength: tuple[float, float]) -> None:  # fmt: skip
    """One look-alike of ``kind`` on ``route``, labelled not transshipment
    (DOMAIN.md: what a good method must rank low)."""
    w, rng, n_t = f.w, f.w.rng, f.w.n_t
    t = np.arange(n_t)
    o, h, d, p = route
    lo, hi = strength
    t0 = int(rng.integers(n_t // 3, n_t - 6))
    on = t >= t0
    size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    f.established((h, d, p))
    if kind == "absorption":  # data-centre build-out: imports soar, nothing leaves
        f.established((o, h, p))
        rate = on * size * float(np.median(f.rate[(o, h, p)][:t0]))
        f.add_extra((o, h, p), f.shipments(rate, f.mu[(o, h, p)], f.sd[(o, h, p)]))
    elif kind == "destination_demand":  # D buys more from everyone: shares unchanged
        for key in [k for k in f.rate if k[1:] == (d, p)]:
            f.rate[key] = f.rate[key] * np.where(on, 1 + size, 1.0)
    elif kind == "entrepot":  # large, steady, old
        for key, times in (((o, h, p), 10.0), ((h, d, p), 8.0)):
            f.established(key)
            f.rate[key] = f.rate[key] * times
        on = np.ones(n_t, dtype=bool)
    elif kind == "unit_slip":
        w.marks.slips.add((h, d, p, t0))
        on = t == t0
    elif kind == "seasonal":  # a strong December peak every year
        december = np.array([m.month == 12 for m in w.months])
        f.rate[(h, d, p)] = f.rate[(h, d, p)] * np.where(december, 4.0, 1.0)
        on = december
    else:  # direct_collapse: the origin's direct trade with D collapses, no hub takes it
        f.established((o, d, p))
        f.established((o, h, p))
        f.rate[(o, d, p)] = f.rate[(o, d, p)] * np.where(on, 0.05, 1.0)
    w.label(o, h, d, p, kind, on, False)
