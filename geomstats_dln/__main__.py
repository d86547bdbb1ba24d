"""``python -m geomstats_dln``: the ``geomstats-dln`` command line."""

from geomstats_dln.cli import PROG_NAME, main

if __name__ == "__main__":
    main(prog_name=PROG_NAME)
