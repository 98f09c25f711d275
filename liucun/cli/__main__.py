"""``python -m liucun.cli``: the same as the ``liucun`` command."""

from liucun.cli import main

if __name__ == "__main__":
    main()
