"""The README's Python example runs as written."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_python_example_runs(tmp_path):
    with open(os.path.join(ROOT, "README.md")) as f:
        example = re.search(r"```python\n(.*?)```", f.read(), re.DOTALL).group(1)
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr
    status, cycles, frames = result.stdout.strip().splitlines()[-1].split(" ", 2)
    assert status == "0" and int(cycles) > 40_000
    assert frames == "{'to_nic': 3, 'from_nic': 3}"        # ARP, then two echoes each way
    assert (tmp_path / "build" / "mine.pcapng").stat().st_size > 0
    assert (tmp_path / "build" / "mine.gtkw").exists()
