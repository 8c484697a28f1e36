"""The synthesis report (the blocks' parts from the exported Verilog's module names and the
netlist's cell names, the Fmax over seeds, the late inputs) and the netlist pass that gives
block RAMs their output registers, on made-up netlists and reports (no synthesis run)."""

import json

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
        late = {"cell": "txdma.b_TRELLIS_FF_Q", "port": "DI", "delay": [1.0, 8.0 + seed]}
        return {"fmax": {"clk": {"achieved": 100.0 + seed}},
                "utilization": {"TRELLIS_FF": {"used": 3, "available": 24288}},
                "detailed_net_timings": [{"net": "a", "endpoints": [late]}]}

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
    assert report[-3:] == ["  seed 3: 1 of 1: txdma (own) 1 (11.00 ns)",
                           "  seed 1: 1 of 1: txdma (own) 1 (9.00 ns)",
                           "  seed 2: 1 of 1: txdma (own) 1 (10.00 ns)"]
    progress = capsys.readouterr().err
    assert "seed 3 done in" in progress and "place and route with nextpnr, seed 2" in progress
    # One seed keeps nextpnr's files under their plain names.
    placed.clear()
    assert synth.main([]) == 0
    assert placed == [(1, "")]


def test_late_inputs_by_block_and_part():
    # nextpnr's detailed timing gives, for each net, when its value reaches each load. Only the
    # inputs where timing ends count: flip-flops' data, enable and reset, block RAM's data,
    # address and enables, distributed RAM's write port (its cell split in packing).
    ff, bram, dpr, lut = ({"type": kind} for kind in
                          ("TRELLIS_FF", "DP16KD", "TRELLIS_DPR16X4", "LUT4"))
    cells = {"txdma.a_TRELLIS_FF_Q": ff, "txdma.checksum.b_TRELLIS_FF_Q": ff,
             "txdma.c_LUT4_Z": lut, "rxmac.table.0.0": bram, "stats.q.storage.0.0": dpr,
             "enable_TRELLIS_FF_Q": ff}

    def load(cell, port, latest):
        return {"cell": cell, "port": port, "delay": [1.0, latest], "event": "posedge clk"}
    report = {"detailed_net_timings": [
        {"net": "n1", "driver": "x", "port": "F", "endpoints": [
            load("txdma.a_TRELLIS_FF_Q", "DI", 8.5), load("txdma.a_TRELLIS_FF_Q", "CE", 7.9),
            load("txdma.c_LUT4_Z", "A", 9.5)]},                      # not where timing ends
        {"net": "n2", "driver": "y", "port": "Q", "endpoints": [
            load("txdma.checksum.b_TRELLIS_FF_Q", "CE", 9.1), load("rxmac.table.0.0", "DIA3", 8.2),
            load("rxmac.table.0.0", "CLKA", 9.9),
            load("stats.q.storage.0.0$DPRAM_COMB0", "WD", 8.3),
            load("stats.q.storage.0.0$DPRAM_COMB0", "RAD0", 9.0),    # a read: combinational
            load("enable_TRELLIS_FF_Q", "M", 8.1), load("unknown_cell", "DI", 9.9)]},
    ]}
    submodules = {"txdma", "txdma.checksum", "rxmac", "stats"}
    timed, groups = synth.late_endpoints(report, cells, submodules, period=8.0)
    assert timed == 6
    assert groups == {"txdma (own)": (1, 8.5), "txdma checksum": (1, 9.1), "rxmac (own)": (1, 8.2),
                      "stats (own)": (1, 8.3), "(glue)": (1, 8.1)}
    assert synth.late_lines({2: (timed, groups)}, period=8.0, shown=2) == [
        "", "flip-flop and RAM inputs reached later than 8.0 ns (the target's period; setup not "
        "counted), by block and part:",
        "  seed 2: 5 of 6: txdma (own) 1 (8.50 ns), txdma checksum 1 (9.10 ns), elsewhere 3"]
    # A placement that meets the period.
    assert synth.late_lines({1: (6, {})}, period=8.0)[-1] == "  seed 1: 0 of 6"


def _netlist(flop_params=None, flop_conn=None, extra_load=False, ram_params=None,
             other_params=None, other_conn=None):
    """A block RAM (read data DOA0, DOB0; DOA1 unused) whose read data bits each go to a
    flip-flop that loads in every cycle, as Yosys writes such a netlist; the variations give the
    flip-flops enables, or make one of the conditions fail."""
    def flop(params):
        return {"type": "TRELLIS_FF",
                "port_directions": {"CLK": "input", "CE": "input", "DI": "input",
                                    "LSR": "input", "Q": "output"},
                "parameters": {"CEMUX": "1 ", "CLKMUX": "CLK", "GSR": "DISABLED",
                               "LSRMUX": "LSR", "REGSET": "RESET", **(params or {})}}
    cells = {
        "ram": {"type": "DP16KD",
                "port_directions": {"CLKA": "input", "CLKB": "input", "OCEA": "input",
                                    "OCEB": "input", "RSTA": "input", "RSTB": "input",
                                    "DOA0": "output", "DOA1": "output", "DOB0": "output"},
                "parameters": {"REGMODE_A": "NOREG", "REGMODE_B": "NOREG",
                               **(ram_params or {})},
                "connections": {"CLKA": [2], "CLKB": [2], "OCEA": ["0"], "OCEB": ["1"],
                                "RSTA": ["0"], "RSTB": ["0"], "DOA0": [10], "DOA1": [11],
                                "DOB0": [12]}},
        "a_TRELLIS_FF_Q": {**flop(flop_params),
                           "connections": {"CLK": [2], "DI": [10], "LSR": ["0"], "Q": [20],
                                           **(flop_conn or {})}},
        "b_TRELLIS_FF_Q": {**flop(other_params),
                           "connections": {"CLK": [2], "DI": [12], "LSR": ["0"], "Q": [22],
                                           **(other_conn or {})}},
        "user_LUT4": {"type": "LUT4", "port_directions": {"A": "input", "B": "input",
                                                          "Z": "output"},
                      "parameters": {}, "connections": {"A": [20], "B": [12 if extra_load
                                                                          else 22], "Z": [30]}},
    }
    return {"ports": {"clk": {"direction": "input", "bits": [2]},
                      "out": {"direction": "output", "bits": [30]}}, "cells": cells}


def test_flip_flops_after_a_block_ram_become_its_output_register():
    module = _netlist()
    assert synth.absorb_output_registers(module) == 1
    ram = module["cells"]["ram"]
    assert set(module["cells"]) == {"ram", "user_LUT4"}
    # The read data now comes from the output register, on the nets the flip-flops drove.
    assert (ram["connections"]["DOA0"], ram["connections"]["DOB0"]) == ([20], [22])
    assert ram["connections"]["DOA1"] == [11]
    assert (ram["parameters"]["REGMODE_A"], ram["parameters"]["REGMODE_B"]) == ("OUTREG",
                                                                                "OUTREG")
    assert (ram["connections"]["OCEA"], ram["connections"]["OCEB"]) == (["1"], ["1"])


def test_flip_flops_with_one_enable_become_an_output_register_with_that_enable():
    both = {"CEMUX": "CE"}, {"CE": [5]}
    module = _netlist(flop_params=both[0], flop_conn=both[1], other_params=both[0],
                      other_conn=both[1])
    assert synth.absorb_output_registers(module) == 1
    ram = module["cells"]["ram"]
    assert set(module["cells"]) == {"ram", "user_LUT4"}
    assert (ram["connections"]["DOA0"], ram["connections"]["DOB0"]) == ([20], [22])
    assert (ram["connections"]["OCEA"], ram["connections"]["OCEB"]) == ([5], [5])
    assert (ram["parameters"]["REGMODE_A"], ram["parameters"]["REGMODE_B"]) == ("OUTREG",
                                                                                "OUTREG")


def test_a_block_ram_keeps_its_flip_flops_unless_all_of_them_qualify():
    for module in (_netlist(flop_params={"CEMUX": "CE"}, flop_conn={"CE": [5]}),  # one enabled
                   _netlist(flop_params={"CEMUX": "CE"}, flop_conn={"CE": [5]},  # two enables
                            other_params={"CEMUX": "CE"}, other_conn={"CE": [6]}),
                   _netlist(flop_params={"CEMUX": "INV"}, flop_conn={"CE": [5]},  # active low
                            other_params={"CEMUX": "INV"}, other_conn={"CE": [5]}),
                   _netlist(flop_conn={"LSR": [6]}),                # a reset
                   _netlist(flop_params={"CLKMUX": "INV"}),         # the other edge
                   _netlist(flop_conn={"CLK": [3]}),                # another clock
                   _netlist(extra_load=True),                       # the data goes elsewhere too
                   _netlist(ram_params={"REGMODE_B": "OUTREG"})):   # a register already
        before = json.loads(json.dumps(module))
        assert synth.absorb_output_registers(module) == 0
        assert module == before
