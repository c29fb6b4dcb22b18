"""The reusable history component: an object's events from the ledger, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from urakata.platform import audit
from urakata.portal.requestdb import db_session

ACTION_LABELS = {
    "shop.onboarded": _l("Shop onboarded"),
    "user.invited": _l("Person invited"),
    "user.role_granted": _l("Role granted"),
    "operator.assigned": _l("Operator assigned"),
    "operator.unassigned": _l("Operator removed"),
    "orders.imported": _l("Orders imported from a file"),
    "shopify.order_refused": _l("Shopify order refused (invalid)"),
    "agency.closed_day_added": _l("Agency closed day added"),
    "agency.closed_day_removed": _l("Agency closed day removed"),
    "settings.changed": _l("Settings changed"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "auth.login.succeeded": _l("Logged in"),
    "auth.login.failed": _l("Login failed"),
    "auth.login.refused": _l("Login refused"),
    "auth.password.set": _l("Password set"),
    "auth.password_link.issued": _l("Password link sent"),
    "auth.totp.enabled": _l("Two-factor authentication turned on"),
    "auth.totp.disabled": _l("Two-factor authentication turned off"),
    "personal_data.viewed": _l("Personal data viewed"),
    "personal_data.exported": _l("Personal data exported"),
    "task.started": _l("Task started"),
    "audit.verified": _l("Audit chain verified"),
    "audit.searched": _l("Ledger searched by an auditor"),
    "audit.viewed": _l("Ledger read by an auditor"),
    "audit.export.requested": _l("Ledger export requested"),
    "audit.exported": _l("Ledger exported"),
    "audit.export.downloaded": _l("Ledger export downloaded"),
    "retention.policy_changed": _l("Retention policy changed"),
    "order.personal_data_erased": _l("Customer's personal data erased"),
    "job.requeued": _l("Job requeued"),
    "mail.sent": _l("Mail sent"),
    "mail.failed": _l("Mail failed"),
    "product.created": _l("Product created"),
    "product.updated": _l("Product changed"),
    "product.imported": _l("Product imported"),
    "catalog.imported": _l("Products imported from CSV"),
    "order.received": _l("Order received"),
    "order.held": _l("Order put on hold"),
    "order.confirmed": _l("Order confirmed"),
    "order.released": _l("Order released for allocation"),
    "order.cancelled": _l("Order cancelled"),
    "order.address_changed": _l("Shipping address changed"),
    "order.payment_recorded": _l("Payment recorded"),
    "orders.exported": _l("Orders exported to CSV"),
    "order.payment_event": _l("Payment notice"),
    "order.deposit_matched": _l("Bank deposit matched"),
    "order.deposit_unmatched": _l("Bank deposit match undone"),
    "order.confirmation_requested": _l("Confirmation mail requested again"),
    "order.confirmation_sent": _l("Confirmation mail sent"),
    "order.confirmation_failed": _l("Confirmation mail failed"),
    "order.confirmation_skipped": _l("Confirmation mail not sent"),
    "bank_statement.imported": _l("Bank statement imported"),
    "bank_line.matched": _l("Deposit matched"),
    "bank_line.unmatched": _l("Deposit match undone"),
    "bank_line.ignored": _l("Deposit set aside"),
    "bank_line.reopened": _l("Deposit back to review"),
    "payments.settings_changed": _l("Payment settings changed"),
    "payments.reminder_sent": _l("Payment reminder mailed"),
    "mail_template.saved": _l("Mail template saved"),
    "mail_template.reset": _l("Mail template reset to the default"),
    "sasage.requested": _l("Sasage requested"),
    "sasage.assigned": _l("Sasage task assigned"),
    "sasage.photos_uploaded": _l("Photos uploaded"),
    "sasage.photos_rendered": _l("Photos prepared"),
    "sasage.photos_reordered": _l("Photo order changed"),
    "sasage.main_photo_chosen": _l("Main photo chosen"),
    "sasage.photo_removed": _l("Photo removed"),
    "sasage.measured": _l("Measurements saved"),
    "sasage.copy_saved": _l("Copy saved"),
    "sasage.submitted": _l("Sent to the shop for approval"),
    "sasage.approved": _l("Approved by the shop"),
    "sasage.returned": _l("Returned by the shop"),
    "sasage.completed": _l("Sasage complete"),
    "order.allocated": _l("Order allocated"),
    "stock.received": _l("Stock received"),
    "stock.allocated": _l("Stock allocated"),
    "stock.deallocated": _l("Allocation released"),
    "stock.transferred": _l("Stock moved between bins"),
    "stock.reconciled": _l("Stock reconciled"),
    "stock.reconciliation_failed": _l("Stock reconciliation failed"),
    "stock.exported": _l("Stock exported to CSV"),
    "stock.bins_assigned": _l("Bins assigned"),
    "stock.bin_released": _l("Bin released"),
    "location.created": _l("Bins made"),
    "location.changed": _l("Bin changed"),
}


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    occurred_at: datetime
    action: str
    label: str
    actor: str
    changes: dict
    data: dict


def timeline(object_type: str, object_id, limit: int = 20) -> list[TimelineEntry]:
    """Events of the request's shop about one object (the session must be bound)."""
    entries = []
    labels: dict[str, str] = {}  # translated once per action, not once per event
    for event in audit.history(
        db_session(), object_type=object_type, object_id=object_id, limit=limit
    ):
        body = event.payload
        label = labels.get(event.action)
        if label is None:
            label = labels[event.action] = str(ACTION_LABELS.get(event.action, event.action))
        entries.append(
            TimelineEntry(
                seq=event.seq,
                occurred_at=event.occurred_at,
                action=event.action,
                label=label,
                actor=body["actor"]["label"] or body["actor"]["type"],
                changes=body.get("changes", {}),
                data=body.get("data", {}),
            )
        )
    return entries
