"""Demo templates and a job history, so a first `make run` shows a living page."""

from __future__ import annotations

from datetime import date, timedelta

from exporter.jobs import ExportService
from exporter.spec import ExportSpec

EXAMPLES: list[tuple[str, ExportSpec]] = [
    ("Orders Export", ExportSpec(
        "orders", ("order_number", "customer_name", "order_date", "status", "total",
                   "payment_terms", "delivery_date", "delivery_address", "special_instructions",
                   "line_items", "tax", "discount"), format="csv", date_range="last_90_days")),
    ("Inventory Snapshot", ExportSpec(
        "inventory", ("sku", "product_name", "location", "quantity_on_hand",
                      "quantity_reserved", "reorder_point", "unit_cost", "status"),
        format="xlsx", date_range="all")),
    ("Production Schedule", ExportSpec(
        "work_orders", ("wo_number", "sku", "product_name", "quantity", "status", "priority",
                        "start_date", "due_date", "work_center"),
        format="json", date_range="last_30_days")),
    ("Shipments for EDI", ExportSpec(
        "shipments", ("shipment_number", "order_number", "carrier", "tracking_number",
                      "ship_date", "status", "destination"), format="xml",
        date_range="last_30_days", exclude_archived=True)),
]


def add_examples(svc: ExportService, org: int, user: str = "demo") -> int:
    """Create the example templates an org does not have yet; returns how many."""
    have = {t.name for t in svc.templates(org)}
    added = 0
    for name, spec in EXAMPLES:
        if name not in have:
            svc.create_template(org, name, spec, user)
            added += 1
    return added


def seed_history(svc: ExportService, org: int, user: str = "demo") -> int:
    """Queue a few exports (the workers run them) unless the org has jobs already."""
    _, total, _ = svc.jobs(org, include_hidden=True, limit=1)
    if total:
        return 0
    for template in svc.templates(org)[:3]:
        svc.export_now(org, str(template.id), user)
    week_ago = date.today() - timedelta(days=7)
    custom = ExportSpec("customers", ("code", "name", "email", "country", "status"),
                        format="csv", date_range="custom", date_from=week_ago - timedelta(days=300),
                        date_to=week_ago)
    svc.submit(org, custom, user, "Customer List")
    return 4
