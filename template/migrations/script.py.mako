<%
    # `alembic merge` writes a revision with several down revisions and nothing to run: it gets
    # neither the imports (ruff would flag them unused) nor a body.
    is_merge = not isinstance(down_revision, str) and down_revision is not None
%>"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence
% if not is_merge:

import sqlalchemy as sa
from alembic import op
% endif
${imports if imports else ""}
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
