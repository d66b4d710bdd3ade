// Scheduling pages: drag to reschedule on the calendar, and the day sheet's print button.
// Loaded with <script src> (the CSP forbids inline scripts); handlers are delegated on the document, so
// they keep working after htmx swaps the calendar.
(function () {
  "use strict";

  let dragging = null; // the appointment block being dragged

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function status(message, kind) {
    const box = document.getElementById("calendar-status");
    if (!box) {
      return;
    }
    box.textContent = message;
    box.className = "alert alert-" + kind;
    box.hidden = false;
  }

  function dropCell(target) {
    return target && target.closest ? target.closest("td[data-start][data-resource]") : null;
  }

  // Minutes from the start of `cell` to where the pointer is: a cell spans `rowspan` rows of `step`.
  function offsetMinutes(cell, clientY) {
    const table = cell.closest("[data-step]");
    const step = parseInt((table && table.dataset.step) || "15", 10);
    const rows = cell.rowSpan || 1;
    const box = cell.getBoundingClientRect();
    if (rows <= 1 || box.height <= 0) {
      return 0;
    }
    const row = Math.floor(((clientY - box.top) / box.height) * rows);
    return Math.min(rows - 1, Math.max(0, row)) * step;
  }

  function clearTargets() {
    document.querySelectorAll(".cal-drop-target").forEach(function (cell) {
      cell.classList.remove("cal-drop-target");
    });
  }

  function refreshCalendar() {
    if (window.htmx && document.getElementById("calendar")) {
      return window.htmx.ajax("GET", window.location.href, { target: "#calendar", swap: "outerHTML" });
    }
    window.location.reload();
    return null;
  }

  function move(block, cell, offset) {
    const body = new FormData();
    body.append("start", cell.dataset.start);
    body.append("offset", String(offset));
    body.append("resource", cell.dataset.resource);
    body.append("from_resource", block.dataset.resource);
    body.append("version", block.dataset.version);
    block.classList.add("cal-moving");
    status("Moving…", "secondary");
    fetch(block.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { error: "The move failed (" + response.status + "). Please try again." };
          })
          .then(function (answer) {
            return { ok: response.ok, answer: answer };
          });
      })
      .then(function (result) {
        block.classList.remove("cal-moving");
        if (result.ok) {
          status(result.answer.message || "Moved.", "success");
          refreshCalendar();
        } else {
          // The block never left its place: it stays where it was, and the reason is shown.
          block.classList.add("cal-refused");
          status(result.answer.error || "The appointment could not be moved.", "danger");
        }
      })
      .catch(function () {
        block.classList.remove("cal-moving");
        status("The move failed (no answer). Please try again.", "danger");
      });
  }

  document.addEventListener("dragstart", function (event) {
    const block = event.target.closest ? event.target.closest("a[data-move-url]") : null;
    if (!block) {
      return;
    }
    dragging = block;
    block.classList.add("cal-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.dataset.appointment || "");
  });

  document.addEventListener("dragend", function () {
    if (dragging) {
      dragging.classList.remove("cal-dragging");
    }
    dragging = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    const cell = dragging && dropCell(event.target);
    if (!cell) {
      return;
    }
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!cell.classList.contains("cal-drop-target")) {
      clearTargets();
      cell.classList.add("cal-drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    const block = dragging;
    const cell = block && dropCell(event.target);
    if (!cell) {
      return;
    }
    event.preventDefault();
    clearTargets();
    document.querySelectorAll(".cal-refused").forEach(function (other) {
      other.classList.remove("cal-refused");
    });
    const offset = offsetMinutes(cell, event.clientY);
    const landed = new Date(new Date(cell.dataset.start).getTime() + offset * 60000);
    const unchanged =
      cell.dataset.resource === block.dataset.resource &&
      landed.getTime() === new Date(block.dataset.start).getTime();
    if (!unchanged) {
      move(block, cell, offset);
    }
  });

  // The day sheet's print button.
  document.addEventListener("click", function (event) {
    const button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      window.print();
    }
  });
})();
