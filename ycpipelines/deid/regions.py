"""Counties of Ningxia (GB/T 2260), the level an address is generalized to.

Taken from cpca's administrative-code table rather than written by hand. Only the pilot's
province is matched in SQL: one regular expression over every county in China is too large
for DuckDB's regex engine to run at lake speed (1M addresses took minutes, measured).
"""

import cpca

PROVINCE = "64"  # 宁夏回族自治区


def counties(province: str) -> dict[str, str]:
    """County-level divisions (区/县/县级市) of a province by 6-digit code."""
    return {
        a.adcode: a.name
        for a in cpca.ad_2_addr_dict.values()
        if a.rank == cpca.AddrInfo.RANK_COUNTY
        and a.adcode.startswith(province)
        and a.name != "市辖区"
    }


NINGXIA_COUNTIES = counties(PROVINCE)
