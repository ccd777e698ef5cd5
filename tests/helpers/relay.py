"""A TCP relay for fault tests: forwards to a server, can cut every connection.

A browser or client connects to ``relay.url``; ``cut()`` closes all the
relayed connections at once (the peers see an abrupt TCP close, as with a
dropped network), while the relay keeps accepting new ones so the client
can reconnect through it.
"""

from __future__ import annotations

import socket
import struct
import threading

__all__ = ["Relay"]


class Relay:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
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
                self._conns += [client, upstream]
                self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

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
        self._closed = True
        self.listener.close()
        self.cut()
