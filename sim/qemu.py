"""The real Linux e1000 driver on the Amaranth model: a kernel under QEMU with our core as its NIC.

    python -m sim qemu                       boot, then the reference commands with busybox
    python -m sim qemu --cmd 'insmod e1000.ko' --cmd 'ip link set eth0 up'
    python -m sim qemu --interactive         the guest's own shell after the commands

A Debian kernel boots under QEMU (TCG, no KVM needed) with busybox as its userland and no network
device of QEMU's own. Its NIC is QEMU's multi-process PCI proxy (``x-pci-proxy-dev``), whose far
end is this process (``sim.mpqemu``): here the project's e1000 core runs on the compiled backend,
and the kernel's own, unmodified ``e1000.ko`` probes it, reads its EEPROM bit by bit through EECD,
talks to its PHY through MDIC, and sends and receives through its descriptor rings.

- Configuration space is the project's PCI function model (``sim.pci.PciFunction``).
- Every BAR access becomes one access of the bench's MMIO initiator, the way the simulated CPU
  makes it, with its latencies.
- DMA: guest RAM is a shared memory file QEMU hands over; it is mapped here and becomes the
  storage of the bench's host memory, whose latency model still applies, so the core's DMA reads
  and writes the guest's memory itself.
- INTx: the proxy's interrupt path works only with KVM. Under TCG the line is driven through
  QEMU's qtest socket (``set_irq_in`` on the IOAPIC input the function's INTERRUPT_LINE names).
  A change caused by an access is confirmed before the access returns, so a handler that has
  read ICR never sees a line that is about to drop.
- Time: the model runs on its own between accesses (about a million cycles a second, some 8 ms
  of simulated time per second of wall time), so autonegotiation, the delay timers and frames on
  the wire go on while the guest does something else. It looks for a new request every few
  dozen cycles.
- The wire: the built-in gateway (10.0.2.2, and hosts beyond it once routed), as in
  ``python -m sim``.

Needs ``qemu-system-x86_64`` (Debian: qemu-system-x86; installed on first use when run as root)
and apt-get to fetch the kernel and busybox (Debian packages, once, into ``build/qemu/``).
"""

import argparse
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hw.bus import Space
from hw.core import DEFAULT_MAC, E1000
from hw.eeprom import eeprom_image
from hw.regmap import reg, register_at
from driver.pci import PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MASTER

from .bench import Bench, CLOCK_HZ
from .ethernet import received, to_wire
from .guest import MARK_DONE, MARK_OFFSET, GuestError, check_command, fetch, initramfs, \
    scenario_archive
from .hostmem import HostMemory
from .mpqemu import Channel, Command, GuestRam, ProtocolError
from .outputs import OutputError, add_output_options, prepare
from .pci import PciFunction
from .phy import PHYModel


__all__ = ["main", "REFERENCE", "QemuError", "NicServer", "requirements"]


ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "qemu"

# The reference session's commands, with the real driver and busybox.
REFERENCE = [
    "insmod e1000.ko",
    "ip link set eth0 up",
    "ip addr add 10.0.2.15/255.255.255.0 dev eth0",
    "ping -c 4 10.0.2.2",
    "ping -c 1 192.168.0.113",
    "ip route add default via 10.0.2.2",
    "ping -c 4 192.168.0.113",
    "grep eth0 /proc/interrupts",
    "rmmod e1000",
]

RAM_BYTES = 256 << 20           # the guest's RAM, all of it host memory of the bench
IOAPIC = "/machine/i440fx/ioapic"
POLL_EVERY = 32                 # cycles between looks for a new request while running free
SETTLE = 4                      # cycles a write is given to take effect before it returns


class QemuError(Exception):
    """The virtual machine could not be started or run."""


def requirements():
    """What is missing to run a virtual machine, as a message, or None (QEMU itself may still
    be installed on first use, as root)."""
    if shutil.which("qemu-system-x86_64") is None and (os.geteuid() != 0
                                                        or shutil.which("apt-get") is None):
        return ("qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86; "
                "run as root to have it installed on first use)")
    if shutil.which("apt-get") is None:
        return "apt-get not found: the guest's kernel and busybox come from Debian's packages"
    try:
        from .cxxrtl import compiler
        compiler()
    except Exception as error:
        return str(error)
    return None


def _qemu_binary(log):
    found = shutil.which("qemu-system-x86_64")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing qemu-system-x86 with apt-get (once)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                         "qemu-system-x86"]):
            result = subprocess.run(command, capture_output=True, text=True, env=env)
            if result.returncode != 0:
                raise QemuError(f"{' '.join(command[:2])} failed: "
                                f"{(result.stderr.strip().splitlines() or ['?'])[-1]}")
        found = shutil.which("qemu-system-x86_64")
    if not found:
        raise QemuError("qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86, "
                        "as root)")
    return found


def _register_name(offset):
    found = register_at(offset)
    if found is None:
        return ""
    register, n = found
    return f"{register.name}[{n}]" if register.count > 1 else register.name


def _run(coroutine):
    """The result of a backend coroutine: on the compiled backend they never suspend."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a backend coroutine suspended")


class Qtest:
    """QEMU's qtest socket, used for one thing: driving the NIC's IOAPIC input."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = 0
        self.sent = 0
        self._buffer = b""

    def fileno(self):
        return self.sock.fileno()

    def set_irq(self, line, level, *, wait):
        self.sock.sendall(f"set_irq_in {IOAPIC} unnamed-gpio-in {line} {int(level)}\n".encode())
        self.pending += 1
        self.sent += 1
        if wait:
            self.drain(block=True)

    def drain(self, *, block):
        while self.pending:
            if not block and not select.select([self.sock], [], [], 0)[0]:
                return
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("QEMU closed the qtest socket")
            self._buffer += data
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if line.startswith(b"OK"):
                    self.pending -= 1
                elif not line.startswith(b"IRQ"):
                    raise QemuError(f"qtest answered {line.decode(errors='replace')!r}")


class NicServer:
    """The project's e1000 behind QEMU's PCI proxy: configuration space, BARs, DMA and INTx.

    Parameters
    ----------
    backend : CxxrtlBackend
        Running a ``Bench`` whose host memory starts at 0 and is ``ram.size`` bytes.
    ram : GuestRam
    function : PciFunction
    trace : file, optional
        Every BAR access as a CSV row.
    """

    def __init__(self, backend, ram, function, *, trace=None):
        self.backend = backend
        self.ram = ram
        self.function = function
        function.on_command = lambda command: backend.set_bus_master(command & PCI_COMMAND_MASTER)
        self.qtest = None
        self.level = False
        self.irq_changes = 0
        self.accesses = 0
        self.marks = []         # (mark, wall time, accesses, cycle)
        self.trace = trace
        self.started = time.perf_counter()
        backend.lend_host_memory(ram.address)
        if trace:
            trace.write("seq,time_us,cycle,access,bar,offset,size,value,register\n")

    # INTx.

    @property
    def line_level(self):
        return self.backend.irq and not self.function.command & PCI_COMMAND_INTX_DISABLE

    def update_irq(self, *, wait):
        level = self.line_level
        if level != self.level and self.qtest is not None:
            self.level = level
            self.irq_changes += 1
            self.qtest.set_irq(self.function.interrupt_line, level, wait=wait)

    # Requests.

    def handle(self, message):
        c = message.command
        if c == Command.SYNC_SYSMEM:
            self.ram.sync(message.regions)
        elif c == Command.SET_IRQFD:
            for fd in message.fds:          # KVM's path; nothing reads it under TCG
                os.close(fd)
        elif c == Command.DEVICE_RESET:
            self.reset()
        elif c == Command.PCI_CFGREAD:
            return self.config_read(message.address, message.size)
        elif c == Command.PCI_CFGWRITE:
            self.config_write(message.address, message.value, message.size)
        elif c in (Command.BAR_READ, Command.BAR_WRITE):
            return self.bar_access(message)
        return 0

    def config_read(self, address, size):
        if size not in (1, 2, 4) or address % size or not 0 <= address < 256:
            return (1 << 8 * size) - 1 if size in (1, 2, 4) else 0
        return self.function.read(address, size)

    def config_write(self, address, value, size):
        if address == MARK_OFFSET and size == 1:
            self.marks.append((value & 0xFF, time.perf_counter(), self.accesses,
                               self.backend.now))
            return
        if size in (1, 2, 4) and address % size == 0 and 0 <= address < 256:
            self.function.write(address, size, value)
            self.update_irq(wait=False)

    def reset(self):
        """QEMU's reset of the machine: the function's header, then the device itself."""
        f = self.function
        f.write(PCI_COMMAND, 2, 0)
        for n in range(len(f.bars)):
            f.base[n] = 0
        f.power_state = 0
        _run(self.backend.mmio(Space.MEM, reg.CTRL.offset, write=True, data=reg.CTRL.RST.mask))
        _run(self.backend.cycles(1000))
        self.update_irq(wait=False)

    def _route(self, address, memory):
        f = self.function
        for n, bar in enumerate(f.bars):
            if bar["io"] != memory and f.base[n] and f.base[n] <= address < f.base[n] + bar["size"]:
                return (n, address - f.base[n]) if f.decodes(n) else None
        return None

    def bar_access(self, message):
        write = message.command == Command.BAR_WRITE
        hit = self._route(message.address, message.memory)
        size = message.size
        if hit is None or size not in (1, 2, 4, 8):
            return 0 if write else (1 << 8 * min(size, 8)) - 1     # master abort
        n, offset = hit
        space = self.function.bars[n]["space"]
        value = 0
        for part in range(0, size, 4):          # a 64-bit access is two 32-bit ones
            at = offset + part
            width = min(size - part, 4)
            shift = 8 * (at % 4)
            mask = (1 << 8 * width) - 1
            if write:
                data = ((message.value >> 8 * part) & mask) << shift
                be = ((1 << width) - 1) << (at % 4)
                _run(self.backend.mmio(space, at & ~3, write=True, data=data & 0xFFFF_FFFF,
                                       be=be))
                _run(self.backend.cycles(SETTLE))
            else:
                word = _run(self.backend.mmio(space, at & ~3))
                value |= ((word >> shift) & mask) << 8 * part
        self.accesses += 1
        if self.trace:
            name = _register_name(offset) if space == Space.MEM else \
                ("IOADDR", "IODATA")[offset // 4] if offset < 8 else ""
            self.trace.write(f"{self.accesses},{(time.perf_counter() - self.started) * 1e6:.1f},"
                             f"{self.backend.now},{'write' if write else 'read'},{n},"
                             f"{offset:#x},{size},{(message.value if write else value):#x},"
                             f"{name}\n")
        self.update_irq(wait=True)
        return value


class Vm:
    """QEMU running the guest, its console on a pipe (or on this terminal, interactively).
    ``nic`` is the command line's NIC: the proxy, or QEMU's own e1000 for comparison."""

    def __init__(self, qemu, kernel, initrd, nic, *, pass_fds=(), interactive=False):
        self.command = [
            qemu, "-accel", "tcg", "-m", f"{RAM_BYTES >> 20}M",
            "-object", f"memory-backend-memfd,id=ram,size={RAM_BYTES >> 20}M,share=on",
            "-machine", "pc,memory-backend=ram",
            "-nographic", "-vga", "none", "-no-reboot", "-nic", "none",
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0 quiet panic=-1 io_delay=none", *nic]
        self.process = subprocess.Popen(
            self.command, pass_fds=list(pass_fds),
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=None if interactive else subprocess.PIPE,
            stderr=None if interactive else subprocess.STDOUT)

    @property
    def console(self):
        return self.process.stdout

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            return self.process.stdout.read() or b""
        return b""


def _bench(args):
    eeprom = eeprom_image(args.mac)
    if args.bad_eeprom_checksum:
        eeprom[0x3F] ^= 0x0001
    phy = PHYModel(autoneg_cycles=max(1, round(args.autoneg_us * CLOCK_HZ / 1e6)))
    hostmem = HostMemory(base=0, size=RAM_BYTES, read_latency=args.dma_read_latency)
    # The EEPROM image is loaded at run time: one compiled model for every MAC address.
    return Bench(core=E1000(), phy=phy, hostmem=hostmem, eeprom=eeprom)


_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|c)")
_FIRMWARE = re.compile(r"^(SeaBIOS \(version [^)]*\)|Booting from ROM\.*)")


class Console:
    """The guest's serial console: lines go to ``out`` without the firmware's screen-clearing
    escapes and banners, are kept, and the time each command's prompt line arrived is noted."""

    def __init__(self, out):
        self.out = out
        self.lines = []
        self.prompts = []       # (wall time, command) of each "/ # " line
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer.extend(data)
        while b"\n" in self._buffer:
            at = self._buffer.index(b"\n")
            line = _ESCAPE.sub("", self._buffer[:at].decode("utf-8", "replace")).rstrip("\r")
            line = _FIRMWARE.sub("", line)
            del self._buffer[:at + 1]
            if not line.strip():
                continue
            if line.startswith("/ # "):
                self.prompts.append((time.perf_counter(), line[4:]))
            self.lines.append(line)
            self.out.write(line + "\n")
            self.out.flush()

    def finish(self, rest=b""):
        self.feed(rest + (b"\n" if self._buffer or rest else b""))


class TapWire:
    """The far end of the simulated wire in a gateway network namespace with a real kernel
    (10.0.2.2, and 192.168.0.113 beyond it), as ``python -m sim tap`` makes it."""

    def __init__(self, backend):
        from .tap import PREFIX, Namespace, gateway_host, requirements as tap_requirements
        problem = tap_requirements()
        if problem:
            raise QemuError(problem)
        self.backend = backend
        self.namespace = Namespace(f"{PREFIX}gw-{os.getpid()}")
        self.namespace.create()
        try:
            self.tap, self.beyond = gateway_host(self.namespace)
        except BaseException:
            self.namespace.delete()
            raise
        self.waiting = []
        self.counts = dict(to_gateway=0, from_gateway=0, bad_fcs=0)
        backend.tx_listeners.append(self._from_wire)

    def fileno(self):
        return self.tap.fd

    def _from_wire(self, wire_frame):
        frame = received(wire_frame)
        if frame is None:
            self.counts["bad_fcs"] += 1
            return
        self.tap.write(frame)
        self.counts["to_gateway"] += 1

    def pump(self):
        """Frames the gateway's kernel sent, onto the wire as the partner has room."""
        self.waiting += [to_wire(frame) for frame in self.tap.read()]
        while self.waiting and self.backend.send_room >= len(self.waiting[0]):
            self.backend.send(self.waiting.pop(0), not_before=self.backend.now)
            self.counts["from_gateway"] += 1

    def close(self):
        self.tap.close()
        self.namespace.delete()


def _prepare(args, log):
    """QEMU, the kernel and the initrd with this run's commands (in ``tmp``)."""
    qemu = _qemu_binary(log)
    WORK.mkdir(parents=True, exist_ok=True)
    files = fetch(WORK, log=log)
    kernel = Path(args.kernel) if args.kernel else files.kernel
    module = Path(args.module) if args.module else files.module
    for what, path in (("kernel", kernel), ("module", module)):
        if not path.is_file():
            raise QemuError(f"the {what} {path} is not a file")
    base = WORK / ("initramfs.gz" if not args.module else "initramfs-custom.gz")
    stale = not base.exists() or base.stat().st_mtime < module.stat().st_mtime
    if args.module or stale:
        initramfs(files, base, module=module)
    tmp = Path(tempfile.mkdtemp(prefix="e1000-qemu-"))
    initrd = tmp / "initrd"
    initrd.write_bytes(base.read_bytes() + scenario_archive(args.commands,
                                                            interactive=args.interactive))
    what = files.release if not args.kernel else str(kernel)
    return qemu, kernel, initrd, tmp, what


# What the kernel's e1000 driver says when it finds fault with the device (Linux 6.1 still
# registers a card whose EEPROM checksum is wrong, with an all-zero MAC address).
_REFUSED = re.compile(r"\be1000\b.*(Checksum Is Not Valid|Invalid MAC Address|probe of \S+ "
                      r"failed|Detected Tx Unit Hang|Reset adapter)")


def refusals(console):
    """The guest kernel's lines in which its e1000 driver finds fault with the device."""
    return [line for line in console.lines if _REFUSED.search(line)]


def _outcome(vm, marks, interactive):
    """How a run that ended by itself went."""
    if vm.process.returncode:
        return f"QEMU exited with status {vm.process.returncode}"
    if not marks:
        return "the guest never started its commands (see its console above)"
    if marks[-1][0] != MARK_DONE and not interactive:
        return "the guest stopped before its last command"
    return "powered off"


def run_reference_nic(args, *, log, out=sys.stdout):
    """The same guest with QEMU's own e1000 and user network, for comparison."""
    qemu, kernel, initrd, tmp, what = _prepare(args, log)
    log(f"booting {what} under QEMU (TCG) with QEMU's own e1000 and user network")
    console = Console(out)
    began = time.perf_counter()
    vm = Vm(qemu, kernel, initrd, ["-netdev", "user,id=n0,restrict=on",
                                   "-device", "e1000,netdev=n0,romfile="],
            interactive=args.interactive)
    status = "powered off"
    try:
        deadline = time.monotonic() + args.timeout
        while vm.console is not None:
            if time.monotonic() > deadline:
                status = f"timed out after {args.timeout:.0f} s"
                break
            if select.select([vm.console], [], [], 0.5)[0]:
                data = os.read(vm.console.fileno(), 65536)
                if not data:
                    break
                console.feed(data)
        if vm.console is None:
            vm.process.wait()
    finally:
        console.finish(vm.stop())
        shutil.rmtree(tmp, ignore_errors=True)
    if status == "powered off" and vm.process.returncode:
        status = f"QEMU exited with status {vm.process.returncode}"
    return {"status": status, "wall_s": time.perf_counter() - began, "started": began,
            "console": console, "commands": args.commands, "marks": [], "model": False}


def run(args, *, log, out=sys.stdout):
    """Boot, serve the NIC until the machine powers off; returns a summary dict."""
    from .cxxrtl import CxxrtlBackend
    from .gateway import Gateway
    from .machine import default_traces
    from .pcap import Capture

    qemu, kernel, initrd, tmp, what = _prepare(args, log)
    began = time.perf_counter()
    bench = _bench(args)
    backend = CxxrtlBackend(bench, log=log)
    capture = None
    if args.pcap:
        capture = Capture(args.pcap, clock_hz=CLOCK_HZ,
                          description="the 82540EM's cable under QEMU (inbound: to the NIC)")
        backend.wire_listeners.append(capture.add)
    ram = GuestRam(RAM_BYTES)
    words = bench.eeprom_words
    function = PciFunction(subsystem_device=words[0x0B], subsystem_vendor=words[0x0C])
    trace = open(args.trace_mmio, "w") if args.trace_mmio else None
    server = NicServer(backend, ram, function, trace=trace)
    wire = TapWire(backend) if args.tap else None
    gateway = None if wire else Gateway(backend)
    if wire:
        log(f"the wire's far end: namespace {wire.namespace.name} (10.0.2.2 on eth0, "
            f"192.168.0.113 on {wire.beyond})")
    log(f"model ready in {time.perf_counter() - began:.1f} s; booting {what} under QEMU (TCG)")

    qtest_path = tmp / "qtest.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(qtest_path))
    listener.listen(1)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    channel = Channel(ours)
    vm = Vm(qemu, kernel, initrd, [
        "-device", f"x-pci-proxy-dev,id=nic,fd={theirs.fileno()}",
        "-qtest", f"unix:{qtest_path}", "-qtest-log", "none"],
        pass_fds=[theirs.fileno()], interactive=args.interactive)
    theirs.close()
    spawned = time.perf_counter()
    console = Console(out)
    deadline = time.monotonic() + args.timeout
    status = "powered off"
    cycles_at_boot = backend.now
    vcd_state = "before" if args.vcd else "none"
    try:
        while True:
            if time.monotonic() > deadline:
                status = f"timed out after {args.timeout:.0f} s"
                break
            watched = [channel.fileno()]
            if vm.console is not None:
                watched.append(vm.console.fileno())
            if server.qtest is None:
                watched.append(listener.fileno())
            elif server.qtest.pending:
                watched.append(server.qtest.fileno())
            if wire:
                watched.append(wire.fileno())
            limit = CLOCK_HZ // 100
            if vcd_state == "before":
                if backend.now >= args.trace_start:
                    backend.start_waveforms(args.vcd, args.gtkw, default_traces(bench))
                    vcd_state = "on"
                else:
                    limit = min(limit, args.trace_start - backend.now)
            if vcd_state == "on" and args.trace_end is not None:
                if backend.now >= args.trace_end:
                    backend.finish_waveforms()
                    vcd_state = "after"
                else:
                    limit = min(limit, args.trace_end - backend.now)
            backend.serve(watched, every=POLL_EVERY, limit=max(1, limit))
            server.update_irq(wait=False)
            ready = select.select(watched, [], [], 0)[0]
            if listener.fileno() in ready:
                sock, _ = listener.accept()
                server.qtest = Qtest(sock)
                server.update_irq(wait=False)
            if server.qtest is not None and server.qtest.fileno() in ready:
                server.qtest.drain(block=False)
            if vm.console is not None and vm.console.fileno() in ready:
                console.feed(os.read(vm.console.fileno(), 65536))
            if wire:
                wire.pump()
            if channel.fileno() in ready:
                try:
                    message = channel.receive()
                except EOFError:
                    break
                value = server.handle(message)
                if message.answered:
                    channel.reply(value)
            if vm.process.poll() is not None and channel.fileno() not in ready:
                break
    except ProtocolError as error:
        status = f"protocol error: {error}"
    finally:
        console.finish(vm.stop())
        listener.close()
        if trace:
            trace.close()
        if wire:
            wire.close()
        if vcd_state == "on":
            backend.finish_waveforms()
        shutil.rmtree(tmp, ignore_errors=True)
        if capture:
            capture.close()
    wall = time.perf_counter() - began
    if status == "powered off":
        status = _outcome(vm, server.marks, args.interactive)
        refused = refusals(console)
        if refused:
            message = re.sub(r"^\[[ \d.]+\] ", "", refused[0]).strip()
            status = f"the guest's e1000 driver found fault with the device ({message})"
        if server.accesses and not ram.syncs:
            status = ("QEMU shared no guest RAM with the model (memory-backend-memfd,share=on), "
                      "so DMA could not reach the guest")
    return {
        "status": status, "wall_s": wall, "model": True,
        "cycles": backend.now - cycles_at_boot, "accesses": server.accesses,
        "marks": server.marks, "irq_changes": server.irq_changes,
        "config_reads": channel.received[Command.PCI_CFGREAD],
        "config_writes": channel.received[Command.PCI_CFGWRITE],
        "sysmem_syncs": ram.syncs, "frames": len(backend.wire_log),
        "gateway_ignored": gateway.ignored if gateway else 0,
        "wire": wire.counts if wire else None, "console": console, "started": spawned,
        "commands": args.commands,
    }


def report(summary, log):
    if not summary["model"]:
        log(f"{summary['status']}: {summary['wall_s']:.1f} s of wall time from QEMU's start")
        prompts = summary["console"].prompts
        if prompts:
            log(f"boot to the first command: {prompts[0][0] - summary['started']:.1f} s")
        for (t0, name), (t1, _) in zip(prompts, prompts[1:]):
            log(f"  {name:<46} {t1 - t0:6.2f} s")
        return
    log(f"{summary['status']}: {summary['wall_s']:.1f} s of wall time, {summary['accesses']:,} "
        f"BAR accesses, {summary['cycles']:,} cycles simulated "
        f"({summary['cycles'] / CLOCK_HZ * 1e3:.1f} ms), {summary['irq_changes']} INTx changes, "
        f"{summary['frames']} frames on the wire")
    if summary["wire"]:
        w = summary["wire"]
        log(f"gateway namespace: got {w['to_gateway']} frames, sent {w['from_gateway']}"
            + (f", {w['bad_fcs']} with a bad FCS dropped" if w["bad_fcs"] else ""))
    marks = summary["marks"]
    if not marks:
        return
    log(f"boot to the first command: {marks[0][1] - summary['started']:.1f} s")
    commands = summary["commands"]
    for (mark, t0, a0, c0), (_, t1, a1, c1) in zip(marks, marks[1:]):
        name = commands[mark - 1] if 1 <= mark <= len(commands) else f"mark {mark}"
        accesses = a1 - a0
        log(f"  {name:<46} {t1 - t0:6.2f} s {accesses:7,} accesses {c1 - c0:10,} cycles"
            + (f" ({(c1 - c0) / accesses:,.0f} per access)" if accesses else ""))


def build_parser():
    from .__main__ import parse_mac, positive
    p = argparse.ArgumentParser(
        prog="python -m sim qemu",
        description="Boot a Debian kernel under QEMU whose NIC is the project's e1000 model "
                    "(compiled), driven by the kernel's own e1000.ko, and run commands in it.",
        epilog="With no commands, runs: " + "; ".join(REFERENCE) + ". The guest's files are "
               "downloaded once into build/qemu/ with apt-get download.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("-c", "--cmd", action="append", metavar="CMD",
                     help="a command for the guest's shell (repeatable); replaces the reference "
                          "commands, so start with 'insmod e1000.ko'")
    src.add_argument("--script", metavar="FILE", help="guest commands from a file, one per line")
    p.add_argument("-i", "--interactive", action="store_true",
                   help="after the commands, the guest's own shell on this terminal")
    p.add_argument("--kernel", metavar="BZIMAGE", help="your own kernel instead of Debian's")
    p.add_argument("--module", metavar="KO",
                   help="your own driver module instead of the kernel's e1000.ko (it must match "
                        "the kernel); the guest loads it as /e1000.ko")
    p.add_argument("--mac", type=parse_mac, default=DEFAULT_MAC,
                   help="the card's MAC address (default: 52:54:00:12:34:56)")
    p.add_argument("--bad-eeprom-checksum", action="store_true",
                   help="corrupt the EEPROM's checksum word: the driver must refuse the card")
    p.add_argument("--autoneg-us", type=positive(float), default=20.0, metavar="US",
                   help="simulated time autonegotiation takes (default: %(default)s)")
    p.add_argument("--dma-read-latency", type=positive(int), default=125, metavar="CYCLES",
                   help="host memory's read latency (default: %(default)s)")
    p.add_argument("--tap", action="store_true",
                   help="the wire's far end is a network namespace with a real kernel "
                        "(10.0.2.2, 192.168.0.113 beyond), as in 'python -m sim tap' (root)")
    p.add_argument("--nic", choices=("model", "qemu"), default="model",
                   help="model: the project's e1000 (default); qemu: QEMU's own e1000 and user "
                        "network, the same guest and commands, for comparison")
    add_output_options(p, pcap="build/qemu.pcapng", window=True,
                       vcd_help="waveforms of the window (a boot is long: record a window of it)")
    p.add_argument("--trace-mmio", metavar="CSV",
                   help="write every BAR access the guest makes (time, cycle, offset, value, "
                        "register name) to this file")
    p.add_argument("--timeout", type=positive(float), default=600, metavar="SECONDS",
                   help="give up after this long (default: %(default)s)")
    return p


def main(argv):
    args = build_parser().parse_args(argv)

    def log(message):
        print(f"-- {message}", file=sys.stderr, flush=True)

    try:
        if args.script:
            with open(args.script) as f:
                args.commands = [l.rstrip("\n") for l in f
                                 if l.strip() and not l.lstrip().startswith("#")]
        else:
            args.commands = list(args.cmd) if args.cmd else \
                ([] if args.interactive else list(REFERENCE))
        for line in args.commands:
            check_command(line)
        if args.vcd and not args.gtkw:
            args.gtkw = os.path.splitext(args.vcd)[0] + ".gtkw"
        if args.trace_end is not None and args.trace_end <= args.trace_start:
            raise ValueError("--trace-end must come after --trace-start")
        if args.nic == "qemu" and (args.tap or args.vcd or args.trace_mmio or args.module):
            raise ValueError("--nic qemu runs QEMU's own e1000: --tap, --vcd, --trace-mmio "
                             "and --module are for the model")
        for path, what in ((args.pcap, "--pcap"), (args.trace_mmio, "--trace-mmio"),
                           (args.vcd, "--vcd"), (args.gtkw, "--gtkw")):
            if path is not None:
                prepare(path, what)
        summary = (run_reference_nic if args.nic == "qemu" else run)(args, log=log)
    except (QemuError, GuestError, OutputError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    report(summary, log)
    if summary["status"] != "powered off":
        return 3
    return 0
