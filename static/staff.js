/* Staff pages, enhanced: times in the viewer's own zone, and a second question before a
   destructive action. Everything works without it (times in the site's zone; the forms'
   own confirmation boxes). */
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
  document.addEventListener("DOMContentLoaded", function () { localise(); confirmations(); });
}());
