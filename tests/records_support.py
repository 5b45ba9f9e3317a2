"""Provider records in the datasets' shapes, shared by the policy and processor tests."""

from __future__ import annotations

from datetime import date
from typing import Any

__all__ = ["hmrc_record"]


def _address() -> dict[str, Any]:
    return {"line1": "1 High Street", "line2": None, "town": "Leeds", "postcode": "LS1 1AA"}


def hmrc_record(born: date = date(1990, 2, 3)) -> dict[str, Any]:
    """A taxpayer's record in the HMRC dataset's shape (``EmploymentAndProperty``): a landlord
    with one job and one rented property."""
    return {
        "nino": "QQ123456C",
        "surname": "Okafor",
        "forenames": "Ada",
        "date_of_birth": born,
        "address": _address(),
        "employments": [
            {
                "employer_name": "Acme Ltd",
                "employer_paye_ref": "123/AB456",
                "start_date": date(2020, 1, 6),
                "end_date": None,
                "annual_pay_gbp": 28000,
            }
        ],
        "properties": [
            {
                "uprn": "100023336956",
                "address": _address(),
                "ownership": "LANDLORD",
                "occupants_declared": 9,
                "rental_income_gbp": 54000,
            }
        ],
        "self_assessment": True,
    }
