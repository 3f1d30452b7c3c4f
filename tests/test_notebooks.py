"""The four notebooks execute (papermill, small parameters) and their HTML renders offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, open_offline, plot_state
from tradeflows.report import notebook_html

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def small_parameters(name: str, tmp: Path) -> dict:
    return {
        "01_quickstart": {"pairs_per_product": 15, "workdir": str(tmp / "work")},
        "02_russia_reexports": {"top": 5},
        "03_nvidia_malaysia": {"pairs_per_product": 15},
        "04_monthly_report": {
            "sources": [str(DATASETS / "eu_electronics_exports_2020_2022.parquet")],
            "out": str(tmp / "report.html"),
        },
    }[name]


def test_every_notebook_is_listed():
    names = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))
    assert names == [
        "01_quickstart",
        "02_russia_reexports",
        "03_nvidia_malaysia",
        "04_monthly_report",
    ]


def _execute(name: str, tmp: Path):
    import jupytext
    import nbformat
    import papermill

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    source = tmp / f"{name}.ipynb"
    nbformat.write(nb, source)
    executed = tmp / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(source), str(executed), parameters=small_parameters(name, tmp), kernel_name="python3",
        cwd=str(NOTEBOOKS), progress_bar=False, log_output=False,
    )  # fmt: skip
    return nbformat.read(executed, as_version=4)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "name", ["01_quickstart", "02_russia_reexports", "03_nvidia_malaysia", "04_monthly_report"]
)
def test_notebook_runs_and_renders_offline(name, tmp_path, browser):
    nb = _execute(name, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    figures = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert figures, "the notebook drew no figure"
    html = notebook_html(nb, tmp_path / f"{name}.html")
    seen = open_offline(browser, html, settle_ms=2500)
    plots = plot_state(seen["page"])
    assert len(plots) == len(figures)
    for plot in plots:
        assert plot["svgs"] >= 1 and plot["traces"] >= 1 and plot["paths"] > 3, plot
    assert seen["errors"] == [], seen["errors"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seen["page"].screenshot(path=str(ARTIFACTS / f"{name}.png"))
    seen["page"].close()


def test_long_steps_show_progress_in_a_notebook(tmp_path):
    """In Jupyter each long step shows as it starts; TRADEFLOWS_QUIET=1 keeps outputs clean."""
    import nbformat
    from nbclient import NotebookClient

    from tests.conftest import small_world as make

    world = make(tmp_path / "w", seed=5, preset=None, n_others=6, n_products=6,
                 pairs_per_product=10, episodes=1, lookalikes=1)  # fmt: skip
    code = (
        "from tradeflows.detect import detect_routes\n"
        f"flags = detect_routes([{str(world / 'comtrade')!r}])\n"
        "print(flags.height)"
    )

    def shown(env: dict) -> str:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(nb, timeout=300, kernel_name="python3").execute()
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        outputs = nb.cells[0].outputs
        return "\n".join(o.get("text", "") + str(o.get("data", "")) for o in outputs)

    text = shown({"TRADEFLOWS_QUIET": ""})
    assert "pairing the two reports of each flow" in text and "route indicators" in text
    assert "done in" not in text  # the seconds are for the log file
    quiet = shown({"TRADEFLOWS_QUIET": "1"})
    assert "route indicators" not in quiet and quiet.strip().splitlines()[-1].strip().isdigit()
