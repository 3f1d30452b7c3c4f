"""The route step written the straightforward pandas way (for bench_scale).

``route_indicators(pairs, destinations)`` computes what
``tradeflows._routes.route_indicators`` computes (with coverage taken from the
pairs, its default), on the pairs of ``bench_mirror.pandas_mirror``, with
merges, ``groupby().shift``, ``groupby().rolling().median()`` and
``groupby().quantile()``:

* the legs: each monthly flow's value, its largest report in FOB terms;
* the candidate routes: every hub -> destination-of-concern leg with the
  hub's largest and fastest-growing suppliers of the product or of a product
  of the same heading as origins (and an empty origin for all of them), and
  every origin -> hub leg whose origin also ships the product to the
  destination directly;
* who filed in each month (a side that filed nothing is unknown, not zero);
* the dense monthly series every route needs (its legs, the hub's imports,
  the destination's imports from everyone and from everyone but the hub, the
  heading's outflow): each window's change against the 24 months before it
  and against the same months a year earlier, put on the data's own scale of
  chance by kind, window and size class; its fall, data-quality events;
* per route-month all 14 features of ``tradeflows._routes.FEATURES``: the
  rises, ghost, diversion, share change, mirror-gap changes, re-export share,
  the policy difference-in-differences against both controls, the unit-value
  ratio and the materiality.

It gives the same 13 features as tradeflows (``tests/test_bench_baselines.py``
checks it on a small world), so ``bench_scale``'s ratio is of the same step.
It leaves out the values only the reasons quote (lags, usual levels, policy
names).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradeflows._reference import controlled_hs, destinations_of_concern, policy_dates
from tradeflows._routes import FEATURES, ROUTE_KEY

SKEY = ["kind", "a", "b", "p"]
WINDOWS = (3, 6, 12)
NULL_MIN = 2400
NULL_SERIES = 100
NULL_STEP = 0.01
TAIL_Z = 2.326
#: The spread small data takes by size class: real data's for flows under USD
#: 1m a month (tradeflows._routes.series._PRIOR_UP and _PRIOR_DOWN).
PRIOR_UP = (1.27, 0.99, 0.88, 0.37, 0.3, 0.25)
PRIOR_DOWN = (1.79, 1.86, 2.79, 0.45, 0.35, 0.3)
#: A change's scale is never narrower than this many times its series' own spread
#: (tradeflows._routes.series.OWN_SPREAD).
OWN_SPREAD = 1.0


def _previous_median(
    df: pd.DataFrame, col: str, keys: list[str], window: int, least: int, lower: bool = False
):
    """The median of the ``window`` values of ``col`` before each row (rows sorted by month);
    ``lower``: the lower median (the (n + 1) // 2-th smallest)."""
    prev = df.groupby(keys, sort=False)[col].shift(1)
    rolled = prev.groupby([df[k] for k in keys], sort=False).rolling(window, min_periods=least)
    med = rolled.quantile(0.5, interpolation="lower") if lower else rolled.median()
    return med.reset_index(level=list(range(len(keys))), drop=True)


def _legs(pairs: pd.DataFrame) -> pd.DataFrame:
    m = pairs[(pairs["freq"] == "M") & (pairs["hs"] != "TOTAL")]  # totals are not a product
    period = pd.to_datetime(m["period"])
    x = m["value_x"]
    fob = m["value_m"] / m["cif_fob"]
    return pd.DataFrame(
        {
            "exporter": m["exporter"],
            "importer": m["importer"],
            "hs": m["hs"],
            "gap": m["gap"],
            "gap_history": m["gap_history"],
            "slip": m["slip"],
            "mi": period.dt.year * 12 + period.dt.month - 1,
            "x": x,
            "m": fob,
            "v": np.maximum(x.fillna(0.0), fob.fillna(0.0)),
            "kg": np.fmax(m["kg_x"], m["kg_m"]),
        }
    ).reset_index(drop=True)


def _coverage(pairs: pd.DataFrame) -> pd.DataFrame:
    """Who filed what level in each month, as far as the pairs tell it."""
    m = pairs[pairs["freq"] == "M"]
    period = pd.to_datetime(m["period"])
    mi = period.dt.year * 12 + period.dt.month - 1
    sides = pd.concat(
        [
            pd.DataFrame({"reporter": m["exporter"], "role": "X", "mi": mi, "hs": m["hs"]})[
                m["value_x"].notna().to_numpy()
            ],
            pd.DataFrame({"reporter": m["importer"], "role": "M", "mi": mi, "hs": m["hs"]})[
                m["value_m"].notna().to_numpy()
            ],
        ]
    )
    sides = sides.assign(products=sides["hs"] != "TOTAL", totals=sides["hs"] == "TOTAL")
    return sides.groupby(["reporter", "role", "mi"], as_index=False)[["products", "totals"]].any()


def _routes(legs: pd.DataFrame, dest: list[str], max_origins: int) -> pd.DataFrame:
    """Candidate routes: seen from the hub's side and from the origin's."""
    out = legs.loc[legs["importer"].isin(dest), ["exporter", "importer", "hs"]].drop_duplicates()
    out = out.rename(columns={"exporter": "hub", "importer": "destination"})
    out["hs4"] = out["hs"].str[:4]
    n_months = legs["mi"].max() - legs["mi"].min() + 1
    g = legs.groupby(["exporter", "importer", "hs"])["v"]
    sup = pd.DataFrame(
        {
            "total": np.round(legs["v"] * 100.0)
            .groupby([legs["exporter"], legs["importer"], legs["hs"]])
            .sum()
            / 100.0,
            "peak": np.log1p(g.max() / 1000),
            "usual": np.log1p(g.median() / 1000),
            "n": g.size(),
        }
    ).reset_index()
    sup = sup[sup["total"] > 0].rename(columns={"exporter": "origin", "importer": "hub"})
    sup["growth"] = sup["peak"] - np.where(2 * sup["n"] < n_months, 0.0, sup["usual"])
    by = sup.groupby(["hub", "hs"])
    sup["by_size"] = by["total"].rank(method="first", ascending=False)
    sup["by_growth"] = by["growth"].rank(method="first", ascending=False)
    sup = sup[(sup["by_size"] <= max_origins) | (sup["by_growth"] <= max_origins)]
    sup = sup.assign(hs4=sup["hs"].str[:4])[["origin", "hub", "hs", "hs4"]]
    from_hub = out[["hub", "destination", "hs4"]].drop_duplicates().merge(sup, on=["hub", "hs4"])
    direct = legs.loc[legs["importer"].isin(dest), ["exporter", "importer", "hs"]]
    direct = direct.drop_duplicates().set_axis(["origin", "destination", "hs"], axis=1)
    inflow = legs.loc[~legs["exporter"].isin(dest), ["exporter", "importer", "hs"]]
    inflow = inflow.drop_duplicates().set_axis(["origin", "hub", "hs"], axis=1)
    inflow = inflow[~inflow["hub"].isin(dest)]
    from_origin = inflow.merge(direct, on=["origin", "hs"])
    routes = pd.concat(
        [from_hub[ROUTE_KEY], out.assign(origin="")[ROUTE_KEY], from_origin[ROUTE_KEY]]
    ).drop_duplicates()
    routes = routes[
        (routes["origin"] != routes["hub"])
        & (routes["origin"] != routes["destination"])
        & (routes["hub"] != routes["destination"])
    ]
    return routes.assign(hs4=routes["hs"].str[:4]).reset_index(drop=True)


def _series_rows(rows: pd.DataFrame, kind: str, a, b, p) -> pd.DataFrame:
    """Sum legs into one series kind (a, b, p: the series' names per row)."""
    frame = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "p": p,
            "mi": rows["mi"],
            "v": rows["v"],
            "x": rows["x"],
            "m": rows["m"],
            "kg": rows["kg"],
            "gap": rows["gap"],
            "gap_history": rows["gap_history"],
            "slip": rows["slip"].fillna(False).astype(bool),
        }
    )
    # Sums to the cent and the gram, as integers (tradeflows._expr.exact_sum).
    for col, scale in (("v", 100.0), ("x", 100.0), ("m", 100.0), ("kg", 1000.0)):
        frame[col] = np.round(frame[col] * scale)
    g = frame.groupby(["a", "b", "p", "mi"], sort=False)
    out = pd.DataFrame(
        {
            "v": g["v"].sum() / 100.0,
            "x": g["x"].sum(min_count=1) / 100.0,
            "m": g["m"].sum(min_count=1) / 100.0,
            "kg": g["kg"].sum(min_count=1) / 1000.0,
            "slip": g["slip"].any(),
        }
    )
    if kind == "leg":  # one row per leg-month
        out["gap"] = g["gap"].first()
        out["gap_history"] = g["gap_history"].first()
    return out.reset_index().assign(kind=kind)


def _covered(keys: pd.DataFrame, members: pd.DataFrame, cov: pd.DataFrame) -> tuple:
    """Per series and month: did its exporter side file, did its importer side."""

    def level(frame: pd.DataFrame) -> pd.Series:
        return frame["totals"].where(frame["p"] == "TOTAL", frame["products"])

    x = members.merge(keys, on=SKEY).merge(
        cov[cov["role"] == "X"].rename(columns={"reporter": "exporter"}), on="exporter"
    )
    x = x[level(x).astype(bool)][[*SKEY, "mi"]].drop_duplicates().assign(x_cov=True)
    m = keys.merge(cov[cov["role"] == "M"].rename(columns={"reporter": "b"}), on="b")
    m = m[level(m).astype(bool)][[*SKEY, "mi"]].drop_duplicates().assign(m_cov=True)
    return x, m


def _null_scale(d: pd.DataFrame, k: int, own: pd.Series) -> None:
    """Put window ``k``'s changes on the scale of chance (tradeflows._routes.series._empirical_null),
    never narrower than the series' own spread ``own``."""
    cls = f"_c{k}"
    for col, rise, fall in ((f"_u{k}", f"_r{k}", f"_f{k}"), (f"_y{k}", f"_ry{k}", f"_fy{k}")):
        # Counted in bins of NULL_STEP; a percentile is the first bin whose
        # cumulated count reaches the share (tradeflows._routes.series.null_table).
        values = (
            d[[*SKEY, cls]].assign(bin=np.round(d[col] / NULL_STEP)).dropna(subset=[cls, "bin"])
        )
        counts = values.groupby(["kind", cls, "bin"]).size().rename("n").reset_index()
        near = pd.concat([counts.assign(**{cls: counts[cls] + s}) for s in (-1, 0, 1)])
        near = near.groupby(["kind", cls, "bin"])["n"].sum().reset_index()
        # And the series of each class, alone and with its neighbours.
        series = values[[*SKEY, cls]].drop_duplicates().groupby(["kind", cls]).size()
        series = series.rename("s").reset_index()
        series_near = pd.concat([series.assign(**{cls: series[cls] + s}) for s in (-1, 0, 1)])
        series_near = series_near.groupby(["kind", cls])["s"].sum().reset_index()
        stats = {}
        for tag, frame, n_series in (("c", counts, series), ("n", near, series_near)):
            frame = frame.sort_values(["kind", cls, "bin"])
            g = frame.groupby(["kind", cls])["n"]
            frame = frame.assign(cum=g.cumsum(), tot=g.transform("sum"))

            def at(share, frame=frame):
                hit = frame[frame["cum"] >= share * frame["tot"]]
                return hit.groupby(["kind", cls])["bin"].first() * NULL_STEP

            s = pd.DataFrame({"n": frame.groupby(["kind", cls])["n"].sum(), "lo": at(0.01),
                              "mid": at(0.5), "hi": at(0.99)}).reset_index()  # fmt: skip
            s = s.merge(n_series, on=["kind", cls], how="left")
            stats[tag] = d[["kind", cls]].merge(s, on=["kind", cls], how="left")
            # The product-level legs' spread of the same class, for a sparse kind.
            legs = s[s["kind"] == "leg"].drop(columns="kind")
            stats[f"{tag}_leg"] = d[[cls]].merge(legs, on=cls, how="left")
        tiers = [stats[t] for t in ("c", "n", "c_leg", "n_leg")]
        enough = [((t["n"].fillna(0) >= NULL_MIN) & (t["s"].fillna(0) >= NULL_SERIES)).to_numpy()
                  for t in tiers]  # fmt: skip
        pick = {n: np.select(enough, [t[n].to_numpy() for t in tiers], np.nan)
                for n in ("lo", "mid", "hi")}  # fmt: skip
        measured = np.logical_or.reduce(enough)
        size = d[cls].fillna(0).clip(0, 5).astype(int).to_numpy()
        mid = np.where(measured, pick["mid"], 0.0)
        up = np.where(measured, np.maximum((pick["hi"] - pick["mid"]) / TAIL_Z, 0.05),
                      np.array(PRIOR_UP)[size])  # fmt: skip
        down = np.where(measured, np.maximum((pick["mid"] - pick["lo"]) / TAIL_Z, 0.05),
                        np.array(PRIOR_DOWN)[size])  # fmt: skip
        d[rise] = (d[col] - mid) / np.maximum(up, own.to_numpy())
        d[fall] = (mid - d[col]) / np.maximum(down, own.to_numpy())


def _series_features(rows, members, keys, cov, lo: int, hi: int, window: int, history: int):
    """Dense monthly series, known in their covered months, and their pooled evidence."""
    keys = pd.concat([rows[SKEY], keys[SKEY]]).drop_duplicates()
    x_cov, m_cov = _covered(keys, members, cov)
    months = pd.DataFrame({"mi": np.arange(lo, hi + 1)})
    d = keys.merge(months, how="cross").merge(rows, on=[*SKEY, "mi"], how="left")
    d = d.merge(x_cov, on=[*SKEY, "mi"], how="left").merge(m_cov, on=[*SKEY, "mi"], how="left")
    d = d.sort_values([*SKEY, "mi"]).reset_index(drop=True)
    d["x_cov"] = d["x_cov"].astype("boolean").fillna(False).astype(bool) | d["x"].notna()
    d["m_cov"] = d["m_cov"].astype("boolean").fillna(False).astype(bool) | d["m"].notna()
    known = d["x_cov"] | d["m_cov"]
    d["covered"] = known
    d["v"] = d["v"].fillna(0.0).where(known)
    d["x"] = d["x"].fillna(0.0).where(d["x_cov"])
    d["m"] = d["m"].fillna(0.0).where(d["m_cov"])
    d["slip"] = d["slip"].astype("boolean").fillna(False).astype(bool)
    d["lv"] = np.log1p(d["v"] / 1000.0)
    g = d.groupby(SKEY, sort=False)
    d["spike"] = (
        (d["v"] > 20 * g["v"].shift(1).fillna(0.0))
        & (d["v"] > 20 * g["v"].shift(-1).fillna(0.0))
        & ((d["x"] > 20 * d["m"]) | (d["m"] > 20 * d["x"]))
    )
    sound = known & ~d["slip"] & ~d["spike"]
    d["cum"] = d["lv"].fillna(0.0).groupby([d[c] for c in SKEY], sort=False).cumsum()
    d["cum_n"] = known.astype(int).groupby([d[c] for c in SKEY], sort=False).cumsum()
    d["_n"] = sound.astype(int).groupby([d[c] for c in SKEY], sort=False).cumsum()
    d["_sv"] = d["v"].where(sound, 0.0).groupby([d[c] for c in SKEY], sort=False).cumsum()
    d["_vs"] = d["v"].where(sound)
    d["_sl"] = d["lv"].where(sound, 0.0).groupby([d[c] for c in SKEY], sort=False).cumsum()
    d["_sl2"] = (
        (d["lv"] * d["lv"]).where(sound, 0.0).groupby([d[c] for c in SKEY], sort=False).cumsum()
    )
    # The size class reads the lower median (tradeflows counts it by class).
    d["med"] = _previous_median(d, "lv", SKEY, window, history, lower=True)
    g = d.groupby(SKEY, sort=False)

    def between(col: str, k: int) -> pd.Series:
        return d[col] - g[col].shift(k).fillna(0)

    # Over the window: the mean, and the series' own spread (its log value's
    # standard deviation).
    n_history = between("_n", window)
    hist = between("_sv", window) / n_history
    mean_lv = between("_sl", window) / n_history
    sd = np.sqrt((between("_sl2", window) / n_history - mean_lv * mean_lv).clip(lower=0.0))
    for k in WINDOWS:
        n_k = between("_n", k)
        enough = n_k >= max(1, (k + 1) // 2)
        top = pd.concat([g["_vs"].shift(j) for j in range(k)], axis=1).max(axis=1)
        win = ((between("_sv", k) - top) / (n_k - 1)).where(n_k >= 2)
        hist_k = hist.groupby([d[c] for c in SKEY], sort=False).shift(k)
        base = g["med"].shift(k - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = (np.log1p(win / 1000) - np.log1p(hist_k / 1000)).where(enough & base.notna())
        before = (between("_sv", k) / between("_n", k)).groupby([d[c] for c in SKEY], sort=False)
        d[f"_u{k}"] = change
        d[f"_y{k}"] = (np.log1p(win / 1000) - np.log1p(before.shift(12) / 1000)).where(
            change.notna()
        )
        d[f"_level{k}"] = win
        d[f"_usual{k}"] = hist_k
        d[f"_c{k}"] = np.floor(base / np.log(10.0)).clip(0, 5)
        own = sd.groupby([d[c] for c in SKEY], sort=False).shift(k).fillna(0.0)
        _null_scale(d, k, OWN_SPREAD * own)
        for name, level, year in (
            (f"_rise{k}", f"_r{k}", f"_ry{k}"),
            (f"_fall{k}", f"_f{k}", f"_fy{k}"),
        ):
            d[name] = np.where(d[year].notna(), np.fmin(d[level], d[year]), d[level])
    rises = d[[f"_rise{k}" for k in WINDOWS]]
    best = rises.max(axis=1)
    first = rises.eq(best, axis=0).to_numpy().argmax(axis=1)
    pick = np.where(best.notna(), first, 0)
    rows_at = np.arange(len(d))
    level = np.column_stack([d[f"_level{k}"] for k in WINDOWS])[rows_at, pick]
    usual = np.column_stack([d[f"_usual{k}"] for k in WINDOWS])[rows_at, pick]
    d["level"], d["usual"] = level, usual
    d["level_short"], d["usual_short"] = d[f"_level{WINDOWS[0]}"], d[f"_usual{WINDOWS[0]}"]
    rise = best.where(~(d["slip"] | d["spike"]), 0.0).where(known)
    d["rise"] = rise
    d["fall"] = d[[f"_fall{k}" for k in WINDOWS]].max(axis=1).where(known)
    dq = (d["slip"] | d["spike"]).astype(float)
    near = pd.concat(
        [dq.groupby([d[c] for c in SKEY], sort=False).shift(j) for j in (-1, 0, 1)], axis=1
    ).fillna(0.0)
    d["gap"] = d["gap"].where(near.max(axis=1) == 0)
    g = d.groupby(SKEY, sort=False)
    recent = pd.concat([g["rise"].shift(j) for j in range(4)], axis=1)
    top = recent.max(axis=1)
    lag = np.where(top.notna(), recent.eq(top, axis=0).to_numpy().argmax(axis=1), 0)
    for col in ("level", "usual"):
        shifted = np.column_stack([d[col], *(g[col].shift(j) for j in (1, 2, 3))])
        d[f"{col}_recent"] = pd.Series(shifted[rows_at, lag]).where(top.notna())
    d["rise_recent"] = top
    return d


def _pick(series: pd.DataFrame, kind: str, prefix: str, names: list[str], cols: list[str]):
    """The series of one role, its columns prefixed, keyed by ``names`` and ``mi``."""
    s = series.loc[series["kind"] == kind, ["a", "b", "p", "mi", *cols]]
    return s.set_axis([*names, "mi", *(f"{prefix}_{c}" for c in cols)], axis=1)


def _epochs(lo: int, hi: int, dest: list[str]) -> pd.DataFrame:
    """Per destination and month, the last control date aimed at it within 36 months."""
    dates = policy_dates()
    rows = [
        (t, mi, d.year * 12 + d.month - 1)
        for d, targets in zip(dates["date"], dates["targets"], strict=True)
        for t in targets
        if t in dest
        for mi in range(lo, hi + 1)
        if 0 <= mi - (d.year * 12 + d.month - 1) < 36
    ]
    out = pd.DataFrame(rows, columns=["destination", "mi", "d_mi"])
    return out.groupby(["destination", "mi"], as_index=False)["d_mi"].max()


def _with_cum(frame: pd.DataFrame, cum: pd.DataFrame, prefix: str, on: list[str]) -> pd.DataFrame:
    """Attach a series' running sums at the month, before the control date and a year before."""
    for k, col in (("t", "mi"), ("d", "d_prev"), ("p", "d_pre")):
        src = cum.rename(columns={"mi": col, "cum": f"{prefix}_c{k}", "cum_n": f"{prefix}_n{k}"})
        frame = frame.merge(src, on=[*on, col], how="left")
    return frame


def _change(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """Mean log level of the covered months since the control date minus over the 12 before it."""
    ct, cd, cp = (frame[f"{prefix}_c{k}"] for k in "tdp")
    nt, nd, np_ = (frame[f"{prefix}_n{k}"] for k in "tdp")
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((ct - cd) / (nt - nd) - (cd - cp) / (nd - np_)).where((nt > nd) & (nd > np_))


def _with_epoch_months(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the months a change is read at: before the control date, a year before."""
    frame["d_prev"] = (frame["d_mi"] - 1).astype("Int64")
    frame["d_pre"] = (frame["d_mi"] - 13).astype("Int64")
    return frame


def _with_policy(rm: pd.DataFrame, routes, series, lo, hi, dest) -> pd.DataFrame:
    """The difference-in-differences at the last control date aimed at the destination."""
    epochs = _epochs(lo, hi, dest)
    rm = _with_epoch_months(rm.merge(epochs, on=["destination", "mi"], how="left"))
    cum = series[[*SKEY, "mi", "cum", "cum_n"]]
    leg = cum[cum["kind"] == "leg"]
    hub = cum.loc[cum["kind"] == "hub_in", ["b", "p", "mi", "cum", "cum_n"]]
    hub = hub.set_axis(["hub", "hs", "mi", "cum", "cum_n"], axis=1)
    leg_in = leg[["a", "b", "p", "mi", "cum", "cum_n"]].set_axis(
        ["origin", "hub", "hs", "mi", "cum", "cum_n"], axis=1
    )
    leg_dir = leg_in.set_axis(["origin", "destination", "hs", "mi", "cum", "cum_n"], axis=1)
    rm = _with_cum(rm, leg_in, "cin", ["origin", "hub", "hs"])
    rm = _with_cum(rm, hub, "chub", ["hub", "hs"])
    rm = _with_cum(rm, leg_dir, "cdir", ["origin", "destination", "hs"])
    rm["in_change"] = np.where(rm["origin"] == "", _change(rm, "chub"), _change(rm, "cin"))
    # Control 1: the hub's imports of uncontrolled products of the same chapter.
    he = routes[["hub", "destination"]].drop_duplicates().merge(epochs, on="destination")
    he = _with_epoch_months(he)
    he = he.merge(hub[["hub", "hs"]].drop_duplicates(), on="hub")
    he = _with_cum(he, hub, "chub", ["hub", "hs"])
    he["dchg"] = _change(he, "chub")
    he["chapter"] = he["hs"].str[:2]
    he["dchg_unc"] = he["dchg"].where(~he["hs"].str[:6].isin(controlled_hs()))
    cp = he.groupby(["hub", "destination", "mi", "chapter"], as_index=False)[
        ["dchg_unc", "dchg"]
    ].median()
    cp["ctrl_products"] = cp["dchg_unc"].fillna(cp["dchg"])
    # Control 2: the origin's shipments of the product to its other hubs.
    pc = rm.loc[rm["origin"] != "", ["origin", "hs", "mi", "destination", "hub", "in_change"]]
    pc = pc.drop_duplicates()
    grp = pc.groupby(["origin", "hs", "mi", "destination"], sort=False)["in_change"]
    total, n = grp.transform("sum"), grp.transform("count")
    pc["ctrl_partners"] = ((total - pc["in_change"]) / (n - 1)).where(n > 1)
    rm["chapter"] = rm["hs"].str[:2]
    rm = rm.merge(cp[["hub", "destination", "mi", "chapter", "ctrl_products"]],
                  on=["hub", "destination", "mi", "chapter"], how="left")  # fmt: skip
    rm = rm.merge(pc.drop(columns="in_change"), on=["origin", "hs", "mi", "destination", "hub"],
                  how="left")  # fmt: skip
    rm["policy_did"] = rm["in_change"] - rm["ctrl_partners"].fillna(_change(rm, "cdir"))
    rm["policy_did_products"] = rm["in_change"] - rm["ctrl_products"]
    return rm


def route_indicators(
    pairs: pd.DataFrame,
    destinations: list[str] | None = None,
    *,
    max_origins: int = 5,
    window: int = 24,
    history: int = 12,
) -> pd.DataFrame:
    """Route-months with the 13 features (see the module docstring)."""
    dest = list(destinations or destinations_of_concern())
    legs = _legs(pairs)
    cov = _coverage(pairs)
    routes = _routes(legs, dest, max_origins)
    lo, hi = int(legs["mi"].min()), int(legs["mi"].max())

    roles = (["origin", "hub", "hs"], ["hub", "destination", "hs"], ["origin", "destination", "hs"])
    leg_keys = pd.concat([routes[r].set_axis(["a", "b", "p"], axis=1) for r in roles])
    leg_keys = leg_keys.drop_duplicates()
    kept = legs.merge(leg_keys, left_on=["exporter", "importer", "hs"], right_on=["a", "b", "p"])
    # Only the chapters the routes are in (tradeflows._routes.series.series_rows).
    chapter = legs["hs"].str[:2]
    hub_ch = set(zip(routes["hub"], routes["hs"].str[:2], strict=True))
    dest_ch = set(zip(routes["destination"], routes["hs"].str[:2], strict=True))
    hub_in = legs[[k in hub_ch for k in zip(legs["importer"], chapter, strict=True)]]
    dest_in = legs[[k in dest_ch for k in zip(legs["importer"], chapter, strict=True)]]
    others = dest_in.merge(
        routes[["hub", "destination", "hs"]].drop_duplicates(),
        left_on=["importer", "hs"],
        right_on=["destination", "hs"],
    )
    others = others[others["exporter"] != others["hub"]]
    hd = routes[["hub", "destination"]].drop_duplicates()
    out4 = legs.merge(hd, left_on=["exporter", "importer"], right_on=["hub", "destination"])
    parts = [
        (kept, "leg", kept["exporter"], kept["importer"], kept["hs"], kept["exporter"]),
        (hub_in, "hub_in", "", hub_in["importer"], hub_in["hs"], hub_in["exporter"]),
        (dest_in, "dest_in", "", dest_in["importer"], dest_in["hs"], dest_in["exporter"]),
        (others, "dest_ex", others["hub"], others["importer"], others["hs"], others["exporter"]),
        (out4, "leg4", out4["exporter"], out4["importer"], out4["hs"].str[:4], out4["exporter"]),
    ]
    rows = pd.concat(
        [_series_rows(f, kind, a, b, p) for f, kind, a, b, p, _ in parts], ignore_index=True
    )
    wanted_legs = leg_keys[leg_keys["a"] != ""].assign(kind="leg")
    wanted_heads = pd.DataFrame({"kind": "leg4", "a": routes["hub"], "b": routes["destination"],
                                 "p": routes["hs4"]})  # fmt: skip
    keys = pd.concat(
        [
            wanted_legs[SKEY],
            wanted_heads,
            pd.DataFrame({"kind": "hub_in", "a": "", "b": routes["hub"], "p": routes["hs"]}),
            pd.DataFrame(
                {"kind": "dest_in", "a": "", "b": routes["destination"], "p": routes["hs"]}
            ),
            pd.DataFrame(
                {
                    "kind": "dest_ex",
                    "a": routes["hub"],
                    "b": routes["destination"],
                    "p": routes["hs"],
                }
            ),
        ]
    ).drop_duplicates()
    members = pd.concat(
        [
            *[
                pd.DataFrame({"kind": kind, "a": a, "b": b, "p": p, "exporter": who})
                for _, kind, a, b, p, who in parts
            ],
            pd.concat([wanted_legs[SKEY], wanted_heads]).assign(exporter=lambda f: f["a"]),
        ]
    ).drop_duplicates()
    series = _series_features(rows, members, keys, cov, lo, hi, window, history)

    base = ["v", "x", "m", "covered", "x_cov", "m_cov", "rise", "fall", "usual", "level",
            "usual_short", "level_short", "gap", "gap_history", "slip", "spike", "kg"]  # fmt: skip
    in_cols = [*base, "rise_recent", "level_recent", "usual_recent"]
    rm = routes.merge(pd.DataFrame({"mi": np.arange(lo, hi + 1)}), how="cross")
    route_dest, route_in = ["hub", "destination", "hs"], ["origin", "hub", "hs"]
    joins = [  # kind, prefix, the keys its a, b, p join on ("_": none), columns
        ("leg", "in", route_in, in_cols),
        ("hub_in", "hin", ["_", "hub", "hs"], in_cols),
        ("leg", "out", route_dest, base),
        ("leg4", "out4", ["hub", "destination", "hs4"], ["rise", "covered", "level", "usual"]),
        ("leg", "dir", ["origin", "destination", "hs"], base),
        ("dest_in", "dtot", ["_", "destination", "hs"], ["v"]),
        ("dest_ex", "dex", route_dest, ["rise"]),
    ]  # fmt: skip
    for kind, prefix, names, cols in joins:
        frame = _pick(series, kind, prefix, names, cols)
        on = [*(n for n in names if n != "_"), "mi"]
        rm = rm.merge(frame.drop(columns="_", errors="ignore"), on=on, how="left")
    # An empty origin reads the hub's imports from everyone as its inflow.
    no_origin = rm["origin"] == ""
    for c in in_cols:
        rm[f"in_{c}"] = rm[f"hin_{c}"].where(no_origin, rm[f"in_{c}"])
    rm = rm.drop(columns=[f"hin_{c}" for c in in_cols])

    total = rm["in_v"] + rm["dir_v"]
    rm["share"] = (rm["out_v"] / rm["dtot_v"]).where(rm["dtot_v"] > 0)
    rm["div_share"] = (rm["in_v"] / total).where(total > 0)
    rm = rm.sort_values([*ROUTE_KEY, "mi"]).reset_index(drop=True)
    share_med = _previous_median(rm, "share", ROUTE_KEY, window, history // 2)
    div_med = _previous_median(rm, "div_share", ROUTE_KEY, window, history // 2)
    rm["share_change"] = (rm["share"] - share_med).fillna(rm["div_share"] - div_med)
    everyone = sorted({t for ts in policy_dates()["targets"] for t in ts})
    rm = _with_policy(rm, routes, series, lo, hi, dest if dest != ["all"] else everyone)

    def flag(col: str) -> pd.Series:
        return rm[col].astype("boolean").fillna(False).astype(bool)

    in_seen = flag("in_covered")
    side_seen = flag("out_covered") | flag("out4_covered") | flag("dir_covered")
    rm = rm[in_seen | side_seen].reset_index(drop=True)

    typical = legs.loc[legs["v"] > 0, "v"].median()
    floor = 1000.0 if np.isnan(typical) else typical
    ghost_gap = rm["dir_gap"] - rm["dir_gap_history"].fillna(0.0)
    ghost = rm["dir_rise"].clip(lower=0.0).where(ghost_gap > 0.3, 0.0)
    diversion = rm["dir_fall"].where(flag("dir_x_cov"))
    in_extra = (rm["in_level_recent"] - rm["in_usual_recent"].fillna(0.0)).clip(lower=0.0)
    g = rm["dir_gap_history"].fillna(0.0)
    usual_ratio = np.where(g >= 0, 1.0 / (1.0 - g).clip(lower=0.1), 1.0 + g)
    booked_usd = (rm["dir_m"].fillna(0.0) - rm["dir_x"].fillna(0.0) * usual_ratio).clip(lower=0.0)
    booked_usd = booked_usd.where(flag("dir_x_cov") & flag("dir_m_cov"), 0.0)
    booked = np.log1p(booked_usd / np.fmax(rm["dir_x"], floor)).clip(0.0, 5.0)
    diverted = np.fmin(in_extra, (rm["dir_usual_short"] - rm["dir_level_short"]).clip(lower=0.0))
    out_extra = (rm["out_level"] - rm["out_usual"].fillna(0.0)).clip(lower=0.0)
    dir_extra = (rm["dir_level"] - rm["dir_usual"].fillna(0.0)).clip(lower=0.0)
    extra = np.select(
        [flag("out_covered").to_numpy(), (ghost.fillna(0.0) > 0).to_numpy(),
         (diversion.fillna(0.0) > 0).to_numpy()],
        [out_extra, dir_extra, diverted],
        default=in_extra,
    )  # fmt: skip
    extra = np.fmax(pd.Series(extra).fillna(0.0), np.fmin(booked_usd, in_extra.fillna(0.0)))
    dex = rm["dex_rise"].clip(lower=0.0).fillna(0.0)
    uv = (rm["out_v"] / rm["out_kg"]) / (rm["in_v"] / rm["in_kg"])
    with np.errstate(divide="ignore", invalid="ignore"):
        features = {
            "inflow_rise": rm["in_rise_recent"],
            "outflow_rise": rm["out_rise"].fillna(0.0) - dex,
            "outflow4_rise": rm["out4_rise"].fillna(0.0) - dex,
            "ghost": ghost,
            "booked": booked,
            "diversion": diversion,
            "share_change": rm["share_change"],
            "gap_out_change": (rm["out_gap"] - rm["out_gap_history"].fillna(0.0)).abs(),
            "gap_in_change": (rm["in_gap"] - rm["in_gap_history"].fillna(0.0)).abs(),
            "reexport_share": (rm["out_v"] / rm["in_v"]).clip(0.0, 2.0),
            "policy_did": rm["policy_did"],
            "policy_did_products": rm["policy_did_products"],
            "unit_value_ratio": np.log(uv),
            "materiality": 3.5 * np.log2(1.0 + extra / floor),
        }
    out = rm[ROUTE_KEY].assign(mi=rm["mi"])
    for name in FEATURES:
        col = features[name].astype(float)
        out[name] = col.where(np.isfinite(col), 0.0).fillna(0.0)
    out["inflow"] = rm["in_v"]
    out["outflow"] = rm["out_v"]
    return out
