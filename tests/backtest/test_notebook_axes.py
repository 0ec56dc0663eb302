"""Money on the notebooks' axes carries its currency (the notebooks run in test_notebooks)."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT


def test_every_money_axis_in_the_notebooks_names_the_currency() -> None:
    money = re.compile(r"(ylabel|xlabel)\s*[=(]\s*f?\"([^\"]*)\"")
    labels = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            for _, text in money.findall("".join(cell["source"])):
                labels.append((path.name, text))
                if re.search(r"cost|saving|price|revenue", text):
                    assert "currency" in text or re.search(r"\((GBP|EUR)", text), (path, text)
    assert any("cost" in text for _, text in labels)  # the check saw the money axes
