"""Supplies in a real browser: a nurse records supply use in an exam room, which drops below par and
says so; a coordinator raises a purchase order from the reorder suggestions, sends it, is stopped when
receiving more than ordered, receives it, and central supply's stock goes up."""

from __future__ import annotations

import re

import pytest
from django.db.models import Sum
from playwright.sync_api import Page, expect

from caredesk.inventory.models import PurchaseOrder, StockBalance
from tests.e2e.nav import follow

pytestmark = pytest.mark.e2e


def _gloves_at(place_name_start: str) -> int:
    total = StockBalance.objects.filter(
        item__sku="gloves-m",
        item__organization__short_code="RSH",
        stock_location__name__startswith=place_name_start,
    ).aggregate(t=Sum("quantity"))["t"]
    return int(total or 0)


def test_nurse_records_use_then_a_purchase_order_is_raised_and_received(page: Page, sign_in) -> None:
    sign_in("nurse")
    follow(page, "Supplies")
    expect(page.get_by_role("heading", name="Supplies", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Exam 1 cabinet")).click()
    expect(page.get_by_test_id("below-par-alert")).to_have_count(0)

    page.get_by_role("link", name="Record use here").click()
    page.get_by_label("Item").select_option(label="Exam gloves (M) (pair)")
    page.get_by_label("Quantity used").fill("-3")
    page.get_by_role("button", name="Record use").click()
    expect(page.get_by_test_id("error-quantity")).to_have_text("The quantity cannot be negative.")
    assert _gloves_at("Exam 1 cabinet") == 40

    page.get_by_label("Quantity used").fill("6")
    page.get_by_role("button", name="Record use").click()
    expect(page.get_by_text("Recorded the use of 6 pair Exam gloves (M).")).to_be_visible()
    expect(page.get_by_test_id("below-par-alert")).to_have_text("1 item below par.")
    gloves = page.get_by_test_id("row-gloves-m")
    expect(gloves).to_have_class(re.compile("table-warning"))
    expect(gloves.get_by_test_id("on-hand")).to_have_text("34")
    expect(gloves).to_contain_text("Below par")
    assert _gloves_at("Exam 1 cabinet") == 34
    page.get_by_role("button", name="Sign out").click()

    sign_in("coordinator")
    page.goto("/inventory/reorder/")
    group = page.get_by_test_id("reorder-group").filter(has_text="Exam gloves (M)")
    expect(group).to_contain_text("500")
    group.get_by_role("button", name="Raise purchase order").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Draft")
    page.get_by_role("button", name="Send to vendor").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Sent")
    central_before = _gloves_at("Central supply")

    quantity = page.get_by_label("Exam gloves (M) (pair)")
    expect(quantity).to_have_value("500")
    quantity.fill("520")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_test_id("over-receipt-error")).to_contain_text("520 received, 500 awaited")
    assert _gloves_at("Central supply") == central_before

    page.get_by_label("Exam gloves (M) (pair)").fill("200")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_test_id("order-status")).to_have_text("Partly received")
    page.get_by_label("Exam gloves (M) (pair)").fill("300")
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_test_id("order-status")).to_have_text("Received")
    expect(page.get_by_test_id("line-gloves-m").get_by_test_id("received")).to_have_text("500")
    assert PurchaseOrder.objects.get().status == "received"
    assert _gloves_at("Central supply") == central_before + 500

    page.goto("/inventory/")
    central = page.get_by_role("link", name=re.compile(r"^Central supply"))
    central.click()
    expect(page.get_by_test_id("row-gloves-m").get_by_test_id("on-hand")).to_have_text(
        str(central_before + 500)
    )
