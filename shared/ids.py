"""Random (version 4) UUIDs as text, drawn from the OS's randomness in blocks.

`str(uuid.uuid4())` asks the kernel for 16 bytes and builds a UUID object each time; a submit
mints five ids, and that showed among a request's largest costs. Same source, same format, one
kernel call per 256 ids.
"""
from __future__ import annotations

import os
import threading

_BLOCK = 16 * 256
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_pool = {"bytes": b"", "at": 0}
_lock = threading.Lock()  # sync endpoints run on threads: no two callers may take one slice


def _forget_in_child() -> None:
    # A forked child must never hand out the ids its parent's pool still holds.
    _pool["bytes"], _pool["at"] = b"", 0


os.register_at_fork(after_in_child=_forget_in_child)


def new_uuid() -> str:
    """A fresh RFC 9562 version-4 UUID, in its canonical lowercase form."""
    with _lock:
        at = _pool["at"]
        if at >= len(_pool["bytes"]):
            _pool["bytes"], at = os.urandom(_BLOCK), 0
        _pool["at"] = at + 16
        h = _pool["bytes"][at:at + 16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
