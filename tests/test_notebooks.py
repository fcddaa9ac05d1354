"""Runs every notebook in colab/ headless in a real Jupyter kernel, in smoke mode."""

import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "colab", "*.ipynb")))


def test_there_are_five_notebooks_with_outputs_cleared():
    assert [os.path.basename(p) for p in NOTEBOOKS] == [
        "01_quickstart.ipynb", "02_long_context.ipynb", "03_tasks.ipynb", "04_serving.ipynb", "05_tensorboard.ipynb"]
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        assert all(not c.get("outputs") and not c.get("execution_count") for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    # The kernel inherits this environment: smoke sizes, and outputs (runs/, saved_models/) in a scratch copy.
    monkeypatch.setenv("LLAMA_KERAS_SMOKE", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    os.symlink(os.path.join(ROOT, "trainers"), tmp_path / "trainers")
    os.symlink(os.path.join(ROOT, "benchmarks"), tmp_path / "benchmarks")
    notebook = nbformat.read(path, as_version=4)
    # NotebookClient raises CellExecutionError, naming the cell, on any error.
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
