"""The README's Python blocks run, in order, as one session (so they cannot rot)."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_blocks_run_in_order():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) >= 4
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", "\n".join(blocks)], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(1, 4096, 1000)" in result.stdout  # the seed example's printed shape
    assert "'answer':" in result.stdout
    assert "4 (1, 8, 8, 8)" in result.stdout  # attention maps: 4 layers, [B, heads, T, T]
