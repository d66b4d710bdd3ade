// Worklist: a "select all" box ticks every task box of its table (no inline scripts: the CSP forbids them).
document.addEventListener("change", function (event) {
  const box = event.target.closest("[data-select-all]");
  if (!box) {
    return;
  }
  const table = box.closest("table");
  const name = box.getAttribute("data-select-all");
  table.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (item) {
    item.checked = box.checked;
  });
});
