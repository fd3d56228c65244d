"""Tests of the VPS.org API simulator (``vpsorg_async.testing``)."""
