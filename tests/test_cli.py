"""Bad input on the command line and at the guest's prompt: a one-line error a person can act
on and a non-zero exit, never a traceback."""

import json
import os
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sim(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["--vcd", ""], "error: --vcd needs a file name"),
    (["--pcap", "/"], "error: --pcap: / is a folder, not a file"),
    (["--gtkw", "/"], "error: --gtkw: / is a folder, not a file"),
    (["--pcap", "/proc/no-such-folder/wire.pcap"],
     "error: --pcap: cannot make the folder /proc/no-such-folder: No such file or directory"),
    (["--script", "/no-such-script"], "error: cannot read the script:"),
    (["--mac", "zz"], "error: argument --mac: 'zz' is not a MAC address"),
    (["tap", "--pcap", "/"], "error: "),
    (["qemu", "--pcap", "/"], "error: --pcap: / is a folder, not a file"),
    (["qemu", "--vcd", ""], "error: --vcd needs a file name"),
    (["qemu", "--trace-start", "5ms", "--trace-end", "1ms", "--vcd", "x.vcd"],
     "error: --trace-end must come after --trace-start"),
    (["--json", "/"], "error: --json: / is a folder, not a file"),
    # Not writable even by root (as a build/ owned by root is not for anyone else).
    (["--vcd", "/sys/e1000.vcd"], "error: --vcd: cannot write /sys/e1000.vcd: Permission denied"),
    (["--pcap", "/proc/e1000.pcapng"],
     "error: --pcap: cannot write /proc/e1000.pcapng: No such file or directory"),
    (["--vcd", "LICENSE/sim.vcd"],
     "error: --vcd: cannot make the folder LICENSE: File exists"),
    (["--trace-start", "-5"], "error: argument --trace-start: '-5' is not a time"),
    (["--autoneg-us", "0"], "error: argument --autoneg-us: '0' must be positive"),
    (["--backend", "verilator"], "error: argument --backend: invalid choice: 'verilator'"),
])
def test_bad_options_are_one_line_errors(args, message):
    result = sim(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_bad_ping_arguments_are_refused_with_what_is_wrong():
    commands = {
        "ping -c 0 10.0.2.2": "ping: invalid number '0' for -c: it takes a count of at least 1",
        "ping -s 70000 10.0.2.2": "ping: invalid number '70000' for -s",
        "ping -s -1 10.0.2.2": "ping: invalid number '-1' for -s",
        "ping -i -1 10.0.2.2": "ping: invalid number '-1' for -i",
        "ping -W 0 10.0.2.2": "ping: invalid number '0' for -W",
        "ping -c x 10.0.2.2": "ping: invalid number 'x' for -c",
        "ping example.com": "ping: bad address 'example.com'",
        "ping -x 10.0.2.2": "ping: unrecognized option '-x'",
        "ping -c": "ping: option requires an argument -- 'c'",
        "ping": "Usage: ping",
    }
    args = ["--no-vcd", "--pcap", os.devnull]
    for line in commands:
        args += ["-c", line]
    result = sim(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    out = result.stdout.splitlines()
    for line, message in commands.items():
        after = out[out.index(f"/ # {line}") + 1]
        assert after.startswith(message), (line, after)


def test_make_help_lists_every_documented_target():
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(ROOT, "Makefile")) as f:
        documented = [line[3:].split(":")[0] for line in f if line.startswith("## ")]
    assert {"sim", "test", "qemu", "synth", "help"} <= set(documented)
    for target in documented:
        assert f"  make {target} " in result.stdout, target
    assert "SIMARGS=" in result.stdout


def test_the_console_script_runs_the_same_command_line():
    script = os.path.join(os.path.dirname(sys.executable), "e1000-sim")
    if not os.path.exists(script):
        pytest.skip("e1000-sim is installed by 'pip install -e .' (make does it in .venv)")
    result = subprocess.run([script, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "--backend" in result.stdout
    result = subprocess.run([script, "--pcap", "/"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "error: --pcap: / is a folder" in result.stderr


def test_synthesis_seed_is_checked_before_anything_runs():
    result = subprocess.run([sys.executable, "-m", "hw.synth", "--seed", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == \
        "python -m hw.synth: error: --seed must be 1 or more"
    assert "Traceback" not in result.stderr


def test_synthesis_seeds_are_whole_numbers_each_named_once():
    for seeds, error in (("1,x", "--seed takes whole numbers separated by commas, not '1,x'"),
                         ("2,2", "--seed names a seed twice"), ("1,0", "--seed must be 1 or more")):
        result = subprocess.run([sys.executable, "-m", "hw.synth", "--seed", seeds], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1] == f"python -m hw.synth: error: {error}"


def test_ctrl_c_stops_the_running_command_and_the_shell_goes_on(tmp_path):
    """As in a shell: SIGINT ends a ping with its statistics (status 130 is the command's), the
    next line runs, and end of input ends the run with the last command's status."""
    commands = ["insmod e1000", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0",
                "ping -c 100000 -i 0.001 10.0.2.2", "ping -c 1 10.0.2.2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "-i", "--no-vcd", "--json", str(tmp_path / "run.json"),
         "--pcap", str(tmp_path / "run.pcapng")], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    process.stdin.write("\n".join(commands) + "\n")
    process.stdin.close()
    process.stdin = None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "seq=2 " in line:
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "interrupted" not in err
    summary = json.loads((tmp_path / "run.json").read_text())
    ping, after = summary["commands"][3:]
    assert ping["status"] == 0          # replies came: busybox's status after Ctrl-C
    sent = int(ping["output"][-2].split()[0])
    assert 3 <= sent < 100 and ping["output"][-3] == "--- 10.0.2.2 ping statistics ---"
    assert after["command"] == "ping -c 1 10.0.2.2" and after["status"] == 0
    assert "1 packets transmitted, 1 packets received" in after["output"][-2]


def test_help_lists_every_command_the_shell_has():
    result = sim("--no-vcd", "--pcap", os.devnull, "-c", "help")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()[2:] if line.startswith("  ")}
    from driver.shell import Shell
    assert listed >= {name[4:] for name in dir(Shell) if name.startswith("cmd_")}


def test_commands_write_their_own_files_and_no_vcd_leaves_no_stale_waveforms(tmp_path):
    """-c runs write build/run.*, leaving the main scenario's build/sim.*; --no-vcd removes the
    run's old waveforms, which would not match its new capture."""
    main_files = tmp_path / "build" / "sim.vcd", tmp_path / "build" / "sim.pcapng"
    (tmp_path / "build").mkdir()
    for path in main_files:
        path.write_text("the main scenario's")
    env = {**os.environ, "PYTHONPATH": ROOT}
    run = lambda *args: subprocess.run([sys.executable, "-m", "sim", "-c", "help", *args],
                                       cwd=tmp_path, env=env, capture_output=True, text=True,
                                       timeout=300)
    assert run().returncode == 0
    assert {p.name for p in (tmp_path / "build").iterdir()} == \
        {"sim.vcd", "sim.pcapng", "run.vcd", "run.gtkw", "run.filters", "run.pcapng"}
    assert all(path.read_text() == "the main scenario's" for path in main_files)
    result = run("--no-vcd")
    assert result.returncode == 0 and "waveforms" not in result.stderr
    assert {p.name for p in (tmp_path / "build").iterdir()} == {"sim.vcd", "sim.pcapng",
                                                                 "run.pcapng"}


def test_tab_completion_offers_commands_their_words_and_the_devices():
    from sim.machine import Machine
    machine = Machine(console=lambda line: None, backend="cxxrtl")
    assert machine.run_script(["insmod e1000"]) == 0
    complete = machine.world.shell.completions
    assert complete([], "e") == ["ethtool", "exit"]
    assert complete(["ip"], "") == ["link", "addr", "route", "-s"]
    assert complete(["ip", "link", "set"], "") == ["eth0"]
    assert complete(["ip", "link", "set", "eth0"], "m") == ["mtu"]
    assert complete(["ethtool", "-K", "eth0"], "t") == ["tx", "tso", "txvlan"]
    assert complete(["ethtool", "-K", "eth0", "tso"], "o") == ["on", "off"]
    assert complete(["ping"], "x") == []


def test_an_unwritable_benchmark_summary_is_refused_before_the_run():
    result = subprocess.run([sys.executable, "-m", "sim.benchmark", "--json", "/"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == \
        "python -m sim.benchmark: error: --json: / is a folder, not a file"
    assert "bursts" not in result.stdout
