"""The small part of a kernel that a network driver leans on.

One CPU, as in a uniprocessor kernel: code runs until it waits, and interrupts are taken while
it waits (``idle``, ``wait_event_timeout``, ``poll_timeout``). A taken interrupt runs the
handlers registered for its line, then the deferred work they scheduled (bottom halves, such as
a NAPI poll or the link watchdog). Time is the platform's time: in a simulation, simulated time,
which only passes while something waits on the hardware.

``printk`` writes the kernel log with time stamps as ``dmesg`` shows them.
"""

from abc import ABC, abstractmethod


__all__ = ["Platform", "Kernel", "Napi", "IRQ_NONE", "IRQ_HANDLED", "ETIMEDOUT", "KernelTimeout"]


IRQ_NONE = 0
IRQ_HANDLED = 1

# A line that keeps asserting with no handler claiming it is switched off after this many
# consecutive unhandled interrupts ("nobody cared").
_SPURIOUS_LIMIT = 100


class KernelTimeout(Exception):
    """A wait on the hardware ran out of time (``-ETIMEDOUT``)."""


ETIMEDOUT = KernelTimeout


class Interrupted(Exception):
    """A signal (Ctrl-C at the console) came while a command slept interruptibly (``-EINTR``)."""


class Napi:
    """A NAPI context: ``async poll(budget) -> work done``, run as a bottom half.

    A poll that uses its whole budget is run again; one that does less must call
    ``napi_complete_done`` (and re-enable the device's interrupts) itself.
    """

    def __init__(self, poll, weight=64):
        self.poll = poll
        self.weight = weight
        self.scheduled = False


class Platform(ABC):
    """What the kernel needs from the machine it runs on."""

    @abstractmethod
    def now_ns(self):
        """Time since power-on, in nanoseconds."""

    @abstractmethod
    async def wait_irq(self, timeout_ns):
        """Wait until an interrupt line is asserted or ``timeout_ns`` passes; return the set of
        asserted lines (empty on timeout)."""

    @abstractmethod
    def asserted_irqs(self):
        """The set of interrupt lines asserted now."""

    @abstractmethod
    async def udelay(self, us):
        """Spend ``us`` microseconds."""


class Kernel:
    def __init__(self, platform, *, console=print):
        self.platform = platform
        self.console = console
        self.log = []                   # lines of the kernel log, without time stamps
        self.log_ns = []                # when each was printed
        self._handlers = {}             # line -> [(handler, name)]
        self._unhandled = {}
        self._disabled = set()
        self._work = []                 # deferred work, run after interrupt handlers
        self._napi = []                 # NAPI contexts scheduled to poll
        self.netdevs = {}
        self.netdev_notifiers = []      # called with ("unregister", netdev)
        self.modules = {}
        self.signal_pending = False     # set by the console's Ctrl-C, cleared by the shell

    # Log.

    def printk(self, message):
        ns = self.platform.now_ns()
        seconds, micro = divmod(int(ns // 1000), 1_000_000)
        self.log.append(message)
        self.log_ns.append(ns)
        self.console(f"[{seconds:5d}.{micro:06d}] {message}")

    # Interrupts and deferred work.

    def request_irq(self, line, handler, name):
        """Register ``async handler(line) -> IRQ_HANDLED | IRQ_NONE`` for an interrupt line."""
        if line is None:
            raise ValueError(f"{name}: no interrupt line")
        self._handlers.setdefault(line, []).append((handler, name))
        self._disabled.discard(line)
        self._unhandled[line] = 0

    def free_irq(self, line, handler):
        # By equality: a bound method is a new object each time it is taken from its instance.
        handlers = self._handlers.get(line, [])
        self._handlers[line] = [(h, n) for h, n in handlers if h != handler]

    def schedule_work(self, work):
        """Run ``async work()`` once, after the interrupt handlers (``schedule_work``)."""
        if work not in self._work:
            self._work.append(work)

    def defer(self, work):
        """Run ``async work()`` after the current bottom half, however often it is queued."""
        self._work.append(work)

    def napi_schedule(self, napi):
        if not napi.scheduled:
            napi.scheduled = True
            self._napi.append(napi)

    def napi_complete_done(self, napi, work_done):
        napi.scheduled = False

    async def _softirq(self):
        """Run scheduled NAPI polls until none asks to run again, then deferred work."""
        rounds = 0
        while self._napi:
            napi = self._napi.pop(0)
            done = await napi.poll(napi.weight)
            if done >= napi.weight and napi.scheduled:
                self._napi.append(napi)         # more to do: poll again
            rounds += 1
            if rounds > 10_000:
                raise RuntimeError("NAPI polls do not finish")
        while self._work:
            work = self._work.pop(0)
            await work()

    async def _dispatch(self, lines):
        for line in sorted(lines):
            handlers = self._handlers.get(line)
            if not handlers or line in self._disabled:
                continue
            handled = IRQ_NONE
            for handler, _ in handlers:
                handled |= await handler(line)
            if handled:
                self._unhandled[line] = 0
            else:
                self._unhandled[line] += 1
                if self._unhandled[line] >= _SPURIOUS_LIMIT:
                    self._disabled.add(line)
                    self.printk(f"irq {line}: nobody cared, disabling it")
        await self.run_work()

    async def run_work(self):
        """Run the bottom halves: NAPI polls, then deferred work."""
        while self._napi or self._work:
            await self._softirq()

    def _wanted(self, lines):
        return {line for line in lines if self._handlers.get(line) and line not in self._disabled}

    async def idle(self, timeout_ns):
        """Let ``timeout_ns`` pass, or less if an interrupt came; handle what came."""
        pending = self._wanted(self.platform.asserted_irqs())
        if not pending:
            pending = self._wanted(await self.platform.wait_irq(timeout_ns))
        if pending:
            await self._dispatch(pending)
        else:
            await self.run_work()
        return bool(pending)

    async def wait_event_timeout(self, condition, timeout_us):
        """Wait, taking interrupts, until ``condition()`` holds; return whether it did in time."""
        deadline = self.platform.now_ns() + timeout_us * 1000
        await self.run_work()
        while not condition():
            left = deadline - self.platform.now_ns()
            if left <= 0:
                return False
            await self.idle(left)
        return True

    async def wait_event_interruptible_timeout(self, condition, timeout_us):
        """``wait_event_timeout`` that a pending signal ends with ``Interrupted``, for the
        sleeps of commands (ping's wait for a reply): the driver's own waits are not broken."""
        deadline = self.platform.now_ns() + timeout_us * 1000
        await self.run_work()
        while not condition():
            if self.signal_pending:
                raise Interrupted()
            left = deadline - self.platform.now_ns()
            if left <= 0:
                return False
            # In slices, so that a signal is seen within 1 ms of simulated time (a few tenths
            # of a second of wall time).
            await self.idle(min(left, 1_000_000))
        return True

    async def poll_timeout(self, read, condition, *, sleep_us, timeout_us, what):
        """``read_poll_timeout``: call ``await read()`` until ``condition(value)``, sleeping
        ``sleep_us`` in between, for at most ``timeout_us``. Returns the last value read."""
        deadline = self.platform.now_ns() + timeout_us * 1000
        while True:
            value = await read()
            if condition(value):
                return value
            if self.platform.now_ns() >= deadline:
                raise KernelTimeout(f"timed out after {timeout_us} us waiting for {what} "
                                    f"(last read {value:#010x})")
            if sleep_us:
                await self.platform.udelay(sleep_us)

    async def udelay(self, us):
        await self.platform.udelay(us)

    # Network devices.

    def register_netdev(self, netdev, name=None):
        """Name ``netdev`` (the next free ``ethN`` unless ``name`` is given) and list it."""
        if name is None:
            n = 0
            while f"eth{n}" in self.netdevs:
                n += 1
            name = f"eth{n}"
        netdev.name = name
        netdev.ifindex = len(self.netdevs) + 2      # 1 is lo
        netdev.kernel = self
        self.netdevs[netdev.name] = netdev
        return netdev.name

    def unregister_netdev(self, netdev):
        """Remove ``netdev``; everything that registered in ``netdev_notifiers`` is told, as
        the kernel's protocols are (NETDEV_UNREGISTER), to forget its addresses and routes."""
        for vlan in list(netdev.vlans.values()):
            self.unregister_netdev(vlan)            # the VLAN devices on it go first
        netdev.vlans.clear()
        if self.netdevs.get(netdev.name) is netdev:
            del self.netdevs[netdev.name]
            for notify in list(self.netdev_notifiers):
                notify("unregister", netdev)
