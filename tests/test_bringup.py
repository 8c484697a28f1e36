"""The bring-up scenario end to end: module load, probe, link up, link changes, removal."""

import os
import re
import subprocess
import sys

from hw.regmap import reg
from sim.bench import CLOCK_HZ
from sim.machine import Machine

from harness import COMPILED
from transcripts import BRING_UP, PROBE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = PROBE + [
    r"/ # ip link show eth0",
    r"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP qlen 1000",
    r"    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
]


def stamp_us(line):
    return float(re.match(r"\[\s*(\d+\.\d+)\]", line).group(1)) * 1e6


def check_transcript(lines):
    assert len(lines) == len(EXPECTED), "\n".join(lines)
    for line, pattern in zip(lines, EXPECTED):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"


def test_bring_up_to_link():
    lines = []
    machine = Machine(console=lines.append, autoneg_us=20.0, backend=COMPILED)
    assert machine.run_script(BRING_UP) == 0
    check_transcript(lines)
    # The link comes up no sooner than autonegotiation allows after the restart in probe. The
    # restart reached the PHY before probe logged it, by at most one MDIC poll (5 us), and the
    # stamps are whole microseconds.
    restarted, up = stamp_us(lines[3]), stamp_us(lines[7])
    assert up - restarted >= 20.0 - 5 - 1
    # Nothing slept: bring-up takes well under a millisecond of simulated time.
    assert machine.backend.cycles_run / CLOCK_HZ < 1e-3


def test_bring_up_with_microwire_eeprom():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    assert machine.run_script(["insmod e1000 eeprom=microwire", "ip link set eth0 up"]) == 0
    assert any(l.endswith("eth0: (PCI:33MHz:32-bit) 52:54:00:12:34:56") for l in lines)
    assert lines[-1].endswith("NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX")


def test_cable_pull_stop_and_remove():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        kernel, backend = world.kernel, world.backend
        await world.shell.script(["insmod e1000", "ip link set eth0 up"])
        netdev = kernel.netdevs["eth0"]
        backend.set_cable(0)
        assert await kernel.wait_event_timeout(lambda: not netdev.carrier, 100)
        backend.set_cable(1)
        assert await kernel.wait_event_timeout(lambda: netdev.carrier, 100)
        adapter = world.adapter()
        interrupts = adapter.interrupts
        await world.shell.script(["ip link set eth0 down", "rmmod e1000"])
        hw = adapter.hw
        await world.devices[0].enable_device()          # to look at the registers
        state = {r.name: await hw.er32(r) for r in (reg.IMS, reg.RCTL, reg.TCTL, reg.ICR)}
        # Quiet: pulling the cable now raises a cause, but nothing is unmasked.
        backend.set_cable(0)
        await backend.cycles(50)
        state["irq"] = backend.irq
        state["bus master"] = backend.bus_master
        return interrupts, state, sorted(kernel.netdevs)

    interrupts, state, netdevs = machine.run(scenario)
    text = "\n".join(lines)
    assert text.count("e1000: eth0 NIC Link is Down") == 1
    assert text.count("e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex") == 2
    assert interrupts >= 3                      # link up, link down, link up
    assert state == {"IMS": 0, "RCTL": 0, "TCTL": 0, "ICR": 0, "irq": False,
                     "bus master": 0}
    assert netdevs == []


def test_shell_errors():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    status = machine.run_script(["insmod e1000 eeprom=spi"])
    assert status == 1
    assert "unknown parameter 'eeprom=spi'" in lines[-1]
    lines.clear()
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        results = []
        for line in ("frobnicate", "ip link set eth9 up", "rmmod e1000", "insmod e1001",
                     "ip neigh"):
            results.append(await world.shell.run(line))
        return results

    assert machine.run(scenario) == [127, 1, 1, 1, 1]
    assert "sh: frobnicate: not found" in lines
    assert "ip: can't find device 'eth9'" in lines


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=600)


def test_command_line_writes_grouped_waveforms(tmp_path):
    result = run_cli("--backend", "amaranth", "--vcd", str(tmp_path / "out" / "sim.vcd"),
                     *(a for c in BRING_UP for a in ("-c", c)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_transcript(result.stdout.splitlines())
    vcd = (tmp_path / "out" / "sim.vcd").read_text()
    gtkw = (tmp_path / "out" / "sim.gtkw").read_text()
    for scope in ("MMIO_bus", "Register_file", "Interrupts", "EEPROM", "MDIO_and_PHY"):
        assert f"$scope module {scope} $end" in vcd
        assert f"-{scope.replace('_', ' ')}" in gtkw
    # In full: GTKWave looks for a relative dump file from where it is started.
    assert f'[dumpfile] "{tmp_path / "out" / "sim.vcd"}"' in gtkw
    # State machines are recorded by name.
    assert re.search(r"^sREAD ", vcd, re.M) and re.search(r"^sPREAMBLE ", vcd, re.M)
    assert len(vcd) < 2_000_000


def test_command_line_help_and_bad_input(tmp_path):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0 and "--trace" in result.stdout and "--vcd" in result.stdout
    result = run_cli("--mac", "52:54:00", "--no-vcd", cwd=tmp_path)
    assert result.returncode == 2 and "is not a MAC address" in result.stderr
    result = run_cli("--script", str(tmp_path / "missing.txt"), "--no-vcd", cwd=tmp_path)
    assert result.returncode == 2 and "cannot read the script" in result.stderr
    result = run_cli("--bad-eeprom-checksum", "--backend", "amaranth", "--no-vcd", cwd=tmp_path)
    assert result.returncode == 1 and "The EEPROM Checksum Is Not Valid" in result.stdout
