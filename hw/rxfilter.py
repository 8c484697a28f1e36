"""The receive filter: whether a frame is for this station, by its destination and VLAN.

Reference: SDM 13.4.22 (RCTL), 13.5.1-13.5.3 (multicast table, receive addresses, VLAN filter
table).

Contract: ``start`` (a pulse, with the destination address complete on ``dest``, which then
holds until the next ``start``) begins the look-ups; ``busy`` stays high while they run, some
23 cycles (the sixteen receive address entries are read one a cycle, each compare registered),
and ``passed`` is the verdict once it falls, registered, and current every cycle after: the
frame is addressed (``addressed``) and an exact match of a valid receive address, broadcast with
RCTL.BAM, any multicast with RCTL.MPE, any unicast with RCTL.UPE, or a multicast whose 12-bit
hash (selected by RCTL.MO) hits the multicast table; and, for a frame tagged with VET
(``tagged``, its tag control information on ``tci`` once ``tci_valid`` rises), a VLAN ID set in
the VLAN filter table with RCTL.VFE and a CFI equal to RCTL.CFI with RCTL.CFIEN (two cycles
after ``tci_valid``). ``new_frame`` forgets the last frame's tag. ``exact`` and ``broadcast``
(registered) go into the frame's report too.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .regmap import reg


__all__ = ["RxAddressFilter", "FilterTablesSignature"]

_MTA_SHIFT = (4, 3, 2, 0)


class FilterTablesSignature(wiring.Signature):
    """The filter's look-ups into the register file's tables, seen from the filter: each
    table's data comes two cycles after its address. The receive address table's port is
    shared with software, whose reads come first: ``ra_busy`` says the address was not read
    this cycle, ask again.

    Parameters
    ----------
    addresses : int
        Entries of the receive address table (RAL low, RAH high in each 64-bit row).
    """

    def __init__(self, addresses=16):
        super().__init__({
            "ra_addr": Out(range(addresses)),
            "ra_data": In(64),
            "ra_busy": In(1),
            "mta_addr": Out(7),
            "mta_data": In(32),
            "vfta_addr": Out(7),
            "vfta_data": In(32),
        })


class RxAddressFilter(wiring.Component):
    """``start`` begins the look-ups with the destination on ``dest``; ``busy`` is high for some 23
    cycles, then ``passed`` is the verdict, registered and current every cycle after (see the
    module's contract).

    Parameters
    ----------
    addresses : int
        Entries of the receive address table.

    Members
    -------
    start, dest, addressed : In(1), In(48), In(1)
    new_frame, tagged, tci, tci_valid : In(1), In(1), In(16), In(1)
    rctl : In(32)
    tables : Out(FilterTablesSignature(addresses))
        The receive address, multicast and VLAN filter tables.
    busy, passed, exact, broadcast : Out(1)
    """

    def __init__(self, *, addresses=16):
        self._addresses = addresses
        super().__init__({
            "start": In(1),
            "dest": In(48),
            "addressed": In(1),
            "new_frame": In(1),
            "tagged": In(1),
            "tci": In(16),
            "tci_valid": In(1),
            "rctl": In(32),
            "tables": Out(FilterTablesSignature(addresses)),
            "busy": Out(1),
            "passed": Out(1),
            "exact": Out(1),
            "broadcast": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        dest, rctl, tables = self.dest, reg.RCTL.view(self.rctl), self.tables

        # The all-ones compare is registered: it also goes into the frame's report, far from
        # here.
        m.d.sync += self.broadcast.eq(dest == 0xFFFF_FFFF_FFFF)
        multicast = dest[0]
        # Exact match: one table entry a cycle, starting when the address is complete.
        scanning = Signal()         # presenting an entry's address
        reading = Signal()          # its row is being read
        checking = Signal()         # ...and is on ra_data
        matching = Signal()         # its compare, in three parts, is registered
        settling = Signal()         # the last result is going into ``passed``
        entry = Signal(range(self._addresses))
        m.d.comb += tables.ra_addr.eq(entry)
        m.d.sync += [reading.eq(scanning & ~tables.ra_busy), checking.eq(reading),
                     matching.eq(checking), settling.eq(matching)]
        with m.If(scanning & ~tables.ra_busy):
            m.d.sync += entry.eq(entry + 1)
            with m.If(entry == self._addresses - 1):
                m.d.sync += scanning.eq(0)
        valid = reg.RAH.view(tables.ra_data[32:]).av
        parts = Signal(3)
        m.d.sync += parts.eq(Cat(valid & (dest[:16] == tables.ra_data[:16]),
                                 dest[16:32] == tables.ra_data[16:32],
                                 dest[32:48] == tables.ra_data[32:48]))
        with m.If(matching & parts.all()):
            m.d.sync += self.exact.eq(1)
        # Timing: the scan begins a cycle after ``start``, which comes from the receive MAC's
        # byte count, across the core from the table.
        begin = Signal()
        m.d.sync += begin.eq(self.start)
        with m.If(begin):
            m.d.sync += [scanning.eq(1), entry.eq(0), self.exact.eq(0)]
        m.d.comb += self.busy.eq(begin | scanning | reading | checking | matching | settling)

        # Multicast hash.
        shift = Signal(3)
        with m.Switch(rctl.mo):
            for mo, amount in enumerate(_MTA_SHIFT):
                with m.Case(mo):
                    m.d.comb += shift.eq(amount)
        hash12 = (Cat(dest[32:40], dest[40:48]) >> shift)[:12]
        hash_bit = Signal(5)
        hash_bit_q = Signal(5)      # in step with mta_data, two cycles after the address
        m.d.comb += tables.mta_addr.eq(hash12[5:12])
        m.d.sync += [hash_bit_q.eq(hash12[:5]), hash_bit.eq(hash_bit_q)]
        # Timing: the table's bit is registered before the verdict (the look-up settles many
        # cycles before the exact-match scan ends).
        hash_hit = Signal()
        m.d.sync += hash_hit.eq(tables.mta_data.bit_select(hash_bit, 1))

        # The VLAN filter, as soon as the tag control information is in. Timing: the table's
        # bit is registered first, as the multicast table's is.
        vlan_ok = Signal()          # not tagged, or the tag passed
        looked_up = Signal(3)       # ``tci_valid`` one, two, three cycles ago: the row is in,
        tci = self.tci              # ...then its bit
        vfta_hit = Signal()
        m.d.comb += tables.vfta_addr.eq(tci[5:12])
        m.d.sync += [looked_up.eq(Cat(self.tci_valid, looked_up[:2])),
                     vfta_hit.eq(tables.vfta_data.bit_select(tci[:5], 1))]
        with m.If(self.new_frame):
            m.d.sync += vlan_ok.eq(1)
        with m.Elif(looked_up[2]):
            cfi_ok = ~rctl.cfien | (tci[12] == rctl.cfi)
            m.d.sync += vlan_ok.eq(~self.tagged | ((vfta_hit | ~rctl.vfe) & cfi_ok))

        # Registered: the verdict is ready long before the frame ends, and keeping the table
        # look-ups off the end-of-frame logic shortens the core's longest paths.
        m.d.sync += self.passed.eq(self.addressed & vlan_ok & (
            self.exact | (self.broadcast & rctl.bam) | (multicast & rctl.mpe)
            | (~multicast & rctl.upe) | (multicast & ~self.broadcast & hash_hit)))
        return m
