"""The tutorials' UDP client for a talk, written from their description: send each
line of stdin (encoded as ENCODING) to HOST:PORT, print the answer.

    python3 talk_client.py HOST PORT ENCODING
For each answer prints `answer: TEXT (HEX)`.
"""
import socket
import sys

host, port, encoding = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
for line in sys.stdin:
    s.sendto(line.rstrip("\n").encode(encoding), (host, port))
    answer, sender = s.recvfrom(1024)
    print("answer: %s (%s)" % (answer.decode(encoding), answer.hex()), flush=True)
s.close()
