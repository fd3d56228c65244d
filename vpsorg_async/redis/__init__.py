"""Coordination of many processes through Redis (``pip install 'vpsorg-async[redis]'``).

The face of this package is written by the coordinator's branch; the shared watcher lives in
``vpsorg_async.redis._board``.
"""
