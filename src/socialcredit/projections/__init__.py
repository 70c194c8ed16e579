"""Projections: tables folded from the event log. Only the projector writes them."""
