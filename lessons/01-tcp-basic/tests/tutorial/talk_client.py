"""The client of the tutorials' half-duplex talk, as a student writes it from the
tutorial's description (not its code): connect, then take turns. Send each typed line
WITHOUT a line end, wait for one recv() as the server's answer, and stop when either
side says `bye`.

    python3 talk_client.py PORT [--encoding gbk]    (lines on stdin)

Each answer is printed with its bytes in hex, so a test can check them byte for byte.
"""

import argparse
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("--encoding", default="utf-8")
args = parser.parse_args()

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", args.port))
for line in sys.stdin:
    text = line.rstrip("\n")
    # The tutorial's assumption: one send() is one message, so no line end is needed.
    client.send(text.encode(args.encoding))
    if text == "bye":
        break
    data = client.recv(1024)
    if not data:
        print("the server closed the connection", flush=True)
        break
    answer = data.decode(args.encoding)
    print("server says: %s [%s]" % (answer, data.hex()), flush=True)
    if answer == "bye":
        break
client.close()
print("closed", flush=True)
