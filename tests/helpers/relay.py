"""A TCP relay for fault tests: forwards to a server, can cut every connection.

A browser or client connects to ``relay.url``; ``cut()`` closes all the
relayed connections at once (the peers see an abrupt TCP close, as with a
dropped network), while the relay keeps accepting new ones so the client
can reconnect through it.

``refuse_upgrade=True`` plays a proxy that breaks WebSockets: it reads each
request's head, answers one asking to ``Upgrade`` with 403 (``refused``
counts them) and relays plain HTTP, streamed responses included.
"""

from __future__ import annotations

import socket
import struct
import threading

__all__ = ["Relay"]


class Relay:
    def __init__(
        self, target_port: int, host: str = "127.0.0.1", refuse_upgrade: bool = False
    ) -> None:
        self.target = (host, target_port)
        self.refuse_upgrade = refuse_upgrade
        self.refused = 0
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}/"
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed:  # accepted while close() ran: nobody would close them
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
                self.accepted += 1
            forward = self._requests if self.refuse_upgrade else self._pipe
            threading.Thread(target=forward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket) -> None:
        """Client to server, request by request: an ``Upgrade`` gets a 403."""
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = src.recv(65536)
                    if not data:
                        raise OSError("closed")
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                fields = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (x.partition(":") for x in lines[1:])
                }
                if "upgrade" in fields:
                    with self._lock:
                        self.refused += 1
                    src.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    raise OSError("refused")
                length = int(fields.get("content-length", "0") or 0)
                dst.sendall(head + b"\r\n\r\n")
                while length:
                    if not buf:
                        buf = src.recv(65536)
                        if not buf:
                            raise OSError("closed")
                    piece, buf = buf[:length], buf[length:]
                    dst.sendall(piece)
                    length -= len(piece)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> int:
        """Abruptly close every relayed connection; returns how many pairs."""
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                # linger 0: close() sends RST, as a dropped network would look
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # wake the pipe thread blocked in recv() (which holds the socket
                # open in the kernel) without sending anything, then reset
                s.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            s.close()
        return len(conns) // 2

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.listener.close()
        self.cut()
