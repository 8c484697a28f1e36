"""The exported Verilog under Icarus Verilog and Verilator, cycle for cycle against Amaranth."""

import shutil

import pytest

from hw.regmap import reg
from sim.crosssim import undefined, compare, export, record, run_simulator


@pytest.fixture(scope="module")
def recording():
    return record()


@pytest.fixture(scope="module")
def verilog():
    return export()


def test_the_recorded_test_moves_registers_frames_and_memory(recording):
    table, rows, registers = recording
    status, ral3, mta5, ims, icr, tdh, rdh, gptc, gprc, gotcl, gorcl, tpr = registers
    assert (ral3, mta5, ims) == (0x1234_5678, 0xFFFF_0000, reg.ICR.TXDW.mask | reg.ICR.RXT0.mask)
    assert icr & reg.ICR.TXDW.mask and icr & reg.ICR.RXT0.mask
    assert (tdh, rdh, gptc, gprc, gotcl, gorcl, tpr) == (1, 1, 1, 1, 68, 104, 1)
    names = [n for n, _, i in table if not i]
    widths = [len(s) for _, s, i in table if not i]

    def port(row, name):
        shift = sum(widths[names.index(name) + 1:])
        return (row >> shift) & ((1 << widths[names.index(name)]) - 1)

    outputs = [o for _, o in rows]
    # 76 bytes on GMII (preamble and delimiter, the 64-byte frame, FCS) and DMA writes of
    # descriptors and data.
    assert sum(port(o, "gmii__tx_en") for o in outputs) == 8 + 64 + 4
    assert sum(port(o, "dma__wr_cmd__valid") for o in outputs) >= 2


@pytest.mark.parametrize("simulator,tool", [("icarus", "iverilog"), ("icarus-2012", "iverilog"),
                                            ("verilator", "verilator")])
def test_every_cycle_matches(recording, verilog, simulator, tool, tmp_path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it as root)")
    table, rows, _ = recording
    during_reset, lines = run_simulator(simulator, verilog, table, rows, str(tmp_path))
    # Every output defined from the first cycle of a reset whose inputs are all unknown, then
    # every output of every cycle equal to the Amaranth simulator's.
    assert undefined(table, during_reset, simulator) is None
    assert compare(table, rows, lines, simulator) is None


def test_a_difference_is_reported_with_its_cycle_and_port(recording):
    table, rows, _ = recording
    width = sum(len(s) for _, s, i in table if not i)
    lines = [f"{o:0{(width + 3) // 4}x}" for _, o in rows]
    assert compare(table, rows, lines, "test") is None
    lines[99] = f"{rows[99][1] ^ 1:0{(width + 3) // 4}x}"         # irq is the last port
    assert compare(table, rows, lines, "test") == \
        f"cycle 100: the Amaranth simulator and test differ: irq = {rows[99][1] & 1:#x} vs " \
        f"{(rows[99][1] & 1) ^ 1:#x}"
