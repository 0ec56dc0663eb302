"""The notebooks run end to end on a short slice (``XSO_NOTEBOOK_DAYS``)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_on_a_short_slice(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XSO_NOTEBOOK_DAYS", "2")
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in book.cells for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    assert any(c.get("outputs") for c in book.cells if c.cell_type == "code")
