"""Clean one file with the Python API, as an analyst does in a notebook (for ``ab_commits.py``).

    python benchmarks/clean_file.py FILE             # tf.clean.clean(tf.scan(FILE)).collect()
    python benchmarks/clean_file.py FILE --parsed    # tf.clean.clean(tf.scan(FILE).collect())

Prints the rows and the unit slips flagged, so that two versions' results can
be compared by eye.
"""

from __future__ import annotations

import argparse

import tradeflows as tf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--parsed", action="store_true", help="parse the file first, then clean")
    args = ap.parse_args()
    lf = tf.scan(args.file)
    out = tf.clean.clean(lf.collect()) if args.parsed else tf.clean.clean(lf).collect()
    print(f"{out.height} rows, {int(out['slip_suspect'].sum())} unit slips flagged")


if __name__ == "__main__":
    main()
