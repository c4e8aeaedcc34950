"""``python -m ledger``: the same command line as ``corpledger``."""

from .cli import main

if __name__ == "__main__":
    main()
