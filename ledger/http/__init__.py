"""``corpledger serve``: the HTTP API over ``Ledger`` (``app``) and its bearer tokens
(``tokens``). Only ``serve`` and the tests import ``app`` (FastAPI and uvicorn); ``tokens``
needs nothing beyond SQLAlchemy, for ``corpledger tokens``."""
