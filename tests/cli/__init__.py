"""Tests of the `vpsorg` command line."""
