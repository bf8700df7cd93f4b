"""Administrative divisions (行政区划, GB/T 2260) from cpca's table, loaded once."""

from functools import cache

import cpca


@cache
def division_codes() -> frozenset[str]:
    """Six-digit codes of provinces, cities and counties in cpca's table."""
    return frozenset(code[:6] for code in cpca.ad_2_addr_dict)


def province_codes() -> frozenset[str]:
    return frozenset(code[:2] for code in division_codes())
