"""What the demo (and ``gateway traffic``) show people, and the same figures for machines.

The audit log says what the gateway decided: requests approved (some minimised) or denied, and
answers released in full or redacted. The traffic generator says what requesters saw: replies
with data, denials, timeouts. The two are counted apart and labelled apart, because one
approved request becomes one answer only once its provider has replied.

:func:`render_tally` lays the per-agreement counts out as tables that fit 80 columns without
cutting an agreement id or a reason; :func:`render_summary` is the closing summary, and
:func:`summary_dict` its machine-readable form behind ``--json``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gateway.demo.tally import AuditTally

if TYPE_CHECKING:
    from gateway.demo.run import DemoResult
    from gateway.departments.traffic import TrafficStats

__all__ = ["progress_line", "render_summary", "render_tally", "render_traffic", "summary_dict"]


def _table(title: str, *columns: str, text: int = 1) -> Table:
    """A table whose first ``text`` columns are names (left, never cut), the rest counts."""
    table = Table(title=title, title_justify="left", expand=False)
    for index, column in enumerate(columns):
        table.add_column(
            column, justify="left" if index < text else "right", no_wrap=True, overflow="fold"
        )
    return table


def render_tally(tally: AuditTally) -> Group:
    """Requests and answers per agreement, then denials by reason; each table fits 80 columns."""
    requests = _table(
        "Requests decided, per agreement (audit log)", "agreement", "approved", "minimised",
        "denied",
    )  # fmt: skip
    answers = _table(
        "Answers released, per agreement (audit log)", "agreement", "answered", "redacted",
        "fields\nwithheld", "blocked",
    )  # fmt: skip
    reasons = _table("Denials by reason", "agreement", "reason", "denials", text=2)
    for agreement_id in sorted(tally.agreements):
        t = tally.agreements[agreement_id]
        requests.add_row(agreement_id, str(t.approved), str(t.minimised), str(t.denials))
        answers.add_row(
            agreement_id,
            str(t.answered),
            str(t.redacted),
            str(sum(t.withheld_fields.values())),
            str(t.blocked),
        )
        for code, n in sorted(t.denied.items(), key=lambda item: (-item[1], item[0])):
            reasons.add_row(agreement_id, code, str(n))
    if _reasons_exceed_denials(tally):
        reasons.caption = "a denial can give more than one reason; each is counted"
        reasons.caption_justify = "left"
    parts: list[Any] = [requests, answers]
    if reasons.row_count:
        parts.append(reasons)
    parts.append(Text(progress_line(tally), style="dim"))
    return Group(*parts)


def _reasons_exceed_denials(tally: AuditTally) -> bool:
    return any(sum(t.denied.values()) > t.denials for t in tally.agreements.values())


def _totals(tally: AuditTally) -> dict[str, int]:
    agreements = tally.agreements.values()
    return {
        "requests_decided": sum(t.approved + t.denials for t in agreements),
        "approved": sum(t.approved for t in agreements),
        "minimised": sum(t.minimised for t in agreements),
        "denied": sum(t.denials for t in agreements),
        "answered": sum(t.answered for t in agreements),
        "redacted": sum(t.redacted for t in agreements),
        "fields_withheld": sum(sum(t.withheld_fields.values()) for t in agreements),
        "blocked": sum(t.blocked for t in agreements),
        "duplicates": sum(t.duplicates for t in agreements),
        "dead_letters": tally.dead_letters,
        "audit_records": tally.records,
    }


def progress_line(tally: AuditTally) -> str:
    """One line of running totals (the live view's foot; the progress lines off a terminal)."""
    t = _totals(tally)
    return (
        f"audit records {t['audit_records']:,}: requests approved {t['approved']:,}, "
        f"denied {t['denied']:,}; answers {t['answered']:,} ({t['redacted']:,} redacted); "
        f"dead letters {t['dead_letters']:,}"
    )


def _denial_reasons(tally: AuditTally) -> Counter[str]:
    total: Counter[str] = Counter()
    for t in tally.agreements.values():
        total.update(t.denied)
    return total


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    return grid


def render_traffic(stats: TrafficStats) -> Group:
    """What the requesters saw: replies, answers and denials, reply times, the plan's verdict."""
    replies = stats.outcomes
    with_data = replies.get("APPROVED", 0) + replies.get("REDACTED", 0)
    found, not_found = stats.statuses.get("FOUND", 0), stats.statuses.get("NOT_FOUND", 0)
    grid = _grid()
    grid.add_row(
        "sent", f"{stats.sent:,} requests, {stats.replied:,} replies, {stats.timeouts:,} timed out"
    )
    grid.add_row(
        "replies",
        f"{with_data:,} with an answer ({found:,} found, {not_found:,} not found), "
        f"{replies.get('DENIED', 0):,} denials",
    )
    grid.add_row(
        "reply time",
        f"p50 {stats.percentile_ms(0.5):.0f} ms, p95 {stats.percentile_ms(0.95):.0f} ms, "
        f"p99 {stats.percentile_ms(0.99):.0f} ms",
    )
    if stats.unexpected:
        expected = Text(
            f"{stats.unexpected:,} replies differ from the plan (a denial where none was "
            "planned, or none where one was)",
            style="bold red",
        )
    else:
        expected = Text("every reply was the one the traffic plan expected")
    grid.add_row("expected", expected)
    return Group(Text("Requesters (traffic generator)", style="bold underline"), grid)


def render_summary(result: DemoResult) -> Group:
    """The closing summary: what the gateway decided and released, what providers answered,
    what requesters saw, and the verdict; fits 80 columns."""
    t = _totals(result.tally)
    grid = _grid()
    grid.add_row(
        "requests",
        f"{t['requests_decided']:,} decided: {t['approved']:,} approved "
        f"({t['minimised']:,} of them minimised), {t['denied']:,} denied",
    )
    reasons = _denial_reasons(result.tally)
    if reasons:
        listed = ", ".join(f"{code} {n:,}" for code, n in reasons.most_common())
        if sum(reasons.values()) > t["denied"]:
            listed += " (a denial can give more than one reason)"
        grid.add_row("denied for", listed)
    grid.add_row(
        "answers",
        f"{t['answered']:,} released to requesters, {t['redacted']:,} of them redacted "
        f"({t['fields_withheld']:,} fields withheld)",
    )
    grid.add_row(
        "refused",
        f"{t['blocked']:,} responses blocked, {t['dead_letters']:,} dead letters, "
        f"{t['duplicates']:,} duplicates",
    )
    answered = ", ".join(f"{dept} {n:,}" for dept, n in sorted(result.answered_by.items()))
    grid.add_row("providers", f"answered {answered or 'nothing'}")
    verdict = (
        Text("every request was answered as expected", style="bold green")
        if result.ok
        else Text("some requests were not answered as expected", style="bold red")
    )
    return Group(
        Text("Gateway (audit log)", style="bold underline"),
        grid,
        render_traffic(result.traffic),
        Text.assemble(f"Finished in {result.elapsed_s:.1f}s: ", verdict),
    )


def summary_dict(result: DemoResult) -> dict[str, Any]:
    """The same figures as one JSON-ready object (``gateway demo --json``)."""
    return {
        "ok": result.ok,
        "elapsed_s": round(result.elapsed_s, 2),
        "gateway": {
            **_totals(result.tally),
            "denial_reasons": dict(_denial_reasons(result.tally).most_common()),
            "per_agreement": {
                agreement_id: {
                    "approved": t.approved,
                    "minimised": t.minimised,
                    "denied": t.denials,
                    "denial_reasons": dict(t.denied),
                    "answered": t.answered,
                    "redacted": t.redacted,
                    "fields_withheld": dict(t.withheld_fields),
                    "blocked": t.blocked,
                    "duplicates": t.duplicates,
                }
                for agreement_id, t in sorted(result.tally.agreements.items())
            },
        },
        "providers_answered": dict(sorted(result.answered_by.items())),
        "requesters": result.traffic.summary(),
    }
