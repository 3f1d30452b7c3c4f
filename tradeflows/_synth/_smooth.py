"""The smooth world: flows that move by about 10% a month (the ``smooth`` preset).

Far smoother than real data (:mod:`tradeflows._calibration`), and kept as it
was for fast unit tests and for the speed benchmarks, whose history it carries.
"""

from __future__ import annotations

import numpy as np

from tradeflows._synth._world import CONTROLLED, DESTINATIONS, HUBS, ORIGINS, World

__all__ = ["EPISODE_KINDS", "LOOKALIKE_KINDS", "plant"]

EPISODE_KINDS = ("pass_through", "hidden_reexport", "origin_booked", "code_change")
LOOKALIKE_KINDS = ("absorption", "destination_demand", "entrepot", "unit_slip", "seasonal")
_SILENT = {"IRN", "RUS"}  # IRN never reports; RUS stops in 2022-03


def plant(w: World, *, pairs_per_product: int, episodes: int, lookalikes: int,
          strength: float) -> None:  # fmt: skip
    """Draw the baseline flows, then plant the episodes and look-alikes."""
    rng, n_t = w.rng, w.n_t
    # Country sizes drive the gravity baseline; distances are drawn once.
    size = dict(zip(w.countries, rng.lognormal(0, 1, len(w.countries)), strict=True))
    t = np.arange(n_t)
    for p in w.products:
        for _ in range(pairs_per_product):
            e, i = rng.choice(w.countries, 2, replace=False)
            level = 2e5 * size[e] * size[i] / rng.uniform(0.5, 3) * rng.lognormal(0, 1)
            amp, phase = rng.uniform(0, 0.2), rng.uniform(0, 12)
            trend = rng.normal(0.05, 0.05) / 12
            series = level * (1 + amp * np.sin(2 * np.pi * (t + phase) / 12)) * np.exp(trend * t)
            w.flows[(str(e), str(i), p)] = series * rng.lognormal(0, 0.1, n_t)

    def route() -> tuple[str, str, str, str]:
        return (str(rng.choice(ORIGINS)), str(rng.choice(HUBS)), str(rng.choice(DESTINATIONS)),
                str(rng.choice(CONTROLLED)))  # fmt: skip

    for n in range(episodes):
        o, h, d, p = route()
        kind = EPISODE_KINDS[n % len(EPISODE_KINDS)]
        if kind == "hidden_reexport" and d in _SILENT:
            # Hidden by the hub and unreported by the destination, the flow would
            # be in no report at all: no method could see it, so none is planted.
            d = str(rng.choice([c for c in DESTINATIONS if c not in _SILENT]))
        t0 = int(rng.integers(n_t // 3, n_t - 6))
        lag = int(rng.integers(0, 3))
        base = max(float(np.median(w.flows.get((o, h, p), np.full(n_t, 1e5)))), 1e5)
        ramp = np.clip((t - t0 + 1) / 3, 0, 1) * strength * base * rng.lognormal(0, 0.2, n_t)
        w.add(o, h, p, ramp)
        passed = np.roll(ramp, lag) * rng.uniform(0.7, 0.95)
        passed[: t0 + lag] = 0
        w.add(h, d, p, passed)
        for k in np.flatnonzero(passed > 0):
            if kind == "hidden_reexport":
                w.marks.hide.add((h, d, p, int(k)))
            elif kind == "origin_booked":
                w.marks.rebook[(d, h, p, int(k))] = o
            elif kind == "code_change":
                w.marks.recode[(h, d, p, int(k))] = w.sibling(p)
        w.label(o, h, d, p, kind, ramp > 0, True)

    for n in range(lookalikes):
        o, h, d, p = route()
        kind = LOOKALIKE_KINDS[n % len(LOOKALIKE_KINDS)]
        t0 = int(rng.integers(n_t // 3, n_t - 6))
        on = t >= t0
        base = max(float(np.median(w.flows.get((o, h, p), np.full(n_t, 1e5)))), 1e5)
        if kind == "absorption":  # data-centre build-out: imports soar, nothing leaves
            w.add(o, h, p, on * strength * base)
        elif kind == "destination_demand":  # D buys more from everyone: shares unchanged
            w.add(h, d, p, np.full(n_t, base))
            for (e, i, q), s in list(w.flows.items()):
                if i == d and q == p:
                    w.flows[(e, i, q)] = s * np.where(on, strength, 1.0)
        elif kind == "entrepot":  # large, steady, old
            w.add(o, h, p, np.full(n_t, 10 * base))
            w.add(h, d, p, np.full(n_t, 8 * base))
            on = np.ones(n_t, dtype=bool)
        elif kind == "unit_slip":
            w.add(h, d, p, np.full(n_t, base))
            w.marks.slips.add((h, d, p, t0))
            on = t == t0
        else:  # seasonal: a strong December peak every year
            w.add(h, d, p, base * (1 + 3 * (np.array([m.month for m in w.months]) == 12)))
            on = np.array([m.month == 12 for m in w.months])
        w.label(o, h, d, p, kind, on, False)
