"""Transmit descriptors of all three kinds, read as one kind of request for the fetcher.

Reference: SDM 3.3.3 (legacy descriptor), 3.3.5 (context descriptor), 3.3.7 (data descriptor).

Contract: a stream stage without registers on the data path: ``requests`` has ``descs``'s
valid and ready, and a payload decoded from it combinationally. A context descriptor (DEXT set,
DTYP 0) becomes a request without data, frame or checksum work, which keeps its place in the
ring for the write-back; as it is taken, its offsets become the context for the frames after
it. A data descriptor (DEXT set, any other DTYP) takes its checksum work (POPTS) and the context
at the frame's first descriptor, and with DCMD.TSE the context's segmentation (HDRLEN, MSS,
PAYLEN, TUCMD.IP and TCP); a legacy descriptor asks for the TCP/UDP checksum with IC,
from CSS to the frame's end, inserted at CSO.

Like the POPTS of a data descriptor, the IC, CSS and CSO of a legacy frame are taken from its
first descriptor (the SDM asks for CSS there, and qualifies IC by EOP; drivers set them in the
one descriptor a frame usually has). VLE and the special field are passed on with every
descriptor; the tag of the descriptor with a frame's (or segment's) last byte is the one that
counts. Lengths beyond 17 bits read as 0x1FFFF, which is more than
any frame takes (the fetcher cuts such a frame).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .desc import (TXD_CMD, TXD_DCMD, TXD_DTYP, TXD_POPTS, TXD_TUCMD, TxContextDescriptor,
                   TxDataDescriptor, TxDescriptor)
from .txframe import TxWork


__all__ = ["TxRequest", "TxDescriptorDecoder"]


class TxRequest(data.Struct):
    addr: 64
    length: 17          # bytes of frame data
    eop: 1
    ifcs: 1
    rs: 1
    ide: 1
    first: 1            # the frame's first descriptor with data or EOP: ``work`` is its work
    work: TxWork
    vlan: 1             # VLE
    tci: 16             # the special field


class TxDescriptorDecoder(wiring.Component):
    """A stream stage with no registers on the data path: ``requests`` has the valid and ready of
    ``descs`` and a payload decoded from it; a context descriptor sets the context as it is taken.

    Members
    -------
    descs : In(stream.Signature(TxDescriptor))
        Descriptors in ring order, as legacy descriptors: the other kinds are views of the same
        bits.
    requests : Out(stream.Signature(TxRequest))
    """
    descs: In(stream.Signature(TxDescriptor))
    requests: Out(stream.Signature(TxRequest))

    def elaborate(self, platform):
        m = Module()
        legacy = self.descs.payload
        ext = TxDataDescriptor(legacy.as_value())
        new_context = TxContextDescriptor(legacy.as_value())
        req = self.requests.payload
        m.d.comb += [self.requests.valid.eq(self.descs.valid),
                     self.descs.ready.eq(self.requests.ready)]

        # The command byte is in the same place in all three kinds.
        cmd = legacy.cmd
        extended = (cmd & TXD_CMD.DEXT) != 0
        is_context = extended & (ext.dtyp == TXD_DTYP.CONTEXT)
        context = Signal(TxContextDescriptor)
        in_frame = Signal()         # a descriptor of the frame, without EOP, has gone by
        length = Mux(extended, ext.length, legacy.length)
        m.d.comb += [
            req.addr.eq(legacy.buffer_addr),
            req.length.eq(Mux(is_context, 0, Mux(length[17:].any(), 0x1FFFF, length))),
            req.eop.eq(~is_context & ((cmd & TXD_CMD.EOP) != 0)),
            req.ifcs.eq(~is_context & ((cmd & TXD_CMD.IFCS) != 0)),
            req.rs.eq((cmd & TXD_CMD.RS) != 0),
            req.ide.eq((cmd & TXD_CMD.IDE) != 0),
            req.first.eq(~is_context & ~in_frame),
            req.vlan.eq(~is_context & ((cmd & TXD_CMD.VLE) != 0)),
            req.tci.eq(legacy.special),
        ]
        offload, tso = req.work.offload, req.work.tso
        # What only a data descriptor's frame uses is taken from the context whatever the kind
        # (the flags that ask for it are clear for a legacy descriptor).
        m.d.comb += [
            offload.ipcss.eq(context.ipcss),
            offload.ipcso.eq(context.ipcso),
            offload.ipcse.eq(context.ipcse),
            tso.ipv4.eq((context.tucmd & TXD_TUCMD.IP) != 0),
            tso.tcp.eq((context.tucmd & TXD_TUCMD.TCP) != 0),
            tso.hdrlen.eq(context.hdrlen),
            tso.mss.eq(context.mss),
            tso.paylen.eq(context.paylen),
        ]
        with m.If(extended):
            m.d.comb += [
                offload.ip.eq((ext.popts & TXD_POPTS.IXSM) != 0),
                offload.tu.eq((ext.popts & TXD_POPTS.TXSM) != 0),
                offload.tucss.eq(context.tucss),
                offload.tucso.eq(context.tucso),
                offload.tucse.eq(context.tucse),
                offload.udp.eq((context.tucmd & TXD_TUCMD.TCP) == 0),
                tso.tse.eq((ext.dcmd & TXD_DCMD.TSE) != 0),
            ]
        with m.Else():
            m.d.comb += [
                offload.tu.eq((cmd & TXD_CMD.IC) != 0),
                offload.tucss.eq(legacy.css),
                offload.tucso.eq(legacy.cso),
            ]

        with m.If(self.descs.valid & self.descs.ready):
            with m.If(is_context):
                m.d.sync += context.eq(new_context)
            with m.Else():
                m.d.sync += in_frame.eq(~req.eop)
        return m
