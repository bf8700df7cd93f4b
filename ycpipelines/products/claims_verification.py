"""保险理赔 Claims verification: each settlement with the visit it paid for, under pseudonyms."""

from collections.abc import Mapping

from ycpipelines.catalog import Product
from ycpipelines.products.underwriting_features import age_band


def build(inputs: Mapping[str, str], product: Product) -> str:
    """SQL of the product over the safe/ relations in `inputs`."""
    visits = inputs["safe/outpatient_visits"]
    settlements = inputs["safe/settlements"]
    return f"""
    SELECT s.person_pid, s.settlement_pid, CAST(v.visit_time AS DATE) AS visit_date,
           {age_band("year(v.visit_time) - v.birth_year")} AS age_band, v.gender,
           v.hospital, v.department, v.icd10_code, v.fee AS visit_fee,
           s.insurance_type, s.fund_paid, s.self_paid
    FROM {settlements} s JOIN {visits} v USING (visit_pid)
    ORDER BY s.settlement_pid
    """
