"""A labelled synthetic trade world, reported twice, with the traps of real data.

:func:`make_trade_world` draws monthly bilateral trade, plants transshipment
episodes and look-alikes, and writes what each country would report to
Comtrade (exporter and importer side, with CIF/FOB gaps, transit lags, silent
reporters, missing and late months, World rows, re-exports of entrepots,
duplicates and a unit slip) as Comtrade+ CSV files, one per year, in
``OUT/comtrade/``, plus ``OUT/truth.parquet`` (one row per planted
route-month, with its kind and whether it is transshipment) and
``OUT/world.json`` (parameters, marked synthetic).

By default the world is calibrated to real data: a flow's monthly value is
the sum of its shipments, so that small flows skip months and jump from one
to the next while large ones are smooth, as the bundled Eurostat series do
(:mod:`tradeflows._synth._calibrated`, :mod:`tradeflows._calibration`). The
``smooth`` preset is the first world tradeflows had, whose series move by
about 10% a month: quick for unit tests, and far easier than real data.

Episode kinds (transshipment, ``is_transshipment`` true): ``pass_through``
(both legs reported), ``destination_silent`` (the destination files nothing;
only the hub reports the outflow), ``hidden_reexport`` (the hub does not
report its exports to the destination, which books them from the hub),
``origin_booked`` (the hub hides them too, and the destination books them as
coming from the origin), ``code_change`` (the hub exports them under a
sibling code of the same heading; the sibling's corridor is labelled too).
In two episodes of five the goods are taken off the origin's direct route
to the destination, which shrinks (a sanction closes it). Look-alikes (false): ``absorption`` (the
hub keeps the goods), ``destination_demand`` (the destination buys more from
everyone), ``entrepot`` (large, steady, old hub trade), ``unit_slip`` (one
report x1000), ``seasonal`` (a strong December peak), ``direct_collapse``
(the origin's direct trade with the destination collapses and no hub takes it
up). The smooth preset plants the kinds it always had.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``seed``:
the same seed writes byte-identical files. This module is synthetic data
only: nothing in it is an estimate of real trade.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np

from tradeflows._files import write_text_atomic
from tradeflows._synth import _calibrated, _smooth
from tradeflows._synth._calibrated import EPISODE_KINDS, LOOKALIKE_KINDS, STRESS
from tradeflows._synth._reports import Reporting, write_reports
from tradeflows._synth._world import CONTROLLED, World

__all__ = [
    "ASIA_AI_ANCHORS",
    "ASIA_HUBS",
    "EPISODE_KINDS",
    "LOOKALIKE_KINDS",
    "PRESETS",
    "STRESS",
    "make_trade_world",
]

#: ``None`` is the calibrated world; these change it.
PRESETS = ("smooth", "asia_ai_hardware")

#: Published anchors the ``asia_ai_hardware`` preset is calibrated to: Taiwan's
#: exports of computing systems (HS 8471.50) to Malaysia, USD, from the Ministry
#: of Finance's trade statistics as quoted in press reports of 2023 to 2025.
ASIA_AI_ANCHORS = {
    dt.date(2023, 3, 1): 3.4e6,
    dt.date(2024, 3, 1): 401.9e6,
    dt.date(2025, 3, 1): 1874e6,
}


#: The hubs of the ``asia_ai_hardware`` preset, and what each makes itself as a
#: share of its mean monthly imports of a product in the first year (synthetic:
#: Malaysia and Thailand assemble servers, Singapore makes none of them).
ASIA_HUBS = {"MYS": 0.3, "SGP": 0.0, "THA": 0.2}


def _through_anchors(months: list[dt.date], anchors: dict[dt.date, float]) -> np.ndarray:
    """Log-linear path through the anchors, flat before the first and after the last."""
    x = np.array([m.toordinal() for m in months], dtype=float)
    ax = np.array([d.toordinal() for d in anchors], dtype=float)
    return np.exp(np.interp(x, ax, np.log(list(anchors.values()))))


def _check_span(start: object, end: object) -> None:
    """Refuse a start or an end that is not a month, or a start after the end."""
    for name, month in (("start", start), ("end", end)):
        if not isinstance(month, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise ValueError(f"{name} {month!r}: a month as YYYY-MM (2021-01)")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")


def make_trade_world(
    out_dir: str | Path,
    *,
    preset: str | None = None,
    seed: int = 0,
    start: str = "2021-01",
    end: str = "2024-12",
    n_others: int = 30,
    n_products: int = 100,
    pairs_per_product: int = 60,
    episodes: int = 8,
    lookalikes: int = 10,
    strength: float | tuple[float, float] | None = None,
    noise: float = 1.0,
    inflow: str = "mixed",
    episode_kinds: tuple[str, ...] | None = None,
    lookalike_kinds: tuple[str, ...] | None = None,
    missing: float = 1.0,
    reporters: str = "all",
) -> dict:
    """Write a labelled synthetic world to ``out_dir``; return its summary.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``comtrade/comtrade_YYYY.csv``, ``truth.parquet`` and ``world.json``.
    preset : {None, "smooth", "asia_ai_hardware"}
        ``None``: the world calibrated to real data. ``"smooth"``: the first
        world tradeflows had (series move by about 10% a month; for quick unit
        tests). ``"asia_ai_hardware"``: the calibrated world over 2022-01 to
        2025-06 with the hubs Malaysia, Singapore and Thailand. A Taiwan ->
        Malaysia -> China episode in HS 8471.50 whose Taiwan -> Malaysia flow
        follows the published magnitudes (USD 3.4m in March 2023, 401.9m in
        March 2024, 1,874m in March 2025; Taiwan does not report to Comtrade,
        so the files show it as its partners' imports); 60% of the rise passes
        on to China a month later. A US -> Singapore -> China episode in HS
        8542.31 from 2023-11; Thailand keeps a surge of servers (a look-alike).
        No hub exports more of a product in a month than it imported plus
        what it makes (``ASIA_HUBS``). Only the Taiwan -> Malaysia flow's
        scale is calibrated to published figures.
    seed : int
        Seed of every random draw: the same seed gives identical files.
    start, end : str
        First and last month, ``YYYY-MM``.
    n_others : int
        Countries besides the origins, hubs and destinations of interest.
    n_products : int
        HS6 products (the controlled AI-hardware codes first).
    pairs_per_product : int
        Baseline exporter-importer pairs per product (the size knob).
    episodes, lookalikes : int
        Transshipment episodes and look-alikes to plant.
    strength : float or (float, float), optional
        What an episode adds, relative to what its route already carries: a
        range drawn from log-uniformly (default 0.5 to 5 times the origin ->
        hub flow) or one value. The smooth preset takes one value (default 5).
    noise : float
        1 is real data's noise; 2 doubles a flow's coefficient of variation
        (fewer, larger shipments), 0.25 is nearly smooth. Calibrated worlds only.
    inflow : {"mixed", "established", "new"}
        Episodes on an established origin -> hub flow, from a new supplier
        (from almost nothing), or a third of them new (default).
    episode_kinds, lookalike_kinds : tuple of str, optional
        The kinds planted, in turn (default all of :data:`EPISODE_KINDS` and
        :data:`LOOKALIKE_KINDS`).
    missing : float
        Scales the share of months reporters miss (1: calibrated).
    reporters : {"all", "origins", "hubs"}
        Who files: every country but Taiwan and Iran (and Russia after
        2022-02), the origins only (a download of the EU's own statistics:
        hubs and destinations are seen through the origins' reports alone),
        or the hubs only (one hub's own records: imports by origin, exports
        by destination).

    Returns
    -------
    dict
        What ``world.json`` holds: the seed, months, files and rows written,
        episodes and look-alikes, the world's parameters, ``synthetic: True``.

    See Also
    --------
    tradeflows.evaluate : score flags against its labels.

    Examples
    --------
    >>> import tempfile
    >>> info = make_trade_world(tempfile.mkdtemp(), seed=1, n_others=5, n_products=8,
    ...                         pairs_per_product=10, episodes=2, lookalikes=2)
    >>> info["episodes"], info["rows"] > 500
    (2, True)
    """
    if preset not in (None, *PRESETS):
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    if reporters not in ("all", "origins", "hubs"):
        raise ValueError(f"unknown reporters {reporters!r}: choose all, origins or hubs")
    if inflow not in ("mixed", "established", "new"):
        raise ValueError(f"unknown inflow {inflow!r}: choose mixed, established or new")
    for kinds, known in ((episode_kinds, EPISODE_KINDS), (lookalike_kinds, LOOKALIKE_KINDS)):
        unknown = sorted(set(kinds or ()) - set(known))
        if unknown:
            raise ValueError(
                f"unknown kind(s) {', '.join(unknown)}: choose from {', '.join(known)}"
            )
    _check_span(start, end)
    if preset == "asia_ai_hardware":
        start, end = "2022-01", "2025-06"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = World.draw(seed, start, end, n_others, n_products)
    if preset == "smooth":
        strength = 5.0 if strength is None else strength
        if not isinstance(strength, (int, float)):
            raise ValueError("strength: the smooth preset takes one value")
        _smooth.plant(w, pairs_per_product=pairs_per_product, episodes=episodes,
                      lookalikes=lookalikes, strength=float(strength))  # fmt: skip
        reporting = Reporting()
    else:
        strength = (0.5, 5.0) if strength is None else strength
        if isinstance(strength, (int, float)):
            strength = (float(strength), float(strength))
        if preset == "asia_ai_hardware":
            _plant_asia(w)
        _calibrated.plant(
            w,
            pairs_per_product=pairs_per_product,
            episodes=episodes,
            lookalikes=lookalikes,
            strength=tuple(strength),
            noise=noise,
            inflow=inflow,
            episode_kinds=episode_kinds or EPISODE_KINDS,
            lookalike_kinds=lookalike_kinds or LOOKALIKE_KINDS,
        )
        if preset == "asia_ai_hardware":
            w.flows[("TWN", "MYS", "847150")] = w.asia.pop(("TWN", "MYS", "847150"))
            for key, extra in w.asia.items():
                w.add(*key, extra)
            production = _balance_hubs(w, ASIA_HUBS)
        reporting = _calibrated.reporting(w, missing, reporters)
        if preset == "asia_ai_hardware":  # the anchored flow is on record every month
            reporting.gap_rates["MYS"], reporting.lags["MYS"] = 0.0, 0
    n_rows, files = write_reports(w.flows, w.months, w.codes, w.rng, w.marks, out, reporting)
    truth = w.truth_frame()
    truth.write_parquet(out / "truth.parquet")
    info = {
        "seed": seed,
        "months": [start, end],
        "files": files,
        "rows": n_rows,
        "episodes": episodes,
        "lookalikes": lookalikes,
        "truth_rows": truth.height,
        "synthetic": True,
        "preset": preset,
    }
    if preset != "smooth":
        info["world"] = {
            "calibrated_to": "the bundled Eurostat CN8 exports, 2020-01 to 2021-12 "
            "(tradeflows._calibration.reference_profile)",
            "strength": list(strength),
            "noise": noise,
            "inflow": inflow,
            "episode_kinds": list(episode_kinds or EPISODE_KINDS),
            "lookalike_kinds": list(lookalike_kinds or LOOKALIKE_KINDS),
            "missing": missing,
            "reporters": reporters,
        }
    if preset == "asia_ai_hardware":
        info["calibration"] = {
            "leg": "TWN -> MYS, HS 847150 (Taiwan does not report to Comtrade: "
            "the files carry it as Malaysia's imports, at CIF)",
            "anchors": {d.strftime("%Y-%m"): v for d, v in ASIA_AI_ANCHORS.items()},
            "source": "Taiwan's exports of HS 8471.50 to Malaysia in the Ministry of "
            "Finance's trade statistics, as quoted in press reports of 2023 to 2025; "
            "everything else is synthetic",
            "hubs": sorted(ASIA_HUBS),
            "balance": "each hub exports no more of an AI-hardware product in a "
            "month than it imported that month plus what it makes",
            "production_usd_month": production,
        }
    write_text_atomic(out / "world.json", json.dumps(info, indent=2) + "\n")
    return info


def _plant_asia(w: World) -> None:
    """The episodes and look-alike of the ``asia_ai_hardware`` preset.

    Kept aside (``w.asia``) and put in after the calibrated flows are drawn, so
    that the anchored flow is not redrawn as shipments:

    - Malaysia: Taiwan's exports of HS 8471.50 follow the published anchors;
      60% of their rise above March 2023 goes on to China a month later
      (transshipment, both legs on record);
    - Singapore: from 2023-11, after the update of the US rule, a new flow of
      processors (HS 8542.31) from the US, 70% of which goes on to China a
      month later (transshipment); Taiwan's servers to Singapore, steady and
      re-exported to a third country (an entrepot's usual trade);
    - Thailand: Taiwan's servers to Thailand surge from 2024-01 and stay there
      (data centres being built: a look-alike, not transshipment);
    - the US: Taiwan's servers to the US, large and growing (seen only in the
      US's imports: Taiwan does not report to Comtrade).
    """
    t = np.arange(w.n_t)
    months = w.months

    def noisy(path: np.ndarray, sd: float = 0.15) -> np.ndarray:
        return path * w.rng.lognormal(0, sd, w.n_t)

    def after(day: dt.date) -> np.ndarray:
        return np.array([m >= day for m in months])

    path = _through_anchors(months, ASIA_AI_ANCHORS) * w.rng.lognormal(0, 0.05, w.n_t)
    rise = np.clip(path - ASIA_AI_ANCHORS[dt.date(2023, 3, 1)], 0, None)
    w.asia = {
        ("TWN", "MYS", "847150"): path,
        ("MYS", "CHN", "847150"): np.roll(rise, 1) * 0.6 * (t > 0),
    }
    w.label("TWN", "MYS", "CHN", "847150", "pass_through", rise > 0.5 * path, True)

    start = dt.date(2023, 11, 1)
    ramp = _through_anchors(months, {start: 20e6, dt.date(2025, 6, 1): 150e6})
    chips = noisy(ramp) * after(start)
    passed = np.roll(chips, 1) * 0.7 * (t > 0)
    w.asia[("USA", "SGP", "854231")] = chips
    w.asia[("SGP", "CHN", "854231")] = passed
    w.label("USA", "SGP", "CHN", "854231", "pass_through", passed > 0, True)
    steady = noisy(np.full(w.n_t, 50e6))
    w.asia[("TWN", "SGP", "847150")] = steady
    w.asia[("SGP", w.others[0], "847150")] = 0.8 * steady

    kept = noisy(_through_anchors(months, {dt.date(2024, 1, 1): 5e6, dt.date(2025, 6, 1): 120e6}))
    w.asia[("TWN", "THA", "847150")] = kept * after(dt.date(2024, 1, 1))
    w.label("TWN", "THA", "CHN", "847150", "absorption", after(dt.date(2024, 1, 1)), False)

    us = _through_anchors(months, {dt.date(2022, 1, 1): 1.5e9, dt.date(2025, 6, 1): 8e9})
    w.asia[("TWN", "USA", "847150")] = noisy(us, 0.1)


def _balance_hubs(w: World, shares: dict[str, float]) -> dict[str, dict[str, float]]:
    """Cap each hub's exports of each AI-hardware product at what it received that
    month plus what it makes (``share`` of its mean monthly imports in the first
    year); return the hubs' production, USD a month, by product."""
    made: dict[str, dict[str, float]] = {}
    for hub, share in shares.items():
        for p in CONTROLLED:
            inflow = sum((v for k, v in w.flows.items() if k[1] == hub and k[2] == p),
                         np.zeros(w.n_t))  # fmt: skip
            outs = [k for k in w.flows if k[0] == hub and k[2] == p]
            outflow = sum((w.flows[k] for k in outs), np.zeros(w.n_t))
            production = share * float(inflow[:12].mean())
            cap = inflow + production
            scale = np.where(outflow > cap, cap / np.where(outflow > 0, outflow, 1.0), 1.0)
            for k in outs:
                w.flows[k] = w.flows[k] * scale
            if production > 0:
                made.setdefault(hub, {})[p] = round(production, 2)
    return made
