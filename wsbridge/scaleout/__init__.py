"""Scale-out on Redis: keys and scripts, the producer's publisher, the hubs' follower.

Redis is untrusted input like a browser: what a follower reads is decoded
and validated as a remote producer's messages would be.
"""

__all__: list[str] = []
