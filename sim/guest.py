"""The virtual machine's software: a Debian kernel, its own e1000.ko, busybox, and an /init.

``fetch`` downloads the kernel package and ``busybox-static`` once with ``apt-get download``
(Debian's packages, whatever the machine's apt sources name) into ``build/qemu/``, and takes
out of them ``vmlinuz``, the kernel's ``e1000.ko`` (unmodified) and ``busybox``. ``initramfs``
packs them with the /init below into a gzipped cpio archive, and ``scenario_archive`` makes the
small second archive that carries a run's commands: the kernel unpacks both, one after the
other, so the large one is built once and every run only adds its commands.

/init mounts the usual file systems, turns the console's log level up just before the commands
(so the driver's messages appear between them, as on a terminal), runs each command after
printing it behind a ``/ # `` prompt, and powers the machine off. Before each command it writes
the command's number to configuration offset 0xF0 of the e1000 (unused there): the device
model timestamps these marks, which is how the run measures each command from outside.
"""

import gzip
import io
import lzma
import os
import shlex
import subprocess
import tarfile
from pathlib import Path


__all__ = ["GuestError", "GuestFiles", "fetch", "initramfs", "scenario_archive", "MARK_OFFSET",
           "MARK_DONE"]


MARK_OFFSET = 0xF0          # configuration space byte the guest writes its marks to
MARK_DONE = 0xFF            # the mark after the last command


class GuestError(Exception):
    """The guest's files could not be had or built."""


class GuestFiles:
    def __init__(self, kernel, module, busybox, release):
        self.kernel = Path(kernel)
        self.module = Path(module)
        self.busybox = Path(busybox)
        self.release = release      # the kernel package's name, for the record


# /init, run by busybox's sh. It stays quiet until the commands start.
INIT = r"""#!/bin/sh
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ip link set lo up
NIC=
for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor):$(cat $d/device)" = "0x8086:0x100e" ] && NIC=$d
done
mark() {
    [ -n "$NIC" ] && printf "\\$(printf %03o $1)" | dd of=$NIC/config bs=1 seek=240 count=1 2>/dev/null
}
# Waits, unshown, for what a person would wait for before the next command.
wait_carrier() {
    local tries=0
    while [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" != 1 ] && [ $tries -lt 200 ]; do
        sleep 0.05; tries=$((tries + 1))
    done
}
[ -n "$NIC" ] || echo "init: no 8086:100e function on the PCI bus"
echo 8 > /proc/sys/kernel/printk
cd /
n=0
while IFS= read -r line; do
    n=$((n + 1))
    echo "/ # $line"
    mark $n
    eval "$line" < /dev/null
    case "$line" in "ip link set "*" up") wait_carrier $(echo "$line" | cut -d' ' -f4) ;; esac
done < /scenario
mark 255
echo 4 > /proc/sys/kernel/printk
if [ -e /interactive ]; then
    echo "(the guest's shell: 'exit' or Ctrl-D powers the machine off)"
    setsid cttyhack sh
fi
poweroff -f
"""


def _run(command, **kwargs):
    try:
        return subprocess.run(command, capture_output=True, text=True, **kwargs)
    except FileNotFoundError:
        raise GuestError(f"{command[0]} not found: the guest's files come from Debian's "
                         f"packages through apt-get") from None


def _deb_members(deb):
    """The data archive of a .deb, as a tarfile (an ar archive holding data.tar.*)."""
    raw = Path(deb).read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise GuestError(f"{deb} is not a Debian package")
    at = 8
    while at + 60 <= len(raw):
        name = raw[at:at + 16].decode().strip().rstrip("/")
        size = int(raw[at + 48:at + 58].decode().strip())
        body = raw[at + 60:at + 60 + size]
        at += 60 + size + (size & 1)
        if name.startswith("data.tar"):
            if name.endswith(".xz"):
                body = lzma.decompress(body)
            elif name.endswith(".zst"):
                raise GuestError(f"{deb}: zstd-compressed packages are not supported")
            elif name.endswith(".gz"):
                body = gzip.decompress(body)
            return tarfile.open(fileobj=io.BytesIO(body))
    raise GuestError(f"{deb} has no data archive")


def _extract(deb, wanted, dest):
    """Copy the first member of ``deb`` for which ``wanted(name)`` is true to ``dest``."""
    with _deb_members(deb) as archive:
        for member in archive:
            if member.isfile() and wanted(member.name):
                data = archive.extractfile(member).read()
                if member.name.endswith(".xz"):
                    data = lzma.decompress(data)
                partial = Path(str(dest) + ".partial")
                partial.write_bytes(data)
                partial.rename(dest)
                return member.name
    raise GuestError(f"{deb} holds no file that fits {dest.name}")


def _download(package, folder, log):
    found = sorted(folder.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    log(f"downloading {package} with apt-get download")
    result = _run(["apt-get", "download", package], cwd=folder)
    if result.returncode != 0 and os.geteuid() == 0:
        # Package lists older than the archive name versions it no longer has.
        log("apt-get download failed: apt-get update, then once more")
        _run(["apt-get", "update", "-qq"])
        result = _run(["apt-get", "download", package], cwd=folder)
    found = sorted(folder.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not found:
        hint = " (run 'apt-get update' first)" if "Unable to locate" in result.stderr else ""
        raise GuestError(f"apt-get download {package} failed{hint}: "
                         f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}")
    return found[-1]


def kernel_package(log=print):
    """The versioned kernel package that Debian's ``linux-image-amd64`` points at. As root,
    the package lists are fetched first if they do not know it."""
    for attempt in range(2):
        result = _run(["apt-cache", "depends", "linux-image-amd64"])
        for line in result.stdout.splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "Depends:" and words[1].startswith("linux-image-"):
                return words[1]
        if attempt or os.geteuid() != 0:
            break
        log("apt's package lists do not know linux-image-amd64: apt-get update")
        _run(["apt-get", "update", "-qq"])
    raise GuestError("apt-cache does not know linux-image-amd64: is this a Debian machine "
                     "with its package lists ('apt-get update')?")


def fetch(folder, *, log=print):
    """The guest's kernel, e1000.ko and busybox, in ``folder`` (downloaded once)."""
    folder = Path(folder)
    debs = folder / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    kernel, module, busybox = folder / "vmlinuz", folder / "e1000.ko", folder / "busybox"
    release = folder / "kernel-package"
    if not all(p.exists() for p in (kernel, module, busybox, release)):
        package = kernel_package(log)
        try:
            deb = _download(package, debs, log)
        except GuestError:
            if os.geteuid() != 0:
                raise
            package = kernel_package(log)       # the lists were updated: maybe a newer one
            deb = _download(package, debs, log)
        version = package[len("linux-image-"):]
        _extract(deb, lambda n: n.endswith(f"boot/vmlinuz-{version}"), kernel)
        _extract(deb, lambda n: "/drivers/net/ethernet/intel/e1000/e1000.ko" in n, module)
        _extract(_download("busybox-static", debs, log), lambda n: n.endswith("bin/busybox"),
                 busybox)
        release.write_text(package + "\n")
    return GuestFiles(kernel, module, busybox, release.read_text().strip())


# cpio "newc": what the kernel unpacks as an initramfs.

def _cpio_entry(name, mode, data=b"", ino=0):
    header = ("070701" + "".join(f"{v:08X}" for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))).encode()
    entry = header + name.encode() + b"\0"
    entry += b"\0" * (-len(entry) % 4) + data
    return entry + b"\0" * (-len(entry) % 4)


def _cpio(entries):
    out = bytearray()
    for ino, (name, mode, data) in enumerate(entries, start=1):
        out += _cpio_entry(name, mode, data, ino)
    out += _cpio_entry("TRAILER!!!", 0)
    return bytes(out + b"\0" * (-len(out) % 512))


_DIR, _FILE, _EXEC = 0o040755, 0o100644, 0o100755


def initramfs(files, path, *, module=None):
    """Write the guest's base archive: busybox, the driver module as ``/e1000.ko`` and /init."""
    module = Path(module) if module else files.module
    entries = [("bin", _DIR, b""), ("dev", _DIR, b""), ("proc", _DIR, b""), ("sys", _DIR, b""),
               ("bin/busybox", _EXEC, files.busybox.read_bytes()),
               ("bin/sh", 0o120777, b"busybox"),
               ("init", _EXEC, INIT.encode()),
               ("e1000.ko", _FILE, module.read_bytes())]
    partial = Path(str(path) + ".partial")
    with gzip.open(partial, "wb", compresslevel=6) as f:
        f.write(_cpio(entries))
    partial.rename(path)
    return Path(path)


def scenario_archive(commands, *, interactive=False):
    """The archive that carries a run's commands, to append to the base one (gzipped too: the
    kernel's unpacker may read past a compressed archive's end into what follows)."""
    text = "".join(line + "\n" for line in commands)
    entries = [("scenario", _FILE, text.encode())]
    if interactive:
        entries.append(("interactive", _FILE, b""))
    return gzip.compress(_cpio(entries), compresslevel=1, mtime=0)


def check_command(line):
    """A command line the guest's shell can take, or a ValueError saying why not."""
    if "\n" in line or "\0" in line:
        raise ValueError("a guest command is one line")
    shlex.split(line)           # unbalanced quotes fail here, not in the guest
    return line
