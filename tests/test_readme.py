"""The README's Python walkthrough runs as written (on stand-ins for the user's own files)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import tradeflows as tf

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_block_runs(tmp_path, monkeypatch):
    block = re.search(r"## In Python\n\n```python\n(.*?)```", README.read_text(), flags=re.S)
    assert block, "the README has no Python walkthrough"
    # "comtrade_download.csv" and "downloads/" are the user's own files: a small
    # synthetic world's Comtrade+ files stand in for them.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEFLOWS_QUIET", "1")
    tf.datasets.make_trade_world("own", seed=3, n_others=5, n_products=8, pairs_per_product=10,
                                 episodes=2, lookalikes=2)  # fmt: skip
    shutil.copy("own/comtrade/comtrade_2023.csv", "comtrade_download.csv")
    shutil.copytree("own/comtrade", "downloads")
    scope: dict = {}
    exec(compile(block.group(1), str(README), "exec"), scope)
    assert scope["ranked"].height > 0 and (tmp_path / "report.html").stat().st_size > 100_000
    assert (tmp_path / "flags.xlsx").exists() and scope["truth"].height > 0
