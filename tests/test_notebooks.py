"""The four notebooks execute (papermill, small parameters) and their HTML renders offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, open_offline, plot_state
from tradeflows._report import notebook_html

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


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """The project's kernel, registered as ``make lab`` does (``tradeflows``), in a
    folder of its own that Jupyter is pointed at: the notebooks run on it by name."""
    import subprocess
    import sys

    prefix = tmp_path_factory.mktemp("kernel")
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix),
         "--name", "tradeflows", "--display-name", "Python (tradeflows)"],
        check=True, capture_output=True,
    )  # fmt: skip
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    yield prefix / "share" / "jupyter" / "kernels" / "tradeflows"
    os.environ.pop("JUPYTER_PATH") if old is None else os.environ.__setitem__("JUPYTER_PATH", old)


def test_the_kernel_is_registered_under_its_own_name_and_runs_this_python(kernel):
    import json
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    spec = json.loads((kernel / "kernel.json").read_text())
    assert spec["display_name"] == "Python (tradeflows)"
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()
    assert KernelSpecManager().get_kernel_spec("tradeflows").resource_dir == str(kernel)


def test_the_lab_extra_brings_what_the_plotly_renderer_needs():
    import importlib.metadata

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((NOTEBOOKS.parent / "pyproject.toml").read_text())["project"]
    lab = {r.split(">")[0].split("[")[0] for r in project["optional-dependencies"]["lab"]}
    assert {"jupyterlab", "ipykernel", "nbformat", "jupytext"} <= lab
    assert any(r.startswith("plotly") for r in project["dependencies"])
    # JupyterLab renders plotly's output through the extension inside the plotly wheel.
    shipped = [str(f) for f in importlib.metadata.files("plotly") or []]
    assert any(f.endswith("labextensions/jupyterlab-plotly/package.json") for f in shipped)


def _execute(name: str, tmp: Path):
    import jupytext
    import nbformat
    import papermill

    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    assert nb.metadata["kernelspec"]["name"] == "tradeflows"
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    source = tmp / f"{name}.ipynb"
    nbformat.write(nb, source)
    executed = tmp / f"{name}.out.ipynb"
    papermill.execute_notebook(  # on the kernel the notebook names
        str(source), str(executed), parameters=small_parameters(name, tmp),
        cwd=str(NOTEBOOKS), progress_bar=False, log_output=False,
    )  # fmt: skip
    return nbformat.read(executed, as_version=4)


def _figures(nb) -> list[dict]:
    return [
        o["data"]["application/vnd.plotly.v1+json"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "name", ["01_quickstart", "02_russia_reexports", "03_nvidia_malaysia", "04_monthly_report"]
)
def test_notebook_runs_and_renders_offline(name, tmp_path, browser, kernel):
    nb = _execute(name, tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    figures = _figures(nb)
    assert figures, "the notebook drew no figure"
    text = json.dumps(figures)
    if name == "03_nvidia_malaysia":  # every figure of the synthetic world says so
        for fig in figures:
            marks = [a.get("text") for a in fig["layout"].get("annotations", [])]
            assert "SYNTHETIC" in marks and "SYNTHETIC" in fig["layout"]["title"]["text"]
        assert "Singapore" in text and "Thailand" in text
    if name == "02_russia_reexports":  # the EBRD's three hubs, from all-goods trade
        printed = "".join(
            o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
            if o.get("output_type") == "stream"
        )  # fmt: skip
        order = printed.split("hubs to Russia in order: ")[1].split("\n")[0].split(", ")
        assert set(order[:3]) == {"ARM", "KAZ", "KGZ"} and set(order[3:]) == {"GEO", "UZB"}
    if name == "02_russia_reexports":  # unreported months are gaps, never zeros
        from tests.test_report import unfiled_zeros
        from tradeflows.datasets import load_eu_electronics_exports

        points = [
            {"x": str(x)[:10], "y": y, "reporter": t["meta"]["reporter"], "side": t["meta"]["side"]}
            for fig in figures
            for t in fig["data"]
            if isinstance(t.get("meta"), dict) and t["meta"].get("reporter")
            for x, y in zip(t["x"], t["y"], strict=True)
        ]
        bad, _, _ = unfiled_zeros(points, load_eu_electronics_exports())
        assert points and bad == [], bad[:3]
    html = notebook_html(nb, tmp_path / f"{name}.html")
    seen = open_offline(browser, html, settle_ms=2500)
    plots = plot_state(seen["page"])
    assert len(plots) == len(figures)
    for plot in plots:
        assert plot["svgs"] >= 1 and plot["traces"] >= 1 and plot["paths"] > 3, plot
    if name == "03_nvidia_malaysia":  # the mark is drawn on every plot, not only stored
        drawn = seen["page"].eval_on_selector_all(
            "div.js-plotly-plot", "ds => ds.map(d => d.textContent.includes('SYNTHETIC'))"
        )
        assert drawn and all(drawn), drawn
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
        "from tradeflows import detect_routes\n"
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
