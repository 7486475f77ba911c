"""The tutorials' UDP "chat room" (聊天室), half duplex, written from its description:
bind a port, then for each datagram print the time, the sender and the text (GBK),
read the operator's reply from stdin and send it, GBK-encoded, back to that sender.

    python3 chat_room.py HOST      # binds HOST, port 0; prints `listening on HOST:PORT`
Ends at the end of stdin.
"""
import socket
import sys
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(10)
print("listening on %s:%d" % s.getsockname(), flush=True)
while True:
    data, sender = s.recvfrom(1024)
    print("time: [%s], from: %s:%d, message: %s"
          % (time.ctime(), sender[0], sender[1], data.decode("gbk")), flush=True)
    reply = sys.stdin.readline()
    if not reply:
        break
    s.sendto(reply.rstrip("\n").encode("gbk"), sender)
s.close()
