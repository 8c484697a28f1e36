"""The synthesis report's breakdown of the largest blocks into their parts, from the exported
Verilog's module names and the netlist's cell names (no synthesis run)."""

from hw import synth


def test_parts_come_from_the_module_hierarchy(tmp_path):
    verilog = tmp_path / "e1000.v"
    verilog.write_text("module e1000(clk);\nendmodule\n"
                       "module \\e1000.txdma (clk);\nendmodule\n"
                       "module \\e1000.txdma.checksum (clk);\nendmodule\n"
                       "module \\e1000.txdma.tso.copy$49 (clk);\nendmodule\n"
                       "module \\e1000.txdma.tso (clk);\nendmodule\n")
    submodules = synth._submodules(verilog)
    assert submodules == {"txdma", "txdma.checksum", "txdma.tso", "txdma.tso.copy$49"}
    cells = {
        "txdma.checksum.acc_LUT4_Z": {"type": "LUT4"},
        "txdma.checksum.acc_CCU2C": {"type": "CCU2C"},                  # counts 2
        "txdma.tso.copy$49.seq_LUT4_Z": {"type": "LUT4"},
        "txdma.o__payload.tso.tse_LUT4_Z": {"type": "LUT4"},            # a struct's field
        "txdma.frames_LUT4_Z": {"type": "LUT4"},
        "txdma.checksum.r6_TRELLIS_FF_Q": {"type": "TRELLIS_FF"},       # no LUT4
    }
    assert synth._part_of("txdma.o__payload.tso.tse_LUT4_Z", submodules) == "(own)"
    assert synth._part_of("txdma.tso.copy$49.seq_LUT4_Z", submodules) == "tso"
    rows = [("txdma", {"LUT4": 5})]
    assert synth._parts_table(cells, rows, submodules, at_least=5, shown=2) == [
        "", "LUT4 inside the largest blocks (roughly: a cell is named after a net it drives,",
        "so logic in front of a part's inputs may count in that part):",
        "  txdma: checksum 3, (own) 2, the rest 1"]
    # Blocks under the threshold, and the glue, are left out.
    assert synth._parts_table(cells, rows, submodules, at_least=6) == []


def test_fmax_over_several_seeds():
    one = {1: {"clk": 108.5}}
    assert synth.fmax_lines(one) == ["clock clk: 108.5 MHz (misses 125 MHz), placement seed 1"]
    three = {1: {"clk": 108.5}, 2: {"clk": 126.04}, 3: {"clk": 108.0}}
    assert synth.fmax_lines(three) == [
        "clock clk: 108.5 MHz (misses 125 MHz), placement seed 1",
        "clock clk: 126.0 MHz (meets 125 MHz), placement seed 2",
        "clock clk: 108.0 MHz (misses 125 MHz), placement seed 3",
        "clock clk over seeds 1, 2, 3: lowest 108.0 MHz, median 108.5 MHz"]
    two = {4: {"clk": 100.0}, 5: {"clk": 110.0}}
    assert synth.fmax_lines(two)[-1] == \
        "clock clk over seeds 4, 5: lowest 100.0 MHz, median 105.0 MHz"


def test_a_run_with_three_seeds_reports_each_and_the_summary(tmp_path, monkeypatch, capsys):
    # The tools stand in: synthesis gives a made-up netlist, each placement a made-up Fmax.
    placed = []

    def place_and_route(json_path, *, seed, suffix):
        placed.append((seed, suffix))
        return {"fmax": {"clk": {"achieved": 100.0 + seed}},
                "utilization": {"TRELLIS_FF": {"used": 3, "available": 24288}}}

    cells = {"txdma.a_LUT4_Z": {"type": "LUT4"}, "txdma.b_TRELLIS_FF_Q": {"type": "TRELLIS_FF"}}
    monkeypatch.setattr(synth, "BUILD", str(tmp_path))
    monkeypatch.setattr(synth, "export", lambda path: None)
    monkeypatch.setattr(synth, "synthesize", lambda verilog: ("e1000.json", cells))
    monkeypatch.setattr(synth, "_submodules", lambda verilog: set())
    monkeypatch.setattr(synth, "place_and_route", place_and_route)
    monkeypatch.setattr(synth, "draw_area", lambda *args, **kwargs: False)
    monkeypatch.setattr(synth.sys.stderr, "isatty", lambda: True)   # the progress lines too
    assert synth.main(["--seed", "3,1,2"]) == 0
    assert placed == [(3, "-seed3"), (1, "-seed1"), (2, "-seed2")]
    report = (tmp_path / "synth-report.txt").read_text().splitlines()
    assert [line for line in report if line.startswith("clock")] == [
        "clock clk: 103.0 MHz (misses 125 MHz), placement seed 3",
        "clock clk: 101.0 MHz (misses 125 MHz), placement seed 1",
        "clock clk: 102.0 MHz (misses 125 MHz), placement seed 2",
        "clock clk over seeds 3, 1, 2: lowest 101.0 MHz, median 102.0 MHz"]
    assert "placed TRELLIS_FF: 3 of 24288" in report
    progress = capsys.readouterr().err
    assert "seed 3 done in" in progress and "place and route with nextpnr, seed 2" in progress
    # One seed keeps nextpnr's files under their plain names.
    placed.clear()
    assert synth.main([]) == 0
    assert placed == [(1, "")]
