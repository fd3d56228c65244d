"""``python -m vpsorg_async.cli``: the same as the ``vpsorg`` console script."""

from vpsorg_async.cli import main

if __name__ == "__main__":
    main()
