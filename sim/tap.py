"""Real Linux at both ends of the simulated NIC, through TAP interfaces in network namespaces.

    python -m sim tap                         the reference commands with the kernel's ip and ping
    python -m sim tap -- COMMAND ...          any command in the guest namespace
    python -m sim tap --up --gateway 'ping -c 3 10.0.2.15'

Two namespaces are created for the run and deleted after it, whatever happens:

- the guest (``e1000-guest-PID``): its ``eth0`` is a TAP interface that stands for the Python
  driver's network device. Frames the kernel sends on it go through the driver's xmit, the
  descriptor DMA and the Amaranth MAC onto the simulated wire; frames the model receives and the
  driver hands up are written back to it. Its carrier follows the simulated link.
- the gateway (``e1000-gw-PID``): the far end of the simulated wire is its ``eth0``, a TAP with
  10.0.2.2/24 and QEMU's gateway MAC address, forwarding on, and 192.168.0.113 on a dummy
  interface beyond it (on the loopback where the kernel has no dummy interfaces). Here the kernel answers instead of the built-in gateway model.

A TAP frame has no FCS and may be shorter than 60 bytes: the MAC pads and appends the FCS on the
wire, and this bridge strips it on the way back (frames with a bad FCS are dropped and counted).

The guest's TAP is opened with a virtio-net header (IFF_VNET_HDR) and checksum offload and TCP
segmentation on (TUN_F_CSUM, TUN_F_TSO4), as a real e1000 offers its kernel: the kernel then
leaves TCP and UDP checksums to the device (CHECKSUM_PARTIAL) and hands it TCP super-packets of
up to 64 KiB (GSO), the header says where each checksum goes and the segment size, and the
Python driver hands them to the model's checksum insertion and segmentation through context
descriptors. The bridge counts those frames; the gateway's kernel drops any segment whose
checksum is wrong.
IPv6 is off in both namespaces. Nothing is configured outside them: every address and route is
added with ``ip -n NAMESPACE``, the TAPs are created from inside their namespace, and each
namespace is checked to exist, and to be the one entered, before anything runs in it.

The kernel's time-outs are real while the model runs in simulated time, about 250 times slower
than real time on the compiled backend; a round trip through the model costs tens of
milliseconds of wall time, well within ARP's and ping's time-outs. Needs root and /dev/net/tun.
"""

import argparse
import ctypes
import fcntl
import os
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time

from driver.netdev import SkBuff

from .bench import CLOCK_HZ
from .ethernet import received, to_wire
from .outputs import OutputError, add_backend_option, add_output_options, prepare


__all__ = ["main", "Namespace", "Tap", "TapBridge", "Topology", "StepRunner", "gateway_host",
           "requirements", "REFERENCE"]


# The reference scenario's commands, with the real tools.
REFERENCE = [
    "ip link set eth0 up",
    "ip addr add 10.0.2.15/255.255.255.0 dev eth0",
    "ping -c 4 10.0.2.2",
    "ping -c 1 192.168.0.113",
    "ip route add default via 10.0.2.2",
    "ping -c 4 192.168.0.113",
]

GATEWAY_MAC = "52:55:0a:00:02:02"
PREFIX = "e1000-"

_CLONE_NEWNET = 0x4000_0000
_TUNSETIFF = 0x4004_54CA
_TUNSETCARRIER = 0x4004_54E2
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_IFF_VNET_HDR = 0x4000
_TUNSETOFFLOAD = 0x4004_54D0
_TUN_F_CSUM = 0x01
_TUN_F_TSO4 = 0x02
# struct virtio_net_hdr, as TAP writes and reads it (little-endian on this machine's kernels):
# flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
_VNET_HDR = struct.Struct("<BBHHHH")
_VNET_NEEDS_CSUM = 0x01
_VNET_DATA_VALID = 0x02
_VNET_GSO_TCPV4 = 0x01
_VNET_GSO_ECN = 0x80


class TapError(Exception):
    """The namespaces or TAP interfaces could not be set up."""


def requirements(*, need_ping=False):
    """What is missing to run this mode, as a message, or None."""
    if os.geteuid() != 0:
        return ("this mode creates network namespaces and TAP interfaces, which needs root "
                "(run it with sudo, or as root in a container with CAP_NET_ADMIN)")
    if not os.path.exists("/dev/net/tun"):
        return "this mode needs TAP support: /dev/net/tun is missing (modprobe tun)"
    if shutil.which("ip") is None:
        return "this mode needs the ip command (Debian: apt-get install iproute2)"
    if need_ping and shutil.which("ping") is None:
        return "the reference commands need ping (Debian: apt-get install iputils-ping)"
    return None


def vlan_support():
    """Whether this kernel makes 802.1Q VLAN devices, as a message saying why not, or None.
    Some kernels (this project's CI machine's among them) are built without them."""
    problem = requirements()
    if problem:
        return problem
    probe = Namespace(f"{PREFIX}vlan-{os.getpid()}")
    try:
        probe.create()
        probe.ip("tuntap", "add", "dev", "probe0", "mode", "tap")
        probe.ip("link", "add", "link", "probe0", "name", "probe0.5", "type", "vlan", "id", "5")
    except TapError as e:
        reason = str(e).split(": ", 1)[-1]
        return f"this kernel makes no 802.1Q VLAN devices ({reason})"
    finally:
        probe.delete()
    return None


def _run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise TapError(f"{' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


class Namespace:
    """A network namespace this run created and deletes."""

    def __init__(self, name):
        self.name = name
        self.path = f"/run/netns/{name}"
        self.created = False

    def create(self):
        if os.path.exists(self.path):
            raise TapError(f"network namespace {self.name} exists already")
        _run(["ip", "netns", "add", self.name])
        self.created = True
        self.sysctl("net.ipv6.conf.all.disable_ipv6", 1)
        self.sysctl("net.ipv6.conf.default.disable_ipv6", 1)
        self.ip("link", "set", "lo", "up")

    def check(self):
        if not (self.created and os.path.exists(self.path)):
            raise TapError(f"network namespace {self.name} does not exist")

    def ip(self, *args):
        self.check()
        return _run(["ip", "-n", self.name, *args])

    def sysctl(self, key, value):
        self.check()
        _run(["ip", "netns", "exec", self.name, "sysctl", "-q", "-w", f"{key}={value}"])

    def command(self, command):
        """``command`` (a list, or a string for sh -c) as it runs in the namespace."""
        self.check()
        if isinstance(command, str):
            command = ["sh", "-c", command]
        return ["ip", "netns", "exec", self.name, *command]

    def enter(self):
        """Context manager: this thread in the namespace, back in the original one after."""
        return _Entered(self)

    def delete(self):
        if self.created and os.path.exists(self.path):
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        self.created = False


class _Entered:
    def __init__(self, namespace):
        self.namespace = namespace
        self.libc = ctypes.CDLL(None, use_errno=True)

    def _setns(self, fd):
        if self.libc.setns(fd, _CLONE_NEWNET) != 0:
            raise TapError(f"setns: {os.strerror(ctypes.get_errno())}")

    def __enter__(self):
        self.namespace.check()
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(self.namespace.path, os.O_RDONLY)
        try:
            self._setns(target)
            if os.stat("/proc/thread-self/ns/net").st_ino != os.fstat(target).st_ino:
                raise TapError(f"could not enter network namespace {self.namespace.name}")
        finally:
            os.close(target)
        return self

    def __exit__(self, *exc):
        self._setns(self.home)
        os.close(self.home)
        return False


class Tap:
    """A TAP interface created from inside ``namespace``; whole Ethernet frames, no FCS. With
    ``offload``, the kernel may leave a frame's TCP/UDP checksum to be done: ``read`` then gives
    an ``SkBuff`` that says where it goes."""

    def __init__(self, namespace, name, *, offload=False):
        self.namespace = namespace
        self.name = name
        self.offload = offload
        flags = _IFF_TAP | _IFF_NO_PI | (_IFF_VNET_HDR if offload else 0)
        with namespace.enter():
            self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            try:
                fcntl.ioctl(self.fd, _TUNSETIFF, struct.pack("16sH", name.encode(), flags))
                if offload:
                    fcntl.ioctl(self.fd, _TUNSETOFFLOAD, _TUN_F_CSUM | _TUN_F_TSO4)
            except OSError as e:
                os.close(self.fd)
                raise TapError(f"cannot create TAP {name} in {namespace.name}: {e}") from None
        self._carrier = None

    def read(self):
        """Frames waiting, without blocking: bytes, or ``SkBuff`` with ``offload``."""
        frames = []
        while True:
            try:
                frame = os.read(self.fd, 1 << 17)
            except BlockingIOError:
                return frames
            if not self.offload:
                frames.append(frame)
                continue
            flags, gso_type, _, gso_size, start, offset = _VNET_HDR.unpack_from(frame)
            skb = SkBuff(frame[_VNET_HDR.size:])
            if flags & _VNET_NEEDS_CSUM:
                skb.csum_start, skb.csum_offset = start, offset
            if gso_type & ~_VNET_GSO_ECN == _VNET_GSO_TCPV4:
                skb.gso_size = gso_size
            frames.append(skb)

    def write(self, frame, *, data_valid=False):
        """Write ``frame``; with ``data_valid``, the kernel is told its TCP/UDP checksum was
        checked already."""
        if self.offload:
            flags = _VNET_DATA_VALID if data_valid else 0
            frame = _VNET_HDR.pack(flags, 0, 0, 0, 0, 0) + frame
        os.write(self.fd, frame)

    def set_carrier(self, on):
        if on != self._carrier:
            fcntl.ioctl(self.fd, _TUNSETCARRIER, struct.pack("i", int(on)))
            self._carrier = on

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def gateway_host(namespace):
    """Make ``namespace`` (created) the gateway: a TAP ``eth0`` with 10.0.2.2/24 and QEMU's
    gateway MAC address, 192.168.0.113 beyond it, forwarding on. Returns the TAP and the
    interface 192.168.0.113 is on (a dummy, or the loopback where the kernel has no dummy)."""
    tap = Tap(namespace, "eth0")
    try:
        namespace.ip("link", "set", "eth0", "address", GATEWAY_MAC)
        namespace.ip("addr", "add", "10.0.2.2/24", "dev", "eth0")
        namespace.ip("link", "set", "eth0", "up")
        try:
            namespace.ip("link", "add", "dummy0", "type", "dummy")
            beyond = "dummy0"
            namespace.ip("link", "set", "dummy0", "up")
        except TapError:
            beyond = "lo"
        namespace.ip("addr", "add", "192.168.0.113/32", "dev", beyond)
        namespace.sysctl("net.ipv4.ip_forward", 1)
    except BaseException:
        tap.close()
        raise
    return tap, beyond


def _echo(frame):
    """(type, id, seq) of an ICMP echo in an Ethernet frame, or None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 1:
        return None
    ihl = (frame[14] & 0x0F) * 4
    icmp = frame[14 + ihl:]
    if len(icmp) < 8 or icmp[0] not in (0, 8):
        return None
    return icmp[0], icmp[4:6], icmp[6:8]


class TapBridge:
    """Moves frames between the two TAPs and the simulation, inside the scenario coroutine."""

    def __init__(self, world, guest_tap, gateway_tap):
        self.world = world
        self.backend = world.backend
        self.kernel = world.kernel
        self.netdev = world.adapter().netdev
        self.guest = guest_tap
        self.gateway = gateway_tap
        self.to_driver = []         # from the guest kernel, waiting for the driver's queue
        self.to_wire = []           # from the gateway kernel, waiting for the partner
        self.counts = dict(guest_out=0, guest_in=0, gateway_out=0, gateway_in=0, bad_fcs=0,
                           dropped_down=0, checksums=0, super_packets=0, verified=0, tagged=0)
        self.requests = {}          # (id, seq) -> simulated ns the guest's echo request left
        self.round_trips = []       # simulated ns of each echo round trip
        self._activity = 0
        self.netdev.rx_handler = self._from_driver
        self.backend.tx_listeners.append(self._from_wire)

    def _from_driver(self, netdev, skb):
        # A tag the device took out goes back into the frame: the guest kernel's VLAN devices
        # take it from there.
        skb.vlan_insert()
        frame = skb.data
        self.guest.write(frame, data_valid=skb.csum_unnecessary)
        self.counts["guest_in"] += 1
        self.counts["verified"] += skb.csum_unnecessary
        self._activity += 1
        echo = _echo(frame)
        if echo and echo[0] == 0 and echo[1:] in self.requests:
            self.round_trips.append(self.kernel.platform.now_ns() - self.requests.pop(echo[1:]))

    def _from_wire(self, wire_frame):
        frame = received(wire_frame)
        if frame is None:
            self.counts["bad_fcs"] += 1
            return
        self.gateway.write(frame)
        self.counts["gateway_in"] += 1
        self._activity += 1

    async def serve(self, running, slice_us=20):
        """Bridge until ``running()`` is false."""
        backend, netdev = self.backend, self.netdev
        while True:
            self.guest.set_carrier(netdev.carrier)
            self.gateway.set_carrier(netdev.carrier)
            if not running():
                break
            self.to_driver += self.guest.read()
            self.to_wire += self.gateway.read()
            before = self._activity
            # Through the device's queue discipline, which keeps what the driver refuses
            # while its ring is full; what does not fit there yet waits here.
            while self.to_driver and netdev.up and len(netdev.qdisc) < netdev.tx_queue_len:
                frame = self.to_driver.pop(0)
                if not isinstance(frame, SkBuff):
                    frame = SkBuff(frame)
                echo = _echo(frame.data)
                if echo and echo[0] == 8:
                    self.requests[echo[1:]] = self.kernel.platform.now_ns()
                if frame.csum_start is not None:
                    self.counts["checksums"] += 1
                if frame.gso_size:
                    self.counts["super_packets"] += 1
                # A tag the guest kernel put in goes beside the frame, for the device to put
                # back (the checksum and segmentation offsets then count without it).
                frame.vlan_untag()
                if frame.vlan_tci is not None:
                    self.counts["tagged"] += 1
                await netdev.dev_queue_xmit(frame)
                self.counts["guest_out"] += 1
                self._activity += 1
            if not netdev.up and self.to_driver:
                self.counts["dropped_down"] += len(self.to_driver)
                self.to_driver.clear()
            while self.to_wire:
                wire = to_wire(self.to_wire[0])
                if backend.send_room < len(wire):
                    break
                backend.send(wire, not_before=backend.now)
                self.to_wire.pop(0)
                self.counts["gateway_out"] += 1
                self._activity += 1
            await self.kernel.idle(slice_us * 1000)
            if self._activity == before and not self.to_driver and not self.to_wire \
                    and backend.frames_queued == 0:
                # Nothing moving: wait for the next frame from either kernel in real time
                # (simulated time stands still meanwhile) rather than spin.
                select.select([self.guest.fd, self.gateway.fd], [], [], 0.005)

    def summary(self):
        c = self.counts
        lines = [f"bridge: guest sent {c['guest_out']} frames and got {c['guest_in']}, gateway "
                 f"sent {c['gateway_out']} and got {c['gateway_in']}"
                 + (f", {c['bad_fcs']} with a bad FCS dropped" if c["bad_fcs"] else "")
                 + (f"; {c['checksums']} of the guest's frames left their checksum to the device"
                    if c["checksums"] else "")
                 + (f", {c['super_packets']} were TCP super-packets for it to segment"
                    if c["super_packets"] else "")
                 + (f", {c['tagged']} had an 802.1Q tag for it to insert" if c["tagged"] else "")
                 + (f"; {c['verified']} of the frames to the guest had their checksums checked "
                    "by the device" if c["verified"] else "")
                 + (f", {c['dropped_down']} from the guest dropped while eth0 was down"
                    if c["dropped_down"] else "")
                 + (f", {self.netdev.tx_dropped} dropped by its queue" if self.netdev.tx_dropped
                    else "")]
        if self.round_trips:
            us = [t / 1000 for t in self.round_trips]
            lines.append(f"simulated echo round trips (driver xmit to delivery): "
                         f"min/avg/max = {min(us):.1f}/{sum(us) / len(us):.1f}/{max(us):.1f} us "
                         f"over {len(us)}")
        return lines


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m sim tap",
        description="Run real commands in a network namespace whose eth0 is the simulated "
                    "e1000, with a second namespace's kernel as the gateway 10.0.2.2 "
                    "(192.168.0.113 beyond it). Needs root.",
        epilog="Without a command or --gateway, runs the reference commands: "
               + "; ".join(REFERENCE) + ".")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="after --: a command to run in the guest namespace")
    p.add_argument("--up", action="store_true",
                   help="configure the guest's eth0 first: up, 10.0.2.15/24, default route "
                        "via 10.0.2.2")
    p.add_argument("--gateway", metavar="CMD", action="append", default=[],
                   help="a shell command to run in the gateway namespace, alongside the guest's "
                        "(repeatable, run in order)")
    p.add_argument("--mtu", type=int, default=None, metavar="N",
                   help="the MTU of both ends' eth0 and of the model's driver, 68 to 16110 "
                        "(jumbo frames above 1500; default: 1500)")
    add_backend_option(p, "; the Amaranth simulator is too slow for the kernel's time-outs")
    add_output_options(p, pcap="build/tap.pcapng",
                       vcd_help="waveforms (runs last seconds of wall time)")
    return p


class Topology:
    """The two namespaces and their TAPs, for the length of a ``with`` block: the guest's
    ``eth0`` (with offloads, the given MAC address and MTU; with ``up``, configured as the
    reference scenario configures it) and the gateway (``gateway_host``). Whatever happens,
    the TAPs are closed and the namespaces deleted on the way out."""

    def __init__(self, mac, *, mtu=None, up=False):
        self.mac, self.mtu, self.up = mac, mtu, up
        self.guest = Namespace(f"{PREFIX}guest-{os.getpid()}")
        self.gateway = Namespace(f"{PREFIX}gw-{os.getpid()}")
        self.taps = []

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _build(self):
        guest, gateway = self.guest, self.gateway
        for ns in (guest, gateway):
            ns.create()
        self.guest_tap = Tap(guest, "eth0", offload=True)
        self.taps.append(self.guest_tap)
        self.gateway_tap, self.beyond = gateway_host(gateway)
        self.taps.append(self.gateway_tap)
        guest.ip("link", "set", "eth0", "address", self.mac)
        if self.mtu is not None:
            for ns in (guest, gateway):
                ns.ip("link", "set", "eth0", "mtu", str(self.mtu))
        if self.up:
            guest.ip("link", "set", "eth0", "up")
            guest.ip("addr", "add", "10.0.2.15/24", "dev", "eth0")
            guest.ip("route", "add", "default", "via", "10.0.2.2")

    def describe(self):
        return (f"guest namespace {self.guest.name} (eth0 = the simulated e1000, {self.mac}); "
                f"gateway namespace {self.gateway.name} (10.0.2.2 on eth0, 192.168.0.113 on "
                f"{self.beyond})")

    def __exit__(self, *exc):
        for tap in self.taps:
            tap.close()
        for ns in (self.guest, self.gateway):
            ns.delete()
        return False


class StepRunner:
    """Commands in the two namespaces: each namespace's in order, the two sides side by side.
    ``advance()`` (polled while the model runs) starts each side's next command once its
    last has ended, and says whether any is still running; ``status`` is the exit status of
    the command that ended last. On leaving a ``with`` block, whatever still runs is stopped."""

    def __init__(self, steps, *, first=None):
        """``steps``: (namespace, command) pairs; a command is a string for sh -c or a list.
        ``first`` is the namespace whose prompt shows without a prefix."""
        self.queues = {}
        for ns, command in steps:
            self.queues.setdefault(ns, []).append(command)
        self.first = first
        self.running = {}
        self.processes = []
        self.status = 0

    def advance(self):
        for ns, queue in self.queues.items():
            proc = self.running.get(ns)
            if proc is not None:
                if proc.poll() is None:
                    continue
                self.status = proc.returncode
                self.running.pop(ns)
            if queue:
                line = queue.pop(0)
                shown = line if isinstance(line, str) else shlex.join(line)
                where = "" if ns is self.first else "gateway "
                print(f"{where}/ # {shown}", flush=True)
                proc = subprocess.Popen(ns.command(line))
                self.processes.append(proc)
                self.running[ns] = proc
        return bool(self.running)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        return False


class _Stop(Exception):
    pass


def _check(args, reference):
    """A one-line complaint about the command line or the machine, or None."""
    if args.mtu is not None and not 68 <= args.mtu <= 16110:
        return f"--mtu {args.mtu}: the 82540EM takes an MTU from 68 to 16110"
    problem = requirements(need_ping=reference)
    if problem:
        return problem
    try:
        for path, what in ((args.pcap, "--pcap"), (args.vcd, "--vcd"), (args.gtkw, "--gtkw")):
            if path is not None:
                prepare(path, what)
    except OutputError as e:
        return str(e)
    return None


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    reference = not command and not args.gateway
    if args.vcd is not None and args.gtkw is None:
        args.gtkw = os.path.splitext(args.vcd)[0] + ".gtkw"
    problem = _check(args, reference)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    from .machine import Machine

    def note(message):
        print(f"-- {message}", file=sys.stderr, flush=True)

    def model_console(line):
        print(f"   [model] {line}", file=sys.stderr, flush=True)

    def terminate(signum, frame):
        raise _Stop()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        machine = Machine(console=model_console, gateway=False, backend=args.backend, log=note)
        if machine.backend.name != "cxxrtl":
            note("the Amaranth simulator runs far slower than the kernel's time-outs expect")
        mac = ":".join(f"{b:02x}" for b in machine.mac)
        with Topology(mac, mtu=args.mtu, up=args.up) as topology:
            note(topology.describe())
            guest, gateway = topology.guest, topology.gateway
            if reference:
                steps = [(guest, line) for line in REFERENCE]
            else:
                steps = ([(guest, command)] if command else []) + [(gateway, line)
                                                                    for line in args.gateway]
            with StepRunner(steps, first=guest) as runner:
                machine.run(lambda world: _serve(world, topology, runner, args.mtu, note),
                            pcap=args.pcap, vcd=args.vcd, gtkw=args.gtkw)
                note(f"{len(machine.backend.wire_log)} frames on the simulated wire: "
                     f"{args.pcap}")
                return runner.status
    except TapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Stop):
        print("\ninterrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _serve(world, topology, runner, mtu, note):
    """The model's side: the driver up (at ``mtu``), then the bridge until the commands end."""
    mtu_step = [] if mtu is None else [f"ip link set eth0 mtu {mtu}"]
    await world.shell.script(["insmod e1000", *mtu_step, "ip link set eth0 up"])
    bridge = TapBridge(world, topology.guest_tap, topology.gateway_tap)
    start_ns = world.kernel.platform.now_ns()
    wall = time.perf_counter()
    await bridge.serve(runner.advance)
    wall = time.perf_counter() - wall
    simulated = (world.kernel.platform.now_ns() - start_ns) / 1e9
    for line in bridge.summary():
        note(line)
    note(f"{wall:.2f} s of wall time, {simulated * 1e3:.2f} ms simulated "
         f"({simulated / wall * CLOCK_HZ:,.0f} cycles/s)")
