"""Ingest: portal exports and scraper JSON lines mapped to ``permits.raw`` and published.

The mapping functions (one module per portal) are pure: a row in, a :class:`RawPermit` out.
The publish command, the demo and the categorizer evaluation all use them.
"""
