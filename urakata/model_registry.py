"""Imports every model module so ``Base.metadata`` is complete (Alembic, tests).

Not part of the four layers; only migrations and tooling import it.
"""

import urakata.platform.tasks  # noqa: F401 - shop_task
from urakata.platform import (  # noqa: F401
    apikeys,
    audit,
    checkpoints,
    closed_days,
    identity,
    jobs,
    locations,
    mail,
    outbox,
    retention,
    tenancy,
)
from urakata.platform.db import Base
from urakata.tenants.catalog import models as catalog_models  # noqa: F401
from urakata.tenants.fulfilment import models as fulfilment_models  # noqa: F401
from urakata.tenants.inbound import models as inbound_models  # noqa: F401
from urakata.tenants.orders import confirmation as order_confirmation  # noqa: F401
from urakata.tenants.orders import models as order_models  # noqa: F401
from urakata.tenants.payments import models as payment_models  # noqa: F401
from urakata.tenants.planning import models as planning_models  # noqa: F401
from urakata.tenants.sasage import models as sasage_models  # noqa: F401
from urakata.tenants.shipping import models as shipping_models  # noqa: F401
from urakata.tenants.shop import mail_templates as shop_mail_templates  # noqa: F401
from urakata.tenants.shop import models as shop_models  # noqa: F401
from urakata.tenants.stock import models as stock_models  # noqa: F401
from urakata.tenants.stocktake import models as stocktake_models  # noqa: F401

metadata = Base.metadata
