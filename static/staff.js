/* Staff pages, enhanced: times in the viewer's own zone, a second question before a
   destructive action, and on the procedure record only the chosen guidance's dose fields.
   Everything works without it (times in the site's zone; the forms' own confirmation boxes;
   both sets of dose fields, the server refusing the other modality's). */
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    hour12: false, timeZoneName: "short"
  });
  function localise() {
    var times = document.querySelectorAll("time[data-viewer]");
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(when.getTime())) { times[i].textContent = format.format(when); }
    }
  }
  function confirmations() {
    var forms = document.querySelectorAll("form[data-confirm]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function (event) {
        if (!window.confirm(this.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    }
  }
  // Each <fieldset data-modality> shows only while its guidance is chosen; hidden, it is also
  // disabled, so what was typed in it is kept but not sent. A group the server marked wrong
  // stays in view when the page opens, so its message can be read and acted on.
  function modalities() {
    var groups = document.querySelectorAll("fieldset[data-modality]");
    if (!groups.length || !groups[0].form) { return; }
    var form = groups[0].form;
    function apply(opening) {
      var chosen = form.querySelector("input[name=guidance]:checked");
      for (var i = 0; i < groups.length; i++) {
        var other = !!chosen && groups[i].getAttribute("data-modality") !== chosen.value;
        if (opening && groups[i].querySelector(".invalid")) { other = false; }
        groups[i].hidden = other;
        groups[i].disabled = other;
      }
    }
    var radios = form.querySelectorAll("input[name=guidance]");
    for (var i = 0; i < radios.length; i++) {
      radios[i].addEventListener("change", function () { apply(false); });
    }
    apply(true);
  }
  document.addEventListener("DOMContentLoaded", function () { localise(); confirmations(); modalities(); });
}());
