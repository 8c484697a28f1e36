"""Pictures of the benchmarks and of the synthesis report, drawn with matplotlib.

``draw_bench`` draws three PNGs beside ``bench.json``: throughput against frame size in both
directions with the 1 Gb/s line rate, the simulators' speed, and the receive latency
distribution. matplotlib is an optional dependency (``pip install -e '.[plot]'``); without it
``PlotsUnavailable`` says so.
"""

import os


__all__ = ["PlotsUnavailable", "draw_bench"]


class PlotsUnavailable(Exception):
    """matplotlib is not installed."""


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable("matplotlib is not installed (pip install -e '.[plot]')") from None
    matplotlib.use("Agg")           # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def _line_mbps(size):
    """Frame data (destination to FCS) a 1 Gb/s wire carries, with preamble and gap around."""
    return 1000 * size / (size + 20)


def draw_bench(results, latencies, folder):
    """Draw ``results`` (``bench.json``'s contents) and ``latencies`` ({frame size: receive
    latencies in ns}) into ``folder``; returns the paths written."""
    plt = _pyplot()
    paths = []
    machine = results.get("machine", "")

    fig, ax = plt.subplots(figsize=(6.4, 4))
    sizes = range(64, 1519, 2)
    ax.plot(sizes, [_line_mbps(s) for s in sizes], color="0.6", linestyle="--",
            label="1 Gb/s line rate")
    for direction, style in (("tx", dict(marker="o", markersize=9)),
                             ("rx", dict(marker="s", markersize=6, markerfacecolor="none"))):
        measured = sorted((int(size), pct) for size, pct in results.get(direction, {}).items())
        ax.plot([s for s, _ in measured], [pct / 100 * _line_mbps(s) for s, pct in measured],
                linestyle="none", markeredgewidth=1.5, **style,
                label={"tx": "transmit", "rx": "receive"}[direction])
    ax.set_xlabel("frame size (bytes, destination to FCS)")
    ax.set_ylabel("frame data (Mb/s, simulated time)")
    ax.set_ylim(0, 1050)
    ax.set_title("Throughput of the simulated 82540EM")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    paths.append(_save(plt, fig, folder, "bench-throughput.png"))

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    speeds = results.get("sim_cycles_per_s", {})
    names = {"cxxrtl": "compiled (CXXRTL)", "amaranth": "Amaranth simulator"}
    labels = [names.get(n, n) for n in speeds]
    bars = ax.barh(labels, list(speeds.values()), color=["tab:blue", "tab:orange"][:len(speeds)])
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in speeds.values()], padding=3)
    ax.set_xscale("log")
    ax.set_xlabel("cycles per second of wall time (reference scenario, log scale)")
    ax.set_title(f"Simulator speed ({machine})" if machine else "Simulator speed")
    ax.set_xlim(min(speeds.values(), default=10) / 3, max(speeds.values(), default=10) * 20)
    paths.append(_save(plt, fig, folder, "bench-speed.png"))

    if latencies:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for size, values in sorted(latencies.items()):
            ordered = sorted(values)
            share = [(i + 1) / len(ordered) for i in range(len(ordered))]
            ax.step(ordered, share, where="post", label=f"{size}-byte frames")
        ax.set_xlabel("last byte on the wire to descriptor seen done (ns, simulated)")
        ax.set_ylabel("share of frames")
        ax.set_title("Receive latency at line rate (bursts, DD polled every 256 ns)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        paths.append(_save(plt, fig, folder, "bench-latency.png"))
    return paths


def _save(plt, fig, folder, name):
    path = os.path.join(folder, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
