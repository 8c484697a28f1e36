"""QEMU's multi-process PCI protocol (MPQEMU), the device's end, as QEMU 7.2 speaks it.

QEMU's ``x-pci-proxy-dev`` stands in the virtual machine for a PCI function whose model runs in
another process, here ours. The two ends share one connected ``AF_UNIX`` stream socket; every
message is a 16-byte header (``int32`` command, 4 bytes of padding, ``uint64`` payload size)
followed by the payload, in the host's native layout (x86-64, little-endian). File descriptors
ride along as ``SCM_RIGHTS``.

=============  =========  ==============================================================  =======
command        from       payload                                                          answer
=============  =========  ==============================================================  =======
SYNC_SYSMEM    QEMU       ``u64 gpa[8], u64 size[8], i64 offset[8]``, one fd per region    none
RET            device     ``u64`` value                                                    --
PCI_CFGWRITE   QEMU       ``u32 address, u32 value, i32 length``                           RET
PCI_CFGREAD    QEMU       the same, value 0                                                RET
BAR_WRITE      QEMU       ``u64 address, u64 value, u32 size, u8 memory``, 3 bytes pad     RET
BAR_READ       QEMU       the same                                                         RET
SET_IRQFD      QEMU       nothing; two eventfds (KVM's interrupt path)                     none
DEVICE_RESET   QEMU       nothing                                                          RET
=============  =========  ==============================================================  =======

- SYNC_SYSMEM maps guest RAM: each region is guest-physical ``[gpa, gpa + size)`` at
  ``offset`` in its file. QEMU sends only RAM backed by a file it can share
  (``memory-backend-memfd,share=on``), sends it again whenever the memory map changes, and may
  send it between the messages of an access in progress.
- A BAR address is absolute: the guest-physical address of a memory BAR access, the port of an
  I/O one. The device decodes it against the BAR bases written to its configuration space.
- Configuration space is the device's: QEMU forwards every read and mirrors writes to map BARs.
- Every access is synchronous: the virtual CPU waits for RET.
- The interrupt path (SET_IRQFD) needs KVM; without it nothing reads the eventfds, and the
  interrupt line has to reach the IOAPIC some other way (see ``sim.qemu``).
"""

import array
import enum
import mmap
import socket
import struct


__all__ = ["Command", "Message", "Channel", "GuestRam", "ProtocolError"]


class Command(enum.IntEnum):
    SYNC_SYSMEM = 0
    RET = 1
    PCI_CFGWRITE = 2
    PCI_CFGREAD = 3
    BAR_WRITE = 4
    BAR_READ = 5
    SET_IRQFD = 6
    DEVICE_RESET = 7


HEADER = struct.Struct("<i4xQ")
CONFIG = struct.Struct("<IIi")
BAR = struct.Struct("<QQIB3x")
SYSMEM = struct.Struct("<8Q8Q8q")
MAX_FDS = 8


class ProtocolError(Exception):
    """QEMU sent something this end does not understand."""


class Message:
    """One request from QEMU, decoded."""

    def __init__(self, command, payload, fds):
        self.command = command
        self.fds = fds
        if command in (Command.PCI_CFGREAD, Command.PCI_CFGWRITE):
            self.address, self.value, self.size = CONFIG.unpack(payload)
        elif command in (Command.BAR_READ, Command.BAR_WRITE):
            self.address, self.value, self.size, memory = BAR.unpack(payload)
            self.memory = bool(memory)
        elif command == Command.SYNC_SYSMEM:
            fields = SYSMEM.unpack(payload)
            count = len(fds)
            self.regions = list(zip(fields[0:8][:count], fields[8:16][:count],
                                    fields[16:24][:count], fds))

    @property
    def answered(self):
        return self.command in (Command.PCI_CFGREAD, Command.PCI_CFGWRITE, Command.BAR_READ,
                                Command.BAR_WRITE, Command.DEVICE_RESET)


class Channel:
    """Our end of the proxy's socket."""

    def __init__(self, sock):
        self.sock = sock
        self.received = {command: 0 for command in Command}

    def fileno(self):
        return self.sock.fileno()

    def _exactly(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("QEMU closed the proxy's socket")
            data += chunk
        return bytes(data)

    def receive(self):
        """The next message (blocks until one arrives); EOFError when QEMU has gone."""
        fds = array.array("i")
        header, ancillary, _, _ = self.sock.recvmsg(HEADER.size, socket.CMSG_SPACE(MAX_FDS * 4))
        if not header:
            raise EOFError("QEMU closed the proxy's socket")
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        if len(header) < HEADER.size:
            header += self._exactly(HEADER.size - len(header))
        number, size = HEADER.unpack(header)
        try:
            command = Command(number)
        except ValueError:
            raise ProtocolError(f"unknown MPQEMU command {number}") from None
        if command == Command.RET or size > 4096:
            raise ProtocolError(f"unexpected {command.name} of {size} bytes from QEMU")
        payload = self._exactly(size) if size else b""
        self.received[command] += 1
        return Message(command, payload, list(fds))

    def reply(self, value=0):
        self.sock.sendall(HEADER.pack(Command.RET, 8) + struct.pack("<Q", value & (2**64 - 1)))


class GuestRam:
    """Guest-physical ``[0, size)`` as one stretch of this process's memory.

    A stretch of anonymous memory is reserved once; each SYNC_SYSMEM maps the regions it names
    over it (shared, so the guest sees what the device writes and the other way round) and
    leaves the rest anonymous, so the stretch's address never changes while the model uses it
    as host memory. Regions above ``size`` (none, with RAM below the PCI hole) are ignored.
    """

    _PROT = mmap.PROT_READ | mmap.PROT_WRITE
    _MAP_FIXED = 0x10
    _MAP_NORESERVE = 0x4000

    def __init__(self, size):
        import ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.mmap.restype = ctypes.c_void_p
        self._libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                                    ctypes.c_int, ctypes.c_long]
        self._libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self._ctypes = ctypes
        self.size = size
        self.address = self._map(None, size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                                 | self._MAP_NORESERVE, -1, 0)
        self.regions = []           # (gpa, size) mapped from QEMU
        self.syncs = 0

    def _map(self, address, length, flags, fd, offset):
        result = self._libc.mmap(address, length, self._PROT, flags, fd, offset)
        if result in (None, self._ctypes.c_void_p(-1).value):
            import os
            raise OSError(self._ctypes.get_errno(), f"mapping guest RAM: "
                          f"{os.strerror(self._ctypes.get_errno())}")
        return result

    def sync(self, regions):
        """Map ``regions`` ((gpa, size, offset, fd) each; the fds are closed here)."""
        import os
        try:
            self._map(self.address, self.size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                      | self._MAP_FIXED | self._MAP_NORESERVE, -1, 0)
            self.regions = []
            for gpa, size, offset, fd in regions:
                if gpa >= self.size:
                    continue
                length = min(size, self.size - gpa)
                self._map(self.address + gpa, length, mmap.MAP_SHARED | self._MAP_FIXED, fd,
                          offset)
                self.regions.append((gpa, length))
        finally:
            for *_, fd in regions:
                os.close(fd)
        self.syncs += 1

    @property
    def shared(self):
        """Bytes of guest RAM QEMU shares with us."""
        return sum(size for _, size in self.regions)

    def close(self):
        if self.address:
            self._libc.munmap(self.address, self.size)
            self.address = None
