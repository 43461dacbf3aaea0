/* The VAS line and a double-submit guard. Plain ES5 for older phones. Without this file the
   page still works: the VAS falls back to the 0-10 numeric scale rendered in the HTML. */
(function () {
  "use strict";
  var DRAG_SLOP_PX = 6, PAGE_STEP = 10, MAX = 100;

  function guardDoubleSubmit(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) { return; }
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    });
  }

  function setupVas() {
    var box = document.getElementById("vas-line");
    if (!box) { return; }
    var nrs = document.getElementById("vas-nrs"), mode = document.getElementById("vas-mode");
    var track = document.getElementById("vas-track"), line = track.querySelector(".vas-line");
    var thumb = document.getElementById("vas-thumb"), input = document.getElementById("vas-mm");
    var error = document.getElementById("vas-error");
    var rtl = getComputedStyle(track).direction === "rtl";
    var value = null, start = null, dragging = false;

    nrs.disabled = true;
    nrs.hidden = true;
    box.hidden = false;
    mode.value = "line";

    function show(v) {
      value = Math.max(0, Math.min(MAX, Math.round(v)));
      input.value = String(value);
      thumb.hidden = false;
      thumb.style.insetInlineStart = value + "%";
      if (!("insetInlineStart" in thumb.style)) { thumb.style[rtl ? "right" : "left"] = value + "%"; }
      track.setAttribute("aria-valuenow", String(value));
      track.removeAttribute("aria-valuetext");
      error.hidden = true;
    }
    function fromX(x) {
      var r = line.getBoundingClientRect();
      var f = rtl ? (r.right - x) / r.width : (x - r.left) / r.width;
      return Math.max(0, Math.min(1, f)) * MAX;
    }
    function down(x, y) { start = {x: x, y: y}; dragging = false; }
    function move(x, y, event) {
      if (!start) { return; }
      var dx = Math.abs(x - start.x), dy = Math.abs(y - start.y);
      if (!dragging && dx > DRAG_SLOP_PX && dx > dy) { dragging = true; }
      if (dragging) { show(fromX(x)); if (event.cancelable) { event.preventDefault(); } }
    }
    function up(x, y) {
      if (!start) { return; }
      // A tap marks the line; a mostly vertical movement was the page scrolling.
      var dx = Math.abs(x - start.x), dy = Math.abs(y - start.y);
      if (dragging || (dx <= DRAG_SLOP_PX && dy <= DRAG_SLOP_PX)) { show(fromX(x)); }
      start = null; dragging = false;
    }
    function cancel() { start = null; dragging = false; }

    if (window.PointerEvent) {
      track.addEventListener("pointerdown", function (e) {
        if (e.button > 0) { return; }
        down(e.clientX, e.clientY);
        if (e.pointerType === "mouse" && track.setPointerCapture) { track.setPointerCapture(e.pointerId); }
      });
      track.addEventListener("pointermove", function (e) { move(e.clientX, e.clientY, e); });
      track.addEventListener("pointerup", function (e) { up(e.clientX, e.clientY); });
      track.addEventListener("pointercancel", cancel);
    } else {
      track.addEventListener("touchstart", function (e) { var t = e.touches[0]; down(t.clientX, t.clientY); }, {passive: true});
      track.addEventListener("touchmove", function (e) { var t = e.touches[0]; move(t.clientX, t.clientY, e); }, {passive: false});
      track.addEventListener("touchend", function (e) { var t = e.changedTouches[0]; up(t.clientX, t.clientY); });
      track.addEventListener("touchcancel", cancel);
      track.addEventListener("mousedown", function (e) { down(e.clientX, e.clientY); });
      track.addEventListener("mouseup", function (e) { up(e.clientX, e.clientY); });
    }

    track.addEventListener("keydown", function (e) {
      var step = {ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: PAGE_STEP, PageDown: -PAGE_STEP}[e.key];
      if (rtl && (e.key === "ArrowRight" || e.key === "ArrowLeft")) { step = -step; }
      if (e.key === "Home") { show(0); } else if (e.key === "End") { show(MAX); }
      // The first key press puts the mark in the middle; later ones move it.
      else if (step) { show(value === null ? MAX / 2 : value + step); } else { return; }
      e.preventDefault();
    });

    input.form.addEventListener("submit", function (e) {
      if (value === null) {
        e.preventDefault();
        error.hidden = false;
        track.focus();
      }
    });
  }

  setupVas();
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) { guardDoubleSubmit(forms[i]); }
})();
