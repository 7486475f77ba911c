"""The first tutorial's client, written from its description: one recv() for the
greeting, then for each name one send() with no line end and one recv() for the answer;
at the end `exit`, and close.

    python3 hello_client.py PORT [NAME ...]        (default names: Rose Think Babala)
"""

import socket
import sys

port = int(sys.argv[1])
names = sys.argv[2:] or ["Rose", "Think", "Babala"]

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", port))
client.settimeout(20)  # a test must end even if the server never answers
print(client.recv(1024).decode("utf-8"), flush=True)
for name in names:
    client.send(name.encode("utf-8"))
    print(client.recv(1024).decode("utf-8"), flush=True)
client.send(b"exit")
client.close()
