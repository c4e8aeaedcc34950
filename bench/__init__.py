"""corpledger's benchmark (``make bench`` / ``python -m bench``).

Each figure is printed beside the raw driver doing the same work in the same run, on the
same machine, into the same table layout (issue 2, item 10 and "Speed"; STYLE.md item 15):

- ``workload``: the generated JSON Lines files (many companies; one long company);
- ``stores``: fresh databases per engine, the raw-driver writers and readers;
- ``measure``: the timed runs (API, raw, cap-table latency) and the profile;
- ``report``: machine and versions, the table printed and ``bench/RESULTS.md``.
"""
