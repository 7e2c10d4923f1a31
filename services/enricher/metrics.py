"""Prometheus metrics of the enricher, next to the shared runtime's."""

from __future__ import annotations

from prometheus_client import Counter

MATCHES = Counter(
    "leadstream_enricher_matches_total",
    "Permits by how their appraisal-district account was found (parcel, address_unit, address, "
    "none)",
    ["match"],
)
DISCARDS = Counter(
    "leadstream_enricher_discards_total",
    "Permits the enricher discarded, by reason (production_builder, no_data)",
    ["reason"],
)
