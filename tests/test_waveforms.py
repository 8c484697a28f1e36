"""Waveforms a person can read: state machines and enumerations by name and struct payloads by
field on the compiled backend (GTKWave translate filters and bit groups), named markers at the
scenario's milestones, a trace window, FST, and a save file that still opens once moved.

GTKWave itself reads the files back where it is installed (with xvfb-run for its window); CI
installs both."""

import os
import shutil
import subprocess
import sys

import pytest

from sim.trace import Trace, trim_vcd, write_gtkw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GTKWAVE = shutil.which("gtkwave") and shutil.which("xvfb-run")
needs_gtkwave = pytest.mark.skipif(not GTKWAVE, reason="gtkwave and xvfb-run are not installed "
                                                       "(Debian: apt-get install gtkwave xvfb)")

# Prints each trace's name and value at a point of time, then quits.
PROBE = """
gtkwave::setMarker {at}
set n [gtkwave::getTotalNumTraces]
for {{set i 0}} {{$i < $n}} {{incr i}} {{
    puts "TRACE [gtkwave::getTraceNameFromIndex $i]=[gtkwave::getTraceValueAtMarkerFromIndex $i]"
}}
gtkwave::/File/Quit
"""


def sim(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})


def gtkwave_values(save_file, at_ns, tmp_path):
    script = tmp_path / "probe.tcl"
    script.write_text(PROBE.format(at=at_ns))
    out = subprocess.run(["xvfb-run", "-a", "gtkwave", "-S", str(script), str(save_file)],
                         capture_output=True, text=True, timeout=300).stdout
    values = []
    for line in out.splitlines():
        if line.startswith("TRACE "):
            name, _, value = line[6:].partition("=")
            values.append((name, value))
    return values


def test_the_save_file_names_markers_filters_and_fields(tmp_path):
    groups = {"Bus": [Trace("top.state", "state", 2, names={0: "IDLE", 1: "BUSY"}),
                      Trace("top.req", "req_addr", 8, field=(4, 4)),
                      Trace("top.req", "req_kind", 8, field=(0, 1), names={0: "MEM", 1: "IO"}),
                      Trace("top.req", "req_write", 8, field=(1, 1))]}
    path = tmp_path / "w.gtkw"
    write_gtkw(str(path), str(tmp_path / "w.vcd"), 100_000, groups,
               markers={"first ARP": 5_000, "probe": 8, "late": 200_000}, focus="first ARP",
               window=(0, 100_000))
    text = path.read_text()
    assert f'[dumpfile] "{tmp_path}/w.vcd"' in text and f'[savefile] "{path}"' in text
    assert "[size] 1600 900" in text and "[timestart] 1000" in text
    assert "[markername] Aprobe\n[markername] Bfirst ARP\n" in text and "late" not in text
    filters = sorted((tmp_path / "w.filters").iterdir())
    assert [f.read_text() for f in filters] == ["0 IDLE\n1 BUSY\n", "0 MEM\n1 IO\n"]
    assert f"^1 {filters[0]}\n+{{state}} top.state[1:0]\n" in text
    # Bits counted from the top: bit 7 is "(0)".
    assert "#{req_addr} (0)top.req[7:0] (1)top.req[7:0] (2)top.req[7:0] (3)top.req[7:0]\n" in text
    assert f"^2 {filters[1]}\n#{{req_kind}} (7)top.req[7:0]\n" in text
    assert "+{req_write} (6)top.req[7:0]\n" in text


def test_a_trace_window_keeps_the_values_at_its_start(tmp_path):
    path = tmp_path / "w.vcd"
    path.write_text("$timescale 1 ns $end\n$var wire 1 ! a $end\n$var wire 4 \" b $end\n"
                    "$enddefinitions $end\n#0\n$dumpvars\n0!\nb0 \"\n$end\n#8\n1!\n#16\nb101 \"\n"
                    "#24\n0!\n#40\nb1 \"\n")
    trim_vcd(str(path), 20, 30)
    assert path.read_text().split("$enddefinitions $end\n")[1] == \
        "#20\n$dumpvars\n1!\nb101 \"\n$end\n#24\n0!\n"


def test_bad_waveform_options_are_one_line_errors(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sim", "--fst", "-c", "help"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PATH": ""})
    assert result.returncode == 2
    assert result.stderr.strip() == \
        "error: --fst needs GTKWave's vcd2fst (Debian: apt-get install gtkwave)"
    result = sim("--trace-start", "2us", "--trace-end", "1us", "-c", "help")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --trace-end must come after --trace-start"
    result = sim("--trace-start", "soon", "-c", "help")
    assert result.returncode == 2 and "'soon' is not a time" in result.stderr


@needs_gtkwave
def test_gtkwave_shows_states_and_fields_of_the_compiled_model_after_a_move(tmp_path):
    made = tmp_path / "made"
    result = sim("--vcd", str(made / "w.vcd"), "--trace-start", "300us", "--fst")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in made.iterdir()) == ["w.filters", "w.fst", "w.gtkw"]
    moved = tmp_path / "copied" / "elsewhere"
    shutil.copytree(made, moved)
    shutil.rmtree(made)
    # 330 us: the driver's first echo requests are on their way.
    values = dict(gtkwave_values(moved / "w.gtkw", 330_000, tmp_path))
    assert values["req_space"] == "MEM"
    assert values["microwire"] == "IDLE"
    assert values["fetch"] in ("DESCRIPTOR", "TAKE", "READ", "CUT", "DONE")
    assert values["writeback"] in ("IDLE", "COMMAND", "DATA", "WAIT", "RETIRE")
    assert len(values["req_addr"]) == 5 and len(values["req_be"]) == 1
    assert values["rd_cmd_len"] != ""


def test_every_signal_the_blocks_declare_is_in_the_compiled_waveforms(tmp_path):
    """Each block names what it shows (``waveforms()``); none of it may be missing from the
    compiled model, where a signal optimised away would silently drop out of the view."""
    from sim.machine import Machine, default_traces
    from sim.trace import flatten
    machine = Machine(console=lambda line: None, backend="cxxrtl")
    gtkw = tmp_path / "w.gtkw"
    machine.run_script(["help"], vcd=str(tmp_path / "w.vcd"), gtkw=str(gtkw))
    declared = {group: [name.lstrip(".") for name, _, _ in flatten("", items)]
                for group, items in default_traces(machine.bench).items()}
    shown, group = {}, None
    for line in gtkw.read_text().splitlines():
        if line.startswith("-") and line[1:] in declared:
            group = line[1:] if group != line[1:] else None      # a group opens, then closes
        elif line[:2] in ("+{", "#{"):
            shown.setdefault(group, []).append(line[2:line.index("}")])
    assert shown == declared
    assert {"state", "microwire", "writeback", "fetch", "segmenter", "master", "phy"} <= \
        {name for names in shown.values() for name in names}
