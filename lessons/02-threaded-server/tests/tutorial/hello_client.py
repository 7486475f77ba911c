"""The tutorial's hello client, as a student writes it from the tutorial's description
(not its code): read the greeting with one recv(), send each name with no line end and
read its answer with one recv(), then send `exit` and close.

    python3 hello_client.py PORT [NAME ...] [--encoding gbk]   (default: Rose Think Babala)
"""

import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("--encoding", default="utf-8")
parser.add_argument("names", nargs="*", default=["Rose", "Think", "Babala"])
args = parser.parse_args()

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", args.port))
# The greeting: the tutorial assumes one recv() is one whole message.
print(client.recv(1024).decode(args.encoding), flush=True)
for name in args.names:
    client.send(name.encode(args.encoding))
    print(client.recv(1024).decode(args.encoding), flush=True)
client.send(b"exit")
client.close()
