"""Imports every model module so ``Base.metadata`` is complete (Alembic, tests).

Not part of the four layers; only migrations and tooling import it.
"""

from urakata.platform import identity, tenancy  # noqa: F401
from urakata.platform.db import Base

metadata = Base.metadata
