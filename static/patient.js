/* The VAS line, a double-submit guard, and answering with no connection. Plain ES5 for older
   phones. Without this file the page still works: the VAS falls back to the 0-10 numeric scale
   rendered in the HTML, and a form is sent as a plain form. */
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

  /* Answering with no connection (README "Answering offline"). Every submission gets a random key
     (sent twice, it is stored once) and the time it was answered, on the server's clock. Where the
     service worker (static/sw.js) keeps this link's pages, the script sends the form itself, and
     a form that cannot be sent waits in this phone's IndexedDB (or localStorage) until the
     connection returns or the link is opened again. Without a worker, the form goes as it always did. */
  var OUTBOX = "spine-pro-outbox", CLOCK = "spine-pro-clock", RETRY_MS = 15000;

  function randomKey() {
    var bytes = new Uint8Array(16), hex = "";
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) { hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return hex;
  }

  // How far this phone's clock is from the server's: measured on a page fresh from the server,
  // remembered for a page the worker kept (its stamp is as old as the copy).
  function clockOffset(live, served) {
    var offset = served - Date.now();
    try {
      if (live) { localStorage.setItem(CLOCK, String(offset)); } else { offset = parseInt(localStorage.getItem(CLOCK), 10) || 0; }
    } catch (e) { if (!live) { offset = 0; } }
    return offset;
  }

  function idbOutbox() {
    var opened = new Promise(function (ok, fail) {
      var r = indexedDB.open(OUTBOX, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore("sends", {keyPath: "key"}); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
    function run(mode, work) {
      return opened.then(function (db) {
        return new Promise(function (ok, fail) {
          var t = db.transaction("sends", mode), r = work(t.objectStore("sends"));
          t.oncomplete = function () { ok(r.result); };
          t.onerror = t.onabort = function () { fail(t.error); };
        });
      });
    }
    return {
      all: function () { return run("readonly", function (s) { return s.getAll(); }); },
      put: function (entry) { return run("readwrite", function (s) { return s.put(entry); }); },
      drop: function (key) { return run("readwrite", function (s) { return s.delete(key); }); }
    };
  }

  function localOutbox() {
    function read() { return JSON.parse(localStorage.getItem(OUTBOX) || "{}"); }
    function change(fn) { return Promise.resolve().then(function () { var all = read(); fn(all); localStorage.setItem(OUTBOX, JSON.stringify(all)); }); }
    return {
      all: function () { return Promise.resolve().then(function () { var all = read(), list = []; for (var k in all) { list.push(all[k]); } return list; }); },
      put: function (entry) { return change(function (all) { all[entry.key] = entry; }); },
      drop: function (key) { return change(function (all) { delete all[key]; }); }
    };
  }

  // IndexedDB where it opens; localStorage where that is all there is.
  function outbox() {
    var local = localOutbox();
    if (!window.indexedDB) { return Promise.resolve(local); }
    var idb = idbOutbox();
    return idb.all().then(function () { return idb; }, function () { return local; });
  }

  function encode(form) {
    var parts = [], els = form.elements;
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!el.name || el.matches(":disabled") || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) { continue; }
      parts.push(encodeURIComponent(el.name) + "=" + encodeURIComponent(el.value));
    }
    return parts.join("&");
  }

  function setupOffline() {
    var form = document.querySelector("form[data-scope]"), note = document.getElementById("offline-status");
    if (!form || !note) { return; }
    var key = form.elements.submission_key, at = form.elements.answered_at;
    var served = parseInt(form.elements.stamp.value, 10);
    var offset = clockOffset(form.hasAttribute("data-live"), served);
    // busy: keys being sent now; answered: keys the server has answered (a flush that read the
    // outbox before that answer must not send them again).
    var sw = navigator.serviceWorker, box = null, busy = {}, answered = {}, timer = null;

    form.addEventListener("submit", function (e) {
      if (e.defaultPrevented) { return; }
      try { if (!key.value) { key.value = randomKey(); } } catch (err) { /* no crypto: no key */ }
      if (!isNaN(served)) { at.value = String(Date.now() + offset); }
      if (!box || !sw.controller || !key.value) { return; }
      e.preventDefault();
      var entry = {key: key.value, url: form.action, body: encode(form)};
      box.then(function (b) { return b.put(entry); }).then(function () { send(entry, true); }, function () { form.submit(); });
    });
    if (!sw || !window.fetch || !window.Promise) { return; }
    box = outbox();
    var scope = new URL(form.getAttribute("data-scope"), location.href).href + "/";

    function show(kind, next, reply, mine) {
      var div = document.createElement("div"), p = document.createElement("p");
      div.className = "notice";
      p.textContent = note.getAttribute("data-" + kind);
      div.appendChild(p);
      [reply && reply.title, reply && reply.message].forEach(function (text) {
        if (text) { p = document.createElement("p"); p.textContent = text; div.appendChild(p); }
      });
      if (next) {
        var a = document.createElement("a");
        a.className = "button";
        a.href = next;
        a.textContent = note.getAttribute("data-continue");
        div.appendChild(a);
      }
      note.textContent = "";
      note.appendChild(div);
      if (mine) {
        form.hidden = kind !== "invalid";
        if (kind === "invalid") { form.removeAttribute("data-sent"); key.value = ""; }   // to be answered again
      }
    }

    function retry() {
      if (!timer) { timer = setTimeout(function () { timer = null; flush(); }, RETRY_MS); }
    }

    // Sent by this page (fresh) or from the outbox; the entry leaves the outbox once the server
    // has answered it, whatever it said. Busy or unreachable, it stays and is tried again.
    function send(entry, fresh) {
      var mine = entry.url === form.action;
      if (busy[entry.key] || answered[entry.key]) { return Promise.resolve(); }
      busy[entry.key] = true;
      return fetch(entry.url, {method: "POST", body: entry.body, credentials: "same-origin",
                               headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}})
        .then(function (r) {
          if (r.status >= 500 || r.status === 429) { throw new Error("later"); }
          return r.json().then(null, function () { return {status: "refused"}; });
        })
        .then(function (reply) {
          answered[entry.key] = true;
          return box.then(function (b) { return b.drop(entry.key); }).then(function () {
            busy[entry.key] = false;
            var ok = reply.status === "saved" || reply.status === "already_received";
            // Sent from the page the patient is on: what a plain form would have shown.
            if (fresh) { if (ok) { location.assign(reply.next); } else { form.submit(); } return; }
            show(ok ? (reply.status === "saved" ? "sent" : reply.status) : reply.status === "invalid" ? "invalid" : "refused",
                 ok && mine ? reply.next : null, ok ? null : reply, mine);
          });
        }, function () {
          busy[entry.key] = false;
          if (mine) { show("saved", form.getAttribute("data-next"), null, true); }
          retry();
        });
    }

    // This link's waiting forms, one after another; the outbox unreadable, try again later.
    function flush() {
      box.then(function (b) { return b.all(); }).then(function (entries) {
        return entries.reduce(function (chain, entry) {
          if (entry.url.indexOf(scope) !== 0) { return chain; }
          if (entry.url === form.action && !busy[entry.key] && !answered[entry.key]) {
            show("saved", form.getAttribute("data-next"), null, true);
          }
          return chain.then(function () { return send(entry, false); });
        }, Promise.resolve());
      }).then(null, retry);
    }

    sw.onmessage = function (e) { if (e.data && e.data.kept) { form.setAttribute("data-offline", "ready"); } };
    sw.register(form.getAttribute("data-sw"), {scope: form.getAttribute("data-scope")}).then(function () {
      return sw.ready;
    }).then(function (registration) {
      var keep = form.getAttribute("data-keep").split(" ").map(function (url) { return new URL(url, location.href).href; });
      registration.active.postMessage({keep: [location.href].concat(keep), latest: location.href});
    }).then(null, function () { /* no worker (blocked, or an old browser): forms go as they always did */ });
    flush();
    window.addEventListener("online", flush);
  }

  setupVas();
  var forms = document.querySelectorAll("form");
  for (var i = 0; i < forms.length; i++) { guardDoubleSubmit(forms[i]); }
  setupOffline();
})();
