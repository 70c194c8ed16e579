"""indexes for the sweep: listings due to activate or expire are found without a scan

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_listings_status_activates", "listings", ["status", "activates_at"])
    op.create_index("ix_listings_status_until", "listings", ["status", "until"])


def downgrade() -> None:
    op.drop_index("ix_listings_status_until", table_name="listings")
    op.drop_index("ix_listings_status_activates", table_name="listings")
