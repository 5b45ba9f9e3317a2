"""The demo: embedded broker, gateway, reference departments and traffic in one process."""

from gateway.demo.run import DemoResult, run_demo
from gateway.demo.tally import AgreementTally, AuditTally

__all__ = ["AgreementTally", "AuditTally", "DemoResult", "run_demo"]
