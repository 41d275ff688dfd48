#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""sp_spoof - test helper: answers the SYNs it sniffs with crafted replies (scapy).

Usage: sp_spoof.py IFACE READY_FILE

Runs in the server's namespace, where nothing answers the SYNs to the ports below (the test drops
them with nft before the kernel sees them). For each SYN to one of those ports, IPv4 or IPv6, it
injects on IFACE the reply that port stands for, built from the SYN (ISN, addresses, ports), and
prints one line "PORT FAMILY CASE" (flushed). READY_FILE is written once the sniffer runs. Stops on
SIGTERM.
"""
import os
import sys

from scapy.all import (ICMP, IP, TCP, Ether, ICMPv6DestUnreach, ICMPv6PacketTooBig, IPv6,
                       IPv6ExtHdrFragment, Raw, conf, sniff)

# Port: (case, what synprobe must report). The first five are spoofs or path signals: never an
# answer. The lying options: doff past the packet (the kernel drops it) and an option length past
# the header (the kernel stops parsing the options and takes the SYN-ACK: open, flagged).
CASES = {
    9001: "synack_bad_ack",    # SYN-ACK, ack = ISN + 2
    9002: "rst_bare",          # RST without ACK
    9003: "rst_bad_ack",       # RST+ACK, ack = ISN + 5
    9004: "unreach_bad_seq",   # ICMP host / ICMPv6 address unreachable quoting seq ISN + 1000
    9005: "too_big",           # ICMP fragmentation needed / ICMPv6 packet too big, right seq
    9006: "synack_doff_lie",   # SYN-ACK, right ack, data offset 60 bytes in a 20-byte header
    9007: "synack_optlen_lie",  # SYN-ACK, right ack, MSS option whose length (40) passes the header
    9008: "synack_genuine",    # SYN-ACK, right ack; IPv6: as an atomic fragment (RFC 6946)
    9009: "unreach_genuine",   # ICMP host / ICMPv6 address unreachable quoting the SYN as sent
}


def quoted(syn_l3, seq=None):
    """The SYN's IP packet as an ICMP error quotes it, its sequence number replaced by @seq."""
    q = syn_l3.copy()
    if seq is not None:
        q[TCP].seq = seq
        del q[TCP].chksum
    return Raw(bytes(q))


def reply(pkt):
    """The frame that answers the SYN @pkt, or None."""
    tcp = pkt[TCP]
    case = CASES.get(tcp.dport)
    if case is None:
        return None, None
    v6 = IPv6 in pkt
    syn_l3 = pkt[IPv6] if v6 else pkt[IP]
    isn = tcp.seq
    eth = Ether(src=pkt[Ether].dst, dst=pkt[Ether].src)
    l3 = IPv6(src=syn_l3.dst, dst=syn_l3.src) if v6 else IP(src=syn_l3.dst, dst=syn_l3.src)
    ports = dict(sport=tcp.dport, dport=tcp.sport)
    seq = 0x5eed0000 + tcp.sport
    if case == "synack_bad_ack":
        l4 = TCP(flags="SA", seq=seq, ack=(isn + 2) & 0xffffffff, **ports)
    elif case == "rst_bare":
        l4 = TCP(flags="R", seq=0, ack=0, window=0, **ports)
    elif case == "rst_bad_ack":
        l4 = TCP(flags="RA", seq=0, ack=(isn + 5) & 0xffffffff, window=0, **ports)
    elif case == "unreach_bad_seq":
        q = quoted(syn_l3, (isn + 1000) & 0xffffffff)
        l4 = ICMPv6DestUnreach(code=3) / q if v6 else ICMP(type=3, code=1) / q
    elif case == "too_big":
        q = quoted(syn_l3)
        l4 = ICMPv6PacketTooBig(mtu=1280) / q if v6 else ICMP(type=3, code=4, nexthopmtu=576) / q
    elif case == "synack_doff_lie":
        l4 = TCP(flags="SA", seq=seq, ack=(isn + 1) & 0xffffffff, dataofs=15, **ports)
    elif case == "synack_optlen_lie":
        # Four bytes of options (data offset 6): MSS, kind 2, length 40.
        l4 = TCP(flags="SA", seq=seq, ack=(isn + 1) & 0xffffffff, dataofs=6, **ports) / \
            Raw(b"\x02\x28\x05\xb4")
    elif case == "synack_genuine":
        l4 = TCP(flags="SA", seq=seq, ack=(isn + 1) & 0xffffffff, **ports)
        if v6:
            l4 = IPv6ExtHdrFragment(offset=0, m=0, id=0x5eed) / l4
    else:  # unreach_genuine
        q = quoted(syn_l3)
        l4 = ICMPv6DestUnreach(code=3) / q if v6 else ICMP(type=3, code=1) / q
    return eth / l3 / l4, case


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sp_spoof.py IFACE READY_FILE")
    iface, ready = sys.argv[1], sys.argv[2]
    conf.verb = 0
    sock = conf.L2socket(iface=iface)

    def is_syn(pkt):
        return TCP in pkt and (IP in pkt or IPv6 in pkt) and pkt[TCP].flags == "S"

    def answer(pkt):
        frame, case = reply(pkt)
        if frame is None:
            return
        sock.send(frame)
        print(pkt[TCP].dport, "ipv6" if IPv6 in pkt else "ipv4", case, flush=True)

    def started():
        with open(ready + ".tmp", "w") as f:
            f.write("ready\n")
        os.rename(ready + ".tmp", ready)

    sniff(iface=iface, lfilter=is_syn, prn=answer, store=False, started_callback=started)


if __name__ == "__main__":
    main()
