"""Times python in-toto's own verification in-process.

Loads the layout and the layout key once, then calls
in_toto.verifylib.in_toto_verify RUNS times on the same layout, key and link
directory (no inspections, no commands run) and prints one JSON object:
{"in_toto": VERSION, "cold": {"wall": s, "cpu": s}, "warm": [{"wall": s, "cpu": s}, ...]}.
"cold" is the first call in this process (after imports and loading); "warm"
are the calls after it. Wall time is time.perf_counter, CPU time
time.process_time (user + system of this process), in seconds.

usage: verifylib.py LAYOUT KEY KEYTYPE LINKDIR RUNS
"""
import json
import logging
import sys
import time

import in_toto
from in_toto import verifylib
from in_toto.models.metadata import Metablock
from securesystemslib.interface import import_publickeys_from_file


def timed(layout, keys, link_dir):
    wall, cpu = time.perf_counter(), time.process_time()
    verifylib.in_toto_verify(layout, keys, link_dir_path=link_dir)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def main(argv):
    layout_path, key_path, key_type, link_dir, runs = argv[1:6]
    logging.disable(logging.WARNING)  # in-toto warns about command mismatches
    layout = Metablock.load(layout_path)
    keys = import_publickeys_from_file([key_path], [key_type])
    cold = timed(layout, keys, link_dir)
    warm = [timed(layout, keys, link_dir) for _ in range(int(runs))]
    json.dump({"in_toto": in_toto.__version__, "cold": cold, "warm": warm}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
