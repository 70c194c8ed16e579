"""socialcredit: a national credit-information registry.

Data flows one way: ingest -> validate -> resolve -> event log -> projections -> answers.
See DESIGN.md for the principles the code enforces ("rights by construction").
"""

__version__ = "0.1.0"
