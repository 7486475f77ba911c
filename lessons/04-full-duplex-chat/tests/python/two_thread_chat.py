"""The tutorials' two-thread UDP chat, written again from their description.

The main thread binds a port and waits for a first datagram, which tells it who the other
side is. Then one thread receives and prints, the other reads lines and sends each one,
encoded, without its line end. Used by tests/python.rs against our peer.

Usage: python3 two_thread_chat.py BIND_IP ENCODING   (e.g. 127.0.0.1 gbk)
"""

import socket
import sys
import threading

ip, encoding = sys.argv[1], sys.argv[2]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((ip, 0))
# The readiness line of the course, so the test knows the port without sleeping.
print("listening on %s:%d" % udp.getsockname(), flush=True)

# The first message tells us who talks to us.
data, peer = udp.recvfrom(1024)
print("first from %s:%d: %s" % (peer[0], peer[1], data.decode(encoding)), flush=True)


def receive():
    while True:
        data, sender = udp.recvfrom(1024)
        print("from %s:%d: %s" % (sender[0], sender[1], data.decode(encoding)), flush=True)


def send():
    for line in sys.stdin:
        udp.sendto(line.rstrip("\r\n").encode(encoding), peer)


threading.Thread(target=receive, daemon=True).start()
sender = threading.Thread(target=send)
sender.start()
sender.join()  # at the end of input; the daemon receive thread ends with the program
