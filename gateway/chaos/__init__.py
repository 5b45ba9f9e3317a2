"""The reliability campaign behind ``gateway chaos``: real Kafka, real processes, real faults.

:func:`run_campaign` starts a three-node Apache Kafka cluster, gateway instances in one
consumer group and the reference departments as separate processes, sends steady traffic,
kills gateways (SIGKILL) and a broker at random moments, adds and removes a group member, and
then checks every request against every reply (:mod:`gateway.chaos.reference`) and the audit
chains (:mod:`gateway.chaos.audit_check`).
"""

from gateway.chaos.campaign import CampaignOptions, run_campaign
from gateway.chaos.faults import FaultKind, PlannedFault, plan_faults
from gateway.chaos.report import CampaignReport, Fault

__all__ = [
    "CampaignOptions",
    "CampaignReport",
    "Fault",
    "FaultKind",
    "PlannedFault",
    "plan_faults",
    "run_campaign",
]
