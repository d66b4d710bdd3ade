from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("", views.stock, name="stock"),
    # "app:model": the worklist links its reorder tasks (source inventory.stocklocation) here
    path("locations/<int:stock_location_id>/", views.location, name="stocklocation"),
    path("locations/<int:stock_location_id>/pick-list/", views.pick_list, name="pick_list"),
    path("use/", views.consume, name="consume"),
    path("transfer/", views.transfer, name="transfer"),
    path("receive/", views.receive, name="receive"),
    path("adjust/", views.adjust, name="adjust"),
    path("count/", views.count, name="count"),
    path("reorder/", views.reorder, name="reorder"),
    path("orders/", views.orders, name="orders"),
    path("orders/new/", views.raise_order, name="raise_order"),
    path("orders/<int:purchase_order_id>/", views.order, name="order"),
    path("orders/<int:purchase_order_id>/send/", views.order_action, {"action": "send"}, name="send_order"),
    path(
        "orders/<int:purchase_order_id>/cancel/",
        views.order_action,
        {"action": "cancel"},
        name="cancel_order",
    ),
    path("orders/<int:purchase_order_id>/receive/", views.receive_order, name="receive_order"),
    path("expiring/", views.expiring, name="expiring"),
    path("setup/", views.setup, name="setup"),
    path("reports/", views.report, name="report"),
    path("reports/visit-cost.csv", views.report_csv, name="report_csv"),
    path("reports/stock.csv", views.stock_csv, name="stock_csv"),
]
