"""Both simulators run the same bench: identical cycles, frames, host memory and registers."""

import hashlib
import re

import pytest

from hw.desc import TXD_CMD
from hw.regmap import reg
from sim import backends
from sim.__main__ import MAIN_SCENARIO
from sim.bench import Bench
from sim.cxxrtl import CompilerMissing
from sim.ethernet import to_wire
from sim.machine import Machine
from sim.pysim import AmaranthBackend

from harness import COMPILED, TX_BUFFERS, nic_run
from test_tx import expected_wire, frames

EOP, IFCS, RS = TXD_CMD.EOP, TXD_CMD.IFCS, TXD_CMD.RS


def datapath(backend_name):
    """Frames through TX and RX with descriptor DMA, then registers and memory."""
    arp, ping, big = frames()

    def to_us(frame):                 # the same frame coming back: addresses swapped
        return frame[6:12] + frame[0:6] + frame[12:]

    async def tb(backend, regs, rings):
        await rings.tx_setup()
        await rings.rx_setup()
        for i, frame in enumerate((arp, ping, big)):
            backend.mem_write(TX_BUFFERS + i * 2048 + i, frame)
            rings.tx_desc(i, TX_BUFFERS + i * 2048 + i, len(frame), EOP | IFCS | RS)
        await regs.write(reg.TDT, 3)
        backend.send(to_wire(to_us(ping)))
        backend.send(to_wire(to_us(big)), not_before=backend.now + 500)
        await rings.settle(4000)
        registers = {r.name: await regs.read(r) for r in (
            reg.STATUS, reg.ICR, reg.TDH, reg.RDH, reg.GPRC, reg.GPTC, reg.GORCL, reg.GOTCL,
            reg.TPR, reg.TPT, reg.PRC127, reg.PRC1522)}
        memory = backend.mem_read(TX_BUFFERS - 0x2000, 0x40000 + 0x1000)
        return (backend.now, registers, hashlib.sha256(memory).hexdigest(),
                [(d, start, f.raw, f.end) for d, start, f in backend.wire_log])

    return nic_run(tb, backend=backend_name)


def test_datapath_is_identical_on_both_backends():
    amaranth, compiled = datapath("amaranth"), datapath(COMPILED)
    assert compiled == amaranth
    cycles, registers, _, wire = compiled
    arp, ping, big = frames()
    assert [raw for d, _, raw, _ in wire if d == "tx"] == [expected_wire(f) for f in (arp, ping, big)]
    assert registers["GPRC"] == 2 and registers["GPTC"] == 3 and registers["RDH"] == 2
    assert registers["ICR"] & reg.ICR.RXT0.mask


@pytest.fixture(scope="module")
def scenarios():
    results = {}
    for name in ("amaranth", COMPILED):
        lines = []
        machine = Machine(console=lines.append, backend=name)

        async def scenario(world):
            status = await world.shell.script(MAIN_SCENARIO)
            backend = world.backend
            memory = backend.mem_read(backend.bench.hostmem.base, backend.bench.hostmem.size)
            return status, hashlib.sha256(memory).hexdigest()

        status, memory = machine.run(scenario)
        results[name] = dict(status=status, lines=lines, memory=memory,
                             cycles=machine.backend.cycles_run, wire=machine.wire_frames(),
                             mmio=(machine.backend.mmio_reads, machine.backend.mmio_writes))
    return results


def test_reference_scenario_is_identical_on_both_backends(scenarios):
    amaranth, compiled = scenarios["amaranth"], scenarios[COMPILED]
    assert compiled["status"] == amaranth["status"] == 0
    # The console carries simulated time stamps and round-trip times: equal to the nanosecond.
    assert compiled["lines"] == amaranth["lines"]
    assert compiled["cycles"] == amaranth["cycles"]
    assert compiled["wire"] == amaranth["wire"]
    assert compiled["memory"] == amaranth["memory"]
    assert compiled["mmio"] == amaranth["mmio"]
    assert sum("bytes from" in line for line in compiled["lines"]) == 12
    assert len(compiled["wire"]) == 26


def test_host_memory_is_a_shared_numpy_view():
    async def tb(backend, regs, rings):
        view = backend.host_memory()
        view[0x3000:0x3004] = [1, 2, 3, 4]                     # seen by the model at once
        seen = backend.mem_read(0x0010_3000, 4)
        backend.mem_write(0x0010_3008, b"\xaa\xbb")
        return seen, bytes(view[0x3008:0x300a]), view.size, view.base is not None

    assert nic_run(tb, backend=COMPILED) == (b"\x01\x02\x03\x04", b"\xaa\xbb", 1 << 20, True)


def test_compiled_backend_sends_and_receives_thousands_of_frames():
    from sim.benchmark import _burst
    count = 3000
    rate_tx, cycles_tx, _, name, _ = _burst(COMPILED, "tx", 64, count)
    rate_rx, cycles_rx, _, _, latencies = _burst(COMPILED, "rx", 64, count)
    assert name == "cxxrtl"
    # 84 bytes a frame on the wire (preamble and gap included): back to back at 1 Gb/s.
    assert rate_tx == pytest.approx(1_488_095, rel=1e-4)
    assert rate_rx == pytest.approx(1_488_095, rel=2e-3)
    assert cycles_tx > count * 84 and cycles_rx > count * 84
    # Every frame delivered; the receive DMA moves a byte a cycle, so a 64-byte frame's
    # descriptor is done about a frame's time after its last byte (seen in steps of 32 cycles).
    assert len(latencies) == count
    assert 64 <= min(latencies) and max(latencies) <= 160


def test_no_compiler_falls_back_with_a_message(monkeypatch, tmp_path):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))         # no c++, g++ or clang++ on it
    notes = []
    bench = Bench()
    backend = backends.create(bench, "auto", log=notes.append)
    assert isinstance(backend, AmaranthBackend)
    assert len(notes) == 1 and "needs a C++ compiler" in notes[0] and "Amaranth" in notes[0]
    with pytest.raises(CompilerMissing, match="apt install g\\+\\+"):
        backends.create(bench, "cxxrtl")
    with pytest.raises(ValueError, match="unknown backend"):
        backends.create(bench, "verilator")


def test_a_cxx_that_is_not_there_is_named(monkeypatch):
    from sim.cxxrtl import compiler
    monkeypatch.setenv("CXX", "/no/such/c++")
    with pytest.raises(CompilerMissing, match="^CXX=/no/such/c\\+\\+ is not a compiler that can "
                                              "be run$"):
        compiler()


def test_compiled_waveforms_keep_the_groups(tmp_path):
    vcd, gtkw = tmp_path / "sim.vcd", tmp_path / "sim.gtkw"
    machine = Machine(console=lambda line: None, backend=COMPILED)
    machine.run_script(["insmod e1000", "ip link set eth0 up"], vcd=str(vcd), gtkw=str(gtkw))
    text, save = vcd.read_text(), gtkw.read_text()
    assert text.startswith("$timescale 1 ns $end")
    for group in ("MMIO bus", "Register file", "Interrupts", "TX DMA", "RX MAC", "MDIO and PHY"):
        assert f"-{group}" in save
    # Every trace the save file names is in the VCD, under the model's hierarchy.
    for name in re.findall(r"^\+\{[^}]*\} (\S+?)(?:\[\d+:0\])?$", save, re.M):
        leaf = name.split(".")[-1]
        assert re.search(rf"\$var \w+ \d+ \S+ {re.escape(leaf)} \$end", text), name
    assert re.search(r"^#\d+$", text, re.M)
    curated = text.count("$var ")
    # Every signal of the design (memories aside) with trace_all, the same groups in the view.
    machine = Machine(console=lambda line: None, backend=COMPILED)
    machine.run_script(["insmod e1000"], vcd=str(vcd), gtkw=str(gtkw), trace_all=True)
    assert vcd.read_text().count("$var ") > 10 * curated
    assert "-MMIO bus" in gtkw.read_text()


def test_cross_simulation_scenario_is_identical_on_both_backends():
    # Frames end and the interrupt line rises at the same edges here, which the Amaranth
    # simulator reports as two events in one time step.
    from hw.core import E1000
    from sim.crosssim import _scenario
    from sim.phy import PHYModel
    results = []
    for name in ("amaranth", COMPILED):
        bench = Bench(core=E1000(mdc_half_period=4), phy=PHYModel(autoneg_cycles=200))
        backend = backends.create(bench, name, mmio_read_latency=16, mmio_write_latency=4)
        registers = backend.run(_scenario)
        results.append((registers, backend.cycles_run,
                        [(d, start, f.raw) for d, start, f in backend.wire_log]))
    assert results[0] == results[1]
    assert len(results[0][2]) == 2


def test_memory_writes_in_the_compiled_model_are_filtered():
    from sim.cxxrtl_build import _filter_writes
    line = ("\t\tmemory_p_q.update(tmp_5.index, value<64>{0u,0u}.concat(p_a.slice<7,0>()).val(), "
            "and_uu<1>(p_b, p_c), 0);")
    assert _filter_writes(line) == (
        "\t\tcxxrtl_write_if_enabled(memory_p_q, tmp_5.index, [&]() { return "
        "value<64>{0u,0u}.concat(p_a.slice<7,0>()).val(); }, and_uu<1>(p_b, p_c), 0);")
    # A write it cannot take apart stays as CXXRTL wrote it: correct, only slower.
    odd = "\tmemory_p_q.update(tmp_5.index, f(p_a, 0);"
    assert _filter_writes(odd) == odd


def test_plain_commit_of_the_compiled_model():
    from sim.cxxrtl_build import _add_plain_commit
    generated = ("struct p_bench {\n"
                 "\ttemplate<class ObserverT>\n"
                 "\tbool commit(ObserverT &observer) {\n"
                 "\t\tbool changed = false;\n"
                 "\t\tif (p_a.commit(observer)) changed = true;\n"
                 "\t\tif (memory_p_m.commit(observer)) changed = true;\n"
                 "\t\tprev_p_clk = p_clk;\n"
                 "\t\treturn changed;\n"
                 "\t}\n"
                 "\n"
                 "\tbool commit() override {\n")
    assert _add_plain_commit(generated) == generated.replace("\n\tbool commit() override", (
        "\tvoid commit_plain() {\n"
        "\t\tobserver observer;\n"
        "\t\tp_a.curr = p_a.next;\n"
        "\t\tmemory_p_m.commit(observer);\n"
        "\t\tprev_p_clk = p_clk;\n"
        "\t}\n"
        "\n"
        "\n\tbool commit() override"))
    # Anything it does not know in CXXRTL's commit: the plain commit is the ordinary one.
    unknown = generated.replace("\t\tprev_p_clk = p_clk;\n", "\t\tsomething(else);\n")
    assert "\tvoid commit_plain() {\n\t\tcommit();\n\t}\n" in _add_plain_commit(unknown)


def test_a_truncated_cached_model_is_not_used(tmp_path):
    """A library cut short (a build killed while copying, a full disk) does not load: the
    cache treats it as missing, so the model is built again instead of failing to start."""
    from sim.cxxrtl_build import _usable
    library = tmp_path / "model.so"
    assert not _usable(library)
    library.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(40))
    assert not _usable(library)


def test_amaranths_private_api_is_reached_only_through_one_module():
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parent.parent
    private = re.compile(r"\bamaranth(\.\w+)*\._\w+|from amaranth(\.\w+)* import _\w+")
    users = sorted(str(path.relative_to(root)) for folder in ("hw", "sim", "driver", "tests")
                   for path in (root / folder).glob("*.py")
                   if private.search(path.read_text()) and path.name != "test_backends.py")
    assert users == ["sim/amaranth_private.py"]
