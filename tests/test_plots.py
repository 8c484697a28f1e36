"""The pictures make bench and make synth draw: PNG files with what was measured in them."""

import pytest

pytest.importorskip("matplotlib", reason="matplotlib draws the pictures (pip install -e '.[plot]')")

from hw.synth import draw_area  # noqa: E402
from sim.plots import draw_bench  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_benchmark_draws_throughput_speed_and_latency(tmp_path):
    results = {"tx": {"64": 100.0, "512": 100.0, "1518": 100.0},
               "rx": {"64": 99.0, "512": 100.0, "1518": 100.0},
               "sim_cycles_per_s": {"cxxrtl": 400_000, "amaranth": 2_300},
               "machine": "x86_64, 2 cores"}
    latencies = {64: [760.0, 770.0, 880.0], 1518: [12_300.0, 12_500.0]}
    paths = draw_bench(results, latencies, str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in paths] == \
        ["bench-throughput.png", "bench-speed.png", "bench-latency.png"]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == PNG


def test_without_latencies_there_is_no_latency_picture(tmp_path):
    paths = draw_bench({"tx": {"64": 100.0}, "rx": {}, "sim_cycles_per_s": {"amaranth": 2000}},
                       {}, str(tmp_path))
    assert len(paths) == 2 and not (tmp_path / "bench-latency.png").exists()


def test_synthesis_draws_the_area_per_block(tmp_path):
    path = tmp_path / "area.png"
    rows = [("txdma", {"LUT4": 2887}), ("rxdma", {"LUT4": 1054}), ("(glue)", {"LUT4": 650})]
    assert draw_area(rows, str(path), title="e1000: 4,591 LUT4")
    assert path.read_bytes()[:8] == PNG
