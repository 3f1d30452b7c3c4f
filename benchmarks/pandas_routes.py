"""The route step written the straightforward pandas way (for bench_scale).

``route_indicators(pairs, destinations)`` computes what
``tradeflows.routes.route_indicators`` computes, on the pairs of
``bench_mirror.pandas_mirror``, with merges, ``groupby().shift`` and
``groupby().rolling().median()``:

* the legs: each monthly flow's value, its largest report in FOB terms;
* the candidate routes: every hub -> destination-of-concern leg with the
  hub's largest and fastest-growing suppliers of the product or of a product
  of the same heading as origins (and an empty origin for all of them), and
  every origin -> hub leg whose origin also ships the product to the
  destination directly;
* the dense monthly series every route needs (its legs, the hub's imports,
  the destination's imports from everyone and from everyone but the hub, the
  heading's outflow), each month's rise against the median of the previous
  24 months and against the same month a year earlier in robust z units, its
  fall, data-quality events and onsets;
* per route-month all 13 features of ``tradeflows.routes.FEATURES``: the
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

from tradeflows.reference import controlled_hs, destinations_of_concern, policy_dates
from tradeflows.routes import FEATURES, ROUTE_KEY

SKEY = ["kind", "a", "b", "p"]
EVIDENCE = 3.0


def _previous_median(df: pd.DataFrame, col: str, keys: list[str], window: int, least: int):
    """The median of the ``window`` values of ``col`` before each row (rows sorted by month)."""
    prev = df.groupby(keys, sort=False)[col].shift(1)
    rolled = prev.groupby([df[k] for k in keys], sort=False).rolling(window, min_periods=least)
    return rolled.median().reset_index(level=list(range(len(keys))), drop=True)


def _legs(pairs: pd.DataFrame) -> pd.DataFrame:
    m = pairs[pairs["freq"] == "M"]
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
            "importer_silent": m["importer_silent"],
            "mi": period.dt.year * 12 + period.dt.month - 1,
            "x": x,
            "m": fob,
            "v": np.maximum(x.fillna(0.0), fob.fillna(0.0)),
            "kg": np.fmax(m["kg_x"], m["kg_m"]),
        }
    ).reset_index(drop=True)


def _routes(legs: pd.DataFrame, dest: list[str], max_origins: int) -> pd.DataFrame:
    """Candidate routes: seen from the hub's side and from the origin's."""
    out = legs.loc[legs["importer"].isin(dest), ["exporter", "importer", "hs"]].drop_duplicates()
    out = out.rename(columns={"exporter": "hub", "importer": "destination"})
    out["hs4"] = out["hs"].str[:4]
    n_months = legs["mi"].max() - legs["mi"].min() + 1
    g = legs.groupby(["exporter", "importer", "hs"])["v"]
    sup = pd.DataFrame(
        {
            "total": g.sum(),
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
            "silent": rows["importer_silent"],
        }
    )
    g = frame.groupby(["a", "b", "p", "mi"], sort=False)
    out = pd.DataFrame(
        {
            "v": g["v"].sum(),
            "x": g["x"].sum(min_count=1),
            "m": g["m"].sum(min_count=1),
            "kg": g["kg"].sum(min_count=1),
            "slip": g["slip"].any(),
        }
    )
    if kind == "leg":  # one row per leg-month
        out["gap"] = g["gap"].first()
        out["gap_history"] = g["gap_history"].first()
        out["silent"] = g["silent"].all()
    return out.reset_index().assign(kind=kind)


def _series_features(rows: pd.DataFrame, lo: int, hi: int, window: int) -> pd.DataFrame:
    """Dense monthly series and their rise against their own (seasonal) history."""
    keys = rows[SKEY].drop_duplicates()
    months = pd.DataFrame({"mi": np.arange(lo, hi + 1)})
    d = keys.merge(months, how="cross").merge(rows, on=[*SKEY, "mi"], how="left")
    d = d.sort_values([*SKEY, "mi"]).reset_index(drop=True)
    d["v"] = d["v"].fillna(0.0)
    d["slip"] = d["slip"].astype("boolean").fillna(False).astype(bool)
    d["lv"] = np.log1p(d["v"] / 1000.0)
    g = d.groupby(SKEY, sort=False)
    d["yoy"] = d["lv"] - g["lv"].shift(12)
    d["step"] = (d["lv"] - g["lv"].shift(1)).abs()
    d["cum"] = g["lv"].cumsum()
    d["med"] = _previous_median(d, "lv", SKEY, window, 6)
    step_med = _previous_median(d, "step", SKEY, window, 6)
    scale = np.fmax(1.4826 * step_med, 0.25)
    level = d["lv"] - d["med"]
    rise = level.where(d["yoy"].isna(), np.fmin(level, d["yoy"]))
    d["usual"] = (np.exp(d["med"]) - 1.0) * 1000.0
    d["spike"] = (
        (d["v"] > 20 * g["v"].shift(1))
        & (d["v"] > 20 * g["v"].shift(-1))
        & ((d["x"] > 20 * d["m"]) | (d["m"] > 20 * d["x"]))
    )
    d["rise_z"] = (rise / scale).where(~(d["slip"] | d["spike"]), 0.0).fillna(0.0)
    d["fall_z"] = (-level / scale).clip(lower=0.0).fillna(0.0)
    lagged = pd.concat([d["rise_z"], *(g["rise_z"].shift(k) for k in (1, 2, 3))], axis=1)
    lagged.columns = range(4)
    d["rise_z_lagged"] = lagged.max(axis=1)
    # The earliest of the last four months that clears the evidence line, else the strongest.
    clears = lagged.ge(EVIDENCE).to_numpy()
    k = np.where(clears.any(axis=1), 3 - clears[:, ::-1].argmax(axis=1), -1)
    strongest = lagged.eq(d["rise_z_lagged"], axis=0).to_numpy().argmax(axis=1)
    k = np.where(k >= 0, k, strongest)
    for col in ("v", "usual"):
        shifted = np.column_stack([d[col], *(g[col].shift(j) for j in (1, 2, 3))])
        d[f"{col}_lagged"] = shifted[np.arange(len(d)), k]
    # Runs of months over the evidence line (one month below does not end a run).
    below = (d["rise_z"] < EVIDENCE) & (g["rise_z"].shift(-1).fillna(0.0) < EVIDENCE)
    d["_run"] = below.groupby([d[c] for c in SKEY], sort=False).cumsum()
    rising = d["rise_z"] >= EVIDENCE
    first = d["mi"].where(rising).groupby([d[c] for c in [*SKEY, "_run"]], sort=False)
    d["onset"] = first.transform("min").where(rising)
    g = d.groupby(SKEY, sort=False)
    recent = d["onset"]
    for j in (1, 2, 3):
        recent = recent.fillna(g["onset"].shift(j))
    d["onset_recent"] = recent
    return d.drop(columns=["step", "yoy", "_run"])


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
    """Attach a series' cumulated log level at the month, before the control date and a year before."""
    for k, col in (("t", "mi"), ("d", "d_prev"), ("p", "d_pre")):
        src = cum.rename(columns={"mi": col, "cum": f"{prefix}_c{k}"})
        frame = frame.merge(src, on=[*on, col], how="left")
    return frame


def _change(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """Mean log level since the control date minus over the 12 months before it."""
    ct, cd, cp = (frame[f"{prefix}_c{k}"] for k in "tdp")
    return (ct - cd) / frame["n_post"] - (cd - cp) / 12.0


def _with_epoch_months(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the months a change is read at: before the control date, a year before, since it."""
    frame["d_prev"] = (frame["d_mi"] - 1).astype("Int64")
    frame["d_pre"] = (frame["d_mi"] - 13).astype("Int64")
    frame["n_post"] = frame["mi"] - frame["d_mi"] + 1
    return frame


def _with_policy(rm: pd.DataFrame, routes, series, lo, hi, dest) -> pd.DataFrame:
    """The difference-in-differences at the last control date aimed at the destination."""
    epochs = _epochs(lo, hi, dest)
    rm = _with_epoch_months(rm.merge(epochs, on=["destination", "mi"], how="left"))
    cum = series[[*SKEY, "mi", "cum"]]
    leg = cum[cum["kind"] == "leg"]
    hub = cum.loc[cum["kind"] == "hub_in", ["b", "p", "mi", "cum"]]
    hub = hub.set_axis(["hub", "hs", "mi", "cum"], axis=1)
    leg_in = leg[["a", "b", "p", "mi", "cum"]].set_axis(
        ["origin", "hub", "hs", "mi", "cum"], axis=1
    )
    leg_dir = leg_in.set_axis(["origin", "destination", "hs", "mi", "cum"], axis=1)
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
) -> pd.DataFrame:
    """Route-months with the 13 features (see the module docstring)."""
    dest = list(destinations or destinations_of_concern())
    legs = _legs(pairs)
    routes = _routes(legs, dest, max_origins)
    lo, hi = int(legs["mi"].min()), int(legs["mi"].max())

    roles = (["origin", "hub", "hs"], ["hub", "destination", "hs"], ["origin", "destination", "hs"])
    keys = pd.concat([routes[r].set_axis(["a", "b", "p"], axis=1) for r in roles])
    keys = keys.drop_duplicates()
    kept = legs.merge(keys, left_on=["exporter", "importer", "hs"], right_on=["a", "b", "p"])
    hub_in = legs[legs["importer"].isin(routes["hub"])]
    dest_in = legs[legs["importer"].isin(routes["destination"])]
    others = dest_in.merge(
        routes[["hub", "destination", "hs"]].drop_duplicates(),
        left_on=["importer", "hs"],
        right_on=["destination", "hs"],
    )
    others = others[others["exporter"] != others["hub"]]
    hd = routes[["hub", "destination"]].drop_duplicates()
    out4 = legs.merge(hd, left_on=["exporter", "importer"], right_on=["hub", "destination"])
    rows = pd.concat(
        [
            _series_rows(kept, "leg", kept["exporter"], kept["importer"], kept["hs"]),
            _series_rows(hub_in, "hub_in", "", hub_in["importer"], hub_in["hs"]),
            _series_rows(dest_in, "dest_in", "", dest_in["importer"], dest_in["hs"]),
            _series_rows(others, "dest_ex", others["hub"], others["importer"], others["hs"]),
            _series_rows(out4, "leg4", out4["exporter"], out4["importer"], out4["hs"].str[:4]),
        ],
        ignore_index=True,
    )
    series = _series_features(rows, lo, hi, window)

    base = ["v", "rise_z", "usual", "gap", "gap_history", "slip", "spike", "kg", "cum"]
    in_cols = [*base, "rise_z_lagged", "onset_recent", "v_lagged", "usual_lagged"]
    rm = routes.merge(pd.DataFrame({"mi": np.arange(lo, hi + 1)}), how="cross")
    route_dest, route_in = ["hub", "destination", "hs"], ["origin", "hub", "hs"]
    joins = [  # kind, prefix, the keys its a, b, p join on ("_": none), columns
        ("leg", "in", route_in, in_cols),
        ("hub_in", "hin", ["_", "hub", "hs"], in_cols),
        ("leg", "out", route_dest, [*base, "x", "m", "silent"]),
        ("leg4", "out4", ["hub", "destination", "hs4"], ["rise_z"]),
        ("leg", "dir", ["origin", "destination", "hs"],
         ["v", "rise_z", "fall_z", "usual", "gap", "gap_history"]),
        ("dest_in", "dtot", ["_", "destination", "hs"], ["v"]),
        ("dest_ex", "dex", route_dest, ["rise_z"]),
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
    share_med = _previous_median(rm, "share", ROUTE_KEY, window, 6)
    div_med = _previous_median(rm, "div_share", ROUTE_KEY, window, 6)
    rm["share_change"] = (rm["share"] - share_med).fillna(rm["div_share"] - div_med)
    everyone = sorted({t for ts in policy_dates()["targets"] for t in ts})
    rm = _with_policy(rm, routes, series, lo, hi, dest if dest != ["all"] else everyone)

    typical = legs.loc[legs["v"] > 0, "v"].median()
    floor = 1000.0 if np.isnan(typical) else typical
    extra = (np.fmax(rm["in_v_lagged"], rm["in_v"]) - rm["in_usual_lagged"].fillna(0.0)).clip(
        lower=0.0
    )
    ghost_gap = rm["dir_gap"] - rm["dir_gap_history"].fillna(0.0)
    dex = rm["dex_rise_z"].clip(lower=0.0).fillna(0.0)
    uv = (rm["out_v"] / rm["out_kg"]) / (rm["in_v"] / rm["in_kg"])
    with np.errstate(divide="ignore", invalid="ignore"):
        features = {
            "inflow_rise": rm["in_rise_z_lagged"],
            "outflow_rise": rm["out_rise_z"].fillna(0.0) - dex,
            "outflow4_rise": rm["out4_rise_z"].fillna(0.0) - dex,
            "ghost": rm["dir_rise_z"].clip(lower=0.0).where(ghost_gap > 0.3, 0.0),
            "diversion": rm["dir_fall_z"],
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
    out["inflow"] = rm["in_v"].fillna(0.0)
    out["outflow"] = rm["out_v"].fillna(0.0)
    return out
