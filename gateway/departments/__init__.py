"""Client API for departmental systems: publish requests and await replies, serve an inbox.

Also here: the requester traffic run (:mod:`~gateway.departments.traffic`) and the seam to
department-side services built on this API (:mod:`~gateway.departments.services`)."""

from gateway.departments.answers import (
    Answer,
    Handler,
    answer_from_dataset,
    build_response,
    index_records,
    lookup,
)
from gateway.departments.client import (
    ClientClosedError,
    DepartmentClient,
    DepartmentClientError,
    ExchangeTimeout,
)

__all__ = [
    "Answer",
    "ClientClosedError",
    "DepartmentClient",
    "DepartmentClientError",
    "ExchangeTimeout",
    "Handler",
    "answer_from_dataset",
    "build_response",
    "index_records",
    "lookup",
]
