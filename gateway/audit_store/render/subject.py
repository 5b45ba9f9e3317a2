"""The subject access report as Markdown and JSON."""

from __future__ import annotations

from gateway.audit_store.render._common import (
    EXCHANGE_HEADINGS,
    exchange_cells,
    md_table,
    stamp,
    to_json,
)
from gateway.audit_store.reports import SubjectReport

__all__ = ["INTRODUCTION", "subject_json", "subject_markdown"]

INTRODUCTION = (
    "The gateway records the names of fields, never their values: this report shows which "
    "details about you were shared, not what they said."
)


def subject_markdown(report: SubjectReport) -> str:
    lines = [
        "# Subject access report",
        "",
        f"Identifier `{report.identifier_field}` (pseudonymous subject key "
        f"`{report.subject_key}`), generated {stamp(report.generated_at)} UTC.",
        INTRODUCTION,
        "",
    ]
    if not report.exchanges:
        lines.append("No department has asked about this person.")
    else:
        lines += [
            f"{len(report.exchanges)} request(s) by: {', '.join(report.departments)}.",
            "",
            *md_table(EXCHANGE_HEADINGS, (exchange_cells(e) for e in report.exchanges)),
        ]
    return "\n".join([*lines, ""])


def subject_json(report: SubjectReport) -> str:
    return to_json(
        {
            "identifier_field": report.identifier_field,
            "subject_key": report.subject_key,
            "generated_at": report.generated_at.isoformat(),
            "departments": list(report.departments),
            "exchanges": [
                {
                    "request_id": e.request_id,
                    "asked_at": e.asked_at.isoformat(),
                    "requester": e.requester,
                    "provider": e.provider,
                    "agreement_id": e.agreement_id,
                    "purpose": e.purpose,
                    "decision": e.decision,
                    "reasons": [r.model_dump() for r in e.reasons],
                    "fields_sent": list(e.fields_sent),
                    "answer": e.answer,
                    "answered_at": e.answered_at.isoformat() if e.answered_at else None,
                    "fields_released": list(e.fields_released),
                    "fields_withheld": list(e.fields_withheld),
                    "repeats": e.repeats,
                }
                for e in report.exchanges
            ],
        }
    )
