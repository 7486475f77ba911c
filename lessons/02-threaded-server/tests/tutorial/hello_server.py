"""The tutorial's hello server, as a student writes it from the tutorial's description
(not its code): a thread per connection sends `Welcome!`, answers each recv() `X` with
`Hello, X!`, and ends on `exit` or when the client closes. Nothing ends with a line end.

    python3 hello_server.py [--encoding gbk]

It binds 127.0.0.1 port 0 and, like the course's servers, prints `listening on IP:PORT`
first, so a test knows when it is ready and where.
"""

import argparse
import socket
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--encoding", default="utf-8")
args = parser.parse_args()


def session(sock, addr):
    print("connected %s:%s" % addr, flush=True)
    sock.send(b"Welcome!")
    while True:
        data = sock.recv(1024)
        if not data or data.decode(args.encoding) == "exit":
            break
        sock.send(("Hello, %s!" % data.decode(args.encoding)).encode(args.encoding))
    sock.close()
    print("closed %s:%s" % addr, flush=True)


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(5)
print("listening on %s:%s" % server.getsockname(), flush=True)
while True:
    sock, addr = server.accept()
    threading.Thread(target=session, args=(sock, addr)).start()
