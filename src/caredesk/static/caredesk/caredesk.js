// Caredesk's own small behaviours. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("htmx:responseError", function (event) {
  const target = document.getElementById("htmx-error");
  if (target) {
    target.textContent = "The request failed (" + event.detail.xhr.status + "). Please try again.";
    target.hidden = false;
  }
});
