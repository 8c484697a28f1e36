"""Register values the register-level users of the bench share (tests, benchmarks, the fault
campaign), composed from the register map's fields rather than written as numbers.

``TCTL``: transmitter on, short frames padded, the collision threshold and distance the SDM
recommends for full duplex. ``TIPG``: the SDM's gap for copper (IPGT 8, IPGR1 8, IPGR2 6).
``RCTL``: receiver on, broadcasts accepted, the FCS stripped, 2 KiB buffers.
"""

from hw.regmap import reg


__all__ = ["RCTL", "TCTL", "TIPG"]

TCTL = reg.TCTL.value(EN=1, PSP=1, CT=0x10, COLD=0x40)
TIPG = reg.TIPG.value(IPGT=8, IPGR1=8, IPGR2=6)
RCTL = reg.RCTL.value(EN=1, BAM=1, SECRC=1)
