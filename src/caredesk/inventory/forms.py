"""Forms parse what people pick and type into the values the inventory use cases take; the rules (enough
stock, whole positive quantities, a reason for an adjustment) live in the services, whose refusals land
on the field they name."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django import forms
from django.utils import timezone

from caredesk.core.forms import StyledForm, style_widgets

from .choices import AdjustReason
from .models import Item, Lot, PurchaseOrderLine, StockLocation


class InventoryForm(StyledForm):
    """Bootstrap classes on every widget, and a service's refusal placed on the field it names."""

    field_aliases: ClassVar[dict[str, str]] = {
        "item_id": "item",
        "stock_location_id": "stock_location",
        "from_location_id": "from_location",
        "to_location_id": "to_location",
        "lot_id": "lot",
    }


def item_choices(items: list[Item]) -> list[tuple[str, str]]:
    return [("", "Choose an item")] + [(str(i.pk), f"{i.name} ({i.unit})") for i in items]


def place_choices(places: list[StockLocation], empty: str = "Choose a location") -> list[tuple[str, str]]:
    return [("", empty)] + [(str(p.pk), p.name) for p in places]


def lot_choices(lots: list[Lot]) -> list[tuple[str, str]]:
    return [("", "Any (first to expire first)")] + [(str(lot.pk), f"{lot.item.name}: {lot}") for lot in lots]


class _Move(InventoryForm):
    item = forms.ChoiceField(label="Item")
    note = forms.CharField(required=False, max_length=300, label="Note")

    def __init__(
        self,
        *args: Any,
        items: list[Item],
        places: list[StockLocation],
        lots: list[Lot] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._choose("item", item_choices(items))
        for name in ("stock_location", "from_location", "to_location"):
            self._choose(name, place_choices(places))
        self._choose("lot", lot_choices(lots or []))

    def _choose(self, name: str, choices: list[tuple[str, str]]) -> None:
        found = self.fields.get(name)
        if isinstance(found, forms.ChoiceField):
            found.choices = choices


class ConsumeForm(_Move):
    stock_location = forms.ChoiceField(label="Where")
    quantity = forms.IntegerField(label="Quantity used")
    lot = forms.ChoiceField(required=False, label="Lot")
    field_order = ["stock_location", "item", "quantity", "lot", "note"]


class TransferForm(_Move):
    from_location = forms.ChoiceField(label="From")
    to_location = forms.ChoiceField(label="To")
    quantity = forms.IntegerField(label="Quantity")
    lot = forms.ChoiceField(required=False, label="Lot")
    field_order = ["item", "from_location", "to_location", "quantity", "lot", "note"]


class ReceiveForm(_Move):
    stock_location = forms.ChoiceField(label="Into")
    quantity = forms.IntegerField(label="Quantity received")
    lot_number = forms.CharField(required=False, max_length=40, label="Lot number (lot-tracked items)")
    expires_on = forms.DateField(
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"})
    )
    field_order = ["item", "stock_location", "quantity", "lot_number", "expires_on", "note"]


class AdjustForm(_Move):
    stock_location = forms.ChoiceField(label="Where")
    change = forms.IntegerField(label="Change (+ adds, - removes)")
    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *AdjustReason.choices], required=False)
    lot = forms.ChoiceField(required=False, label="Lot")
    field_order = ["item", "stock_location", "change", "reason", "lot", "note"]


class CountForm(_Move):
    stock_location = forms.ChoiceField(label="Where")
    counted = forms.IntegerField(label="Counted on the shelf")
    lot = forms.ChoiceField(required=False, label="Lot")
    field_order = ["item", "stock_location", "counted", "lot", "note"]


def as_id(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


class RaiseOrderForm(InventoryForm):
    """A reorder group: one vendor, one ship-to location, the suggested lines (item:quantity,…)."""

    vendor = forms.IntegerField(widget=forms.HiddenInput)
    ship_to = forms.IntegerField(widget=forms.HiddenInput)
    lines = forms.CharField(widget=forms.HiddenInput, max_length=2000)

    def parsed_lines(self) -> list[tuple[int, int]]:
        parsed = []
        for part in self.cleaned_data["lines"].split(","):
            item, _, quantity = part.partition(":")
            try:
                parsed.append((int(item), int(quantity)))
            except ValueError:
                raise forms.ValidationError("The order lines could not be read.") from None
        return parsed


class ReceiveOrderForm(InventoryForm):
    """One quantity per line of the order (and lot number and expiry for lot-tracked items)."""

    confirm_over_receipt = forms.BooleanField(
        required=False, label="Yes, we received more than we ordered: receive it all"
    )

    def __init__(self, *args: Any, lines: list[PurchaseOrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            label = f"{line.item.name} ({line.item.unit})"
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                required=False,
                initial=line.outstanding,
                label=label,
                widget=forms.NumberInput(attrs={"aria-label": label}),
            )
            if line.item.tracks_lots:
                self.fields[f"lot_{line.pk}"] = forms.CharField(
                    required=False,
                    max_length=40,
                    label="Lot number",
                    widget=forms.TextInput(attrs={"aria-label": f"Lot number of {line.item.name}"}),
                )
                self.fields[f"expires_{line.pk}"] = forms.DateField(
                    required=False,
                    label="Expires on",
                    widget=forms.DateInput(
                        attrs={"type": "date", "aria-label": f"Expiry of {line.item.name}"}
                    ),
                )
        self.order_fields(
            [name for name in self.fields if name != "confirm_over_receipt"] + ["confirm_over_receipt"]
        )
        style_widgets(self.fields.values())

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "line": line,
                "quantity": self[f"line_{line.pk}"],
                "lot": self[f"lot_{line.pk}"] if line.item.tracks_lots else None,
                "expires": self[f"expires_{line.pk}"] if line.item.tracks_lots else None,
            }
            for line in self.lines
        ]

    def receipts(self) -> list[tuple[int, Any, str, dt.date | None]]:
        data = self.cleaned_data
        return [
            (
                line.pk,
                data.get(f"line_{line.pk}") or 0,
                data.get(f"lot_{line.pk}") or "",
                data.get(f"expires_{line.pk}"),
            )
            for line in self.lines
        ]

    def add_service_error(self, field: str | None, message: str) -> None:
        name = field or ""
        self.add_error(name if name in self.fields else None, message)


# Bounds of the report period: far outside them the day arithmetic overflows (a 500, not a form error).
REPORT_EARLIEST = dt.date(1900, 1, 1)
REPORT_LATEST = dt.date(2999, 12, 31)


class ReportForm(InventoryForm):
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        until = self.cleaned_data.get("until") or today
        since = self.cleaned_data.get("since") or until - dt.timedelta(days=30)
        return since, until

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if any(day and not REPORT_EARLIEST <= day <= REPORT_LATEST for day in (since, until)):
            raise forms.ValidationError(
                f"Choose dates between {REPORT_EARLIEST.year} and {REPORT_LATEST.year}."
            )
        if since and until and since > until:
            raise forms.ValidationError("The period starts after it ends.")
        return data


class ItemForm(InventoryForm):
    """A new item; the service checks the amounts (whole, not negative) and that the code is free."""

    name = forms.CharField(max_length=120)
    sku = forms.CharField(max_length=40, label="Code")
    unit = forms.CharField(max_length=20, initial="each")
    vendor = forms.ChoiceField(required=False)
    unit_cost = forms.CharField(max_length=14, label="Unit cost", initial="0.00")
    reorder_point = forms.IntegerField(label="Reorder point", initial=0)
    reorder_quantity = forms.IntegerField(label="Reorder quantity", initial=1)
    tracks_lots = forms.BooleanField(required=False, label="Track lots and expiry")

    field_aliases: ClassVar[dict[str, str]] = {**InventoryForm.field_aliases, "vendor_id": "vendor"}

    def __init__(self, *args: Any, vendors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, prefix="item", **kwargs)
        vendor = self.fields["vendor"]
        if isinstance(vendor, forms.ChoiceField):
            vendor.choices = [("", "No vendor")] + [(str(pk), name) for pk, name in vendors]


class ParLevelForm(_Move):
    """A par level (0 removes it)."""

    stock_location = forms.ChoiceField(label="Where")
    quantity = forms.IntegerField(label="Par level")
    note = None  # type: ignore[assignment]
    field_order = ["stock_location", "item", "quantity"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="par", **kwargs)


class VisitSupplyForm(_Move):
    """What one visit of a type uses (0 removes the item from its list)."""

    visit_type = forms.ChoiceField(label="Visit type")
    quantity = forms.IntegerField(label="Used per visit")
    note = None  # type: ignore[assignment]
    field_order = ["visit_type", "item", "quantity"]
    field_aliases: ClassVar[dict[str, str]] = {**InventoryForm.field_aliases, "visit_type_id": "visit_type"}

    def __init__(self, *args: Any, visit_types: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, prefix="supply", **kwargs)
        self._choose(
            "visit_type", [("", "Choose a visit type")] + [(str(pk), name) for pk, name in visit_types]
        )
