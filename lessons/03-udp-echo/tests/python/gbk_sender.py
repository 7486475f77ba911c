"""The tutorials' UDP sender: text encoded as GBK, one sendto, one recvfrom.

Written for the tests from the tutorials' description (not their code):
    python3 gbk_sender.py HOST PORT TEXT
sends TEXT.encode('gbk') to HOST:PORT, waits for one datagram, and prints
`sent HEX` and `got HEX from HOST:PORT`, then the answer decoded as GBK.
"""
import socket
import sys

host, port, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
data = text.encode("gbk")
s.sendto(data, (host, port))
print("sent", data.hex(), flush=True)
answer, sender = s.recvfrom(1024)
print("got", answer.hex(), "from %s:%d" % sender, flush=True)
print("text", answer.decode("gbk"), flush=True)
s.close()
