// Caredesk's own small behaviours. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("htmx:responseError", function (event) {
  const target = document.getElementById("htmx-error");
  if (target) {
    target.textContent = "The request failed (" + event.detail.xhr.status + "). Please try again.";
    target.hidden = false;
  }
});

// Forms inside [data-swap-errors] render their own 400/409 answers (field messages, conflicts):
// swap them in place like a success instead of reporting a failed request.
document.addEventListener("htmx:beforeSwap", function (event) {
  const status = event.detail.xhr.status;
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if ((status === 400 || status === 409) && source && source.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Patient chart: a "Cancel"/"Close" button empties the entry's action panel (correct, retract, history).
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-close-panel]");
  const panel = button && button.closest(".entry-panel");
  if (panel) {
    panel.replaceChildren();
  }
});

// Printable pages (discharge summary, education handouts): a [data-print] button opens the print dialog.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// Main navigation menus (<details data-nav-menu>): opening one closes the others; a click elsewhere or
// Escape closes them.
document.addEventListener("toggle", function (event) {
  const opened = event.target;
  if (opened.matches && opened.matches("details[data-nav-menu]") && opened.open) {
    document.querySelectorAll("details[data-nav-menu][open]").forEach(function (menu) {
      if (menu !== opened) {
        menu.open = false;
      }
    });
  }
}, true);
document.addEventListener("click", function (event) {
  document.querySelectorAll("details[data-nav-menu][open]").forEach(function (menu) {
    if (!menu.contains(event.target)) {
      menu.open = false;
    }
  });
});
document.addEventListener("keydown", function (event) {
  if (event.key === "Escape") {
    document.querySelectorAll("details[data-nav-menu][open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  }
});
