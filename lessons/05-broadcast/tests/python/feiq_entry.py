"""A BR_ENTRY as FeiQ sends it, written from the tutorials' description of IPMsg.

FeiQ (and IP Messenger before version 3) writes its packets in the machine's encoding,
GBK on a Chinese Windows, and sets no UTF8OPT: 1:<packet-no>:<user>:<host>:1:<nick>\\0<group>\\0.
This script sends one to a listener, waits for the ANSENTRY, and prints it decoded as the
packet says: UTF-8 with UTF8OPT (0x800000), else GBK. Used by tests/encodings.rs.

Usage: python3 feiq_entry.py LISTENER_IP LISTENER_PORT
"""

import socket
import sys
import time

UTF8OPT = 0x00800000
ANSENTRY = 0x03

listener = (sys.argv[1], int(sys.argv[2]))
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.settimeout(10)

packet_no = int(time.time())
entry = "1:%d:张三:张三-PC:1:张三\0技术部\0" % packet_no
udp.sendto(entry.encode("gbk"), listener)

data, sender = udp.recvfrom(8192)
fields = data.rstrip(b"\0").split(b":", 5)
command = int(fields[4])
encoding = "utf-8" if command & UTF8OPT else "gbk"
user, host = fields[2].decode(encoding), fields[3].decode(encoding)
mode = "ANSENTRY" if command & 0xFF == ANSENTRY else "mode %d" % (command & 0xFF)
print("%s from %s@%s (%s, %d bytes for %d)" % (mode, user, host, encoding, len(data), len(entry.encode("gbk"))))
