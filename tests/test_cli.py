"""Bad input on the command line and at the guest's prompt: a one-line error a person can act
on and a non-zero exit, never a traceback."""

import os
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
