"""The fault campaign (sim/fuzz.py): a short campaign finds nothing, the rounds that found bugs
stay fixed, its checks can fail, and its command line answers bad input in one line."""

import subprocess
import sys
import zlib

import pytest

from hw.core import DEFAULT_MAC
from hw.desc import RXD_STA
from sim.fuzz import Campaign, Expected, FuzzFailure, RxSetup


def test_a_short_campaign_finds_nothing():
    campaign = Campaign(seed=2, rounds=60)
    assert campaign.run(), campaign.failure
    t = campaign.totals
    assert all(t.rounds[kind] >= 10 for kind in ("rx", "tx", "fault")), t.rounds
    assert t.rx_frames > 500 and t.rx_delivered > 200 and t.tx_frames > 200
    assert set(t.faults) == {"reset", "cable", "bus_master", "registers"}
    assert t.dma_faults >= 1
    report = campaign.report()
    assert report["failures"] == 0 and report["rounds_by_kind"] == t.rounds


@pytest.mark.parametrize("seed, rounds, kinds", [
    # The fetcher gave a beat's reservation back while its word still waited at the end of a
    # descriptor; a read then overfilled the word queue by one, the count wrapped and the
    # transmitter stopped for good.
    (1, 7, ("tx",)),
    # A 4096-byte buffer one byte into its quadword: its last byte landed past its end.
    (1, 4, ("rx",)),
])
def test_rounds_that_found_bugs(seed, rounds, kinds):
    campaign = Campaign(seed=seed, rounds=rounds, kinds=kinds)
    assert campaign.run(), campaign.failure


def _setup():
    return RxSetup(rctl=0, buffer=2048, lpe=False, secrc=True, sbp=False, mta=set(),
                   ra1=bytes(6))


def test_the_accounting_catches_what_it_must():
    # A good frame to our address, checked against made-up results.
    campaign = Campaign.__new__(Campaign)
    frame = DEFAULT_MAC + bytes(54)
    body = frame + zlib.crc32(frame).to_bytes(4, "little")
    good = _setup().verdict(body, False, False)
    assert good == Expected("GPRC", False, (frame, RXD_STA.IXSM, 0), False)
    counts = {"RXERRC": 0, "RFC": 0, "RJC": 0, "CRCERRS": 0, "RUC": 0, "ROC": 0, "GPRC": 1,
              "MPC": 0, "TPR": 1}
    campaign._check_account([good], [(frame, RXD_STA.IXSM, 0)], counts)  # all is well
    with pytest.raises(FuzzFailure, match="not one that was sent"):
        campaign._check_account([good], [(frame[:-1], RXD_STA.IXSM, 0)], counts)   # corrupted
    with pytest.raises(FuzzFailure, match="more frames filtered than expected"):
        campaign._check_account([good], [], dict(counts, GPRC=0))         # lost, not counted
    campaign._check_account([good], [], dict(counts, GPRC=0, MPC=1))      # missed: counted
    with pytest.raises(FuzzFailure, match="TPR"):
        campaign._check_account([good, good], [(frame, RXD_STA.IXSM, 0)], counts)  # unseen


@pytest.mark.parametrize("args, message", [
    (["--rounds", "0"], "--rounds must be at least 1"),
    (["--kinds", "rx,bogus"], "--kinds takes rx, tx and fault"),
    (["--json", "tests"], "--json: tests is a folder"),
])
def test_bad_command_lines_get_one_line(args, message):
    result = subprocess.run([sys.executable, "-m", "sim.fuzz", "--quiet", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_the_campaigns_checksum_reference_agrees_with_scapy():
    # The campaign checks the receive checksum offload against its own reference; the reference
    # itself is checked here against frames scapy builds, right and with one byte wrong.
    import random
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Dot1Q, Ether
    from sim.fuzz import checksum_verdict, ipv4_frame

    def fcs(frame):
        return frame + zlib.crc32(frame).to_bytes(4, "little")

    eth = Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56")
    tcp = bytes(eth / IP(src="1.2.3.4", dst="5.6.7.8") / TCP(sport=1, dport=2) / (b"a" * 99))
    udp = bytes(eth / Dot1Q(vlan=3) / IP(src="1.2.3.4", dst="5.6.7.8") / UDP() / b"b")
    assert checksum_verdict(fcs(tcp)) == (1, 1, 1, 1)
    assert checksum_verdict(fcs(udp + bytes(60 - len(udp)))) == (1, 1, 1, 1)
    assert checksum_verdict(fcs(tcp[:24] + b"\0" + tcp[25:])) == (1, 0, 1, 1)    # IP checksum
    assert checksum_verdict(fcs(tcp[:-1] + b"c")) == (1, 1, 1, 0)                 # payload
    # The campaign's own frames are right by scapy too.
    rng = random.Random(4)
    for _ in range(50):
        frame = ipv4_frame(rng, b"\x52\x54\x00\x12\x34\x56")
        packet = Ether(frame)
        ip = packet[IP]
        l4 = ip.payload
        ip_sum, l4_sum = ip.chksum, l4.chksum
        del ip.chksum, l4.chksum
        rebuilt = Ether(bytes(packet))[IP]
        assert (rebuilt.chksum, rebuilt.payload.chksum) == (ip_sum, l4_sum)
        assert checksum_verdict(fcs(frame + bytes(max(0, 60 - len(frame))))) == (1, 1, 1, 1)


def test_the_campaigns_transmit_checksum_reference_agrees_with_scapy():
    # The frames of the campaign's transmit rounds are checked against ``inserted``; it is
    # checked here against scapy: a frame with its IP checksum zeroed and its TCP or UDP
    # checksum seeded with the pseudo-header sum, as a driver hands it over, comes out as the
    # frame scapy builds.
    import random
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    from sim.fuzz import _fold, _sum16, inserted

    rng = random.Random(9)
    for n in range(40):
        l4 = TCP(sport=n, dport=80, seq=n) if n % 2 else UDP(sport=n, dport=53)
        frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2", id=n) / l4
                      / rng.randbytes(rng.randrange(0, 300)))
        at = 50 if n % 2 else 40
        handed = bytearray(frame)
        handed[24:26] = bytes(2)
        pseudo = _fold(_sum16(frame[26:34]) + frame[23] + len(frame) - 34)
        handed[at:at + 2] = pseudo.to_bytes(2, "big")
        assert inserted(bytes(handed), ip=True, ipcss=14, ipcso=24, ipcse=33, tu=True,
                        tucss=34, tucso=at, tucse=0, udp=not n % 2) == frame


def test_the_campaigns_segmentation_reference_agrees_with_scapy():
    # The segments sim.fuzz.segmented makes of a super-packet as e1000_tso hands it over are
    # the frames scapy builds from the same header and each MSS of the payload.
    from sim.fuzz import segmented
    from test_tso import header, payload_of, segments, super_packet
    head = header(flags="FPA", options=[("NOP", None), ("NOP", None), ("Timestamp", (5, 6))])
    payload = payload_of(4000, salt=9)
    frame, hdrlen = super_packet(head, payload)
    work = dict(ip=True, ipcss=14, ipcso=24, ipcse=33, tu=True, tucss=34, tucso=50, tucse=0)
    assert segmented(frame, hdrlen=hdrlen, mss=1000, ipcss=14, tucss=34, ipv4=True, tcp=True,
                     work=work) == segments(head, payload, 1000)
