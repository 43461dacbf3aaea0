/* Keeps one patient link's pages on this phone, so its forms open with no connection (the page's
   script keeps an answer until it can be sent: static/patient.js). Registered by a form page with
   the link, /f/<token>, as its scope, and served at /f/sw.js (web/patient/routes.py).
   A page comes from the network whenever the network answers; only when it does not is the copy
   kept here shown. The copies are in this phone's own cache storage, never a shared cache (every
   page says Cache-Control: no-store), and they go when the server says the link has closed (410). */
"use strict";
var CACHE = "spine-pro-pages-1";
var KEPT_HEADERS = ["Content-Type", "Content-Security-Policy", "Referrer-Policy", "X-Content-Type-Options",
                    "X-Frame-Options"];

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("spine-pro-pages-") === 0 && n !== CACHE; })
                            .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function later(e, promise) {
  try { e.waitUntil(promise); } catch (err) { /* the work goes on regardless */ }
}

function bare(url) { return url.split("#")[0].split("?")[0]; }

function ours(url) {
  var scope = self.registration.scope;
  return url === scope || url.indexOf(scope + "/") === 0;
}

// Only form pages are kept (they hold no answer; a review page does). A kept copy says so
// (data-kept for data-live): a page opened from it knows its stamp is as old as the copy. The
// link's own address keeps the latest form, for the link opened offline.
function keep(url, response, latest) {
  return response.text().then(function (html) {
    if (html.indexOf(" data-live") < 0) { return null; }
    var headers = {};
    KEPT_HEADERS.forEach(function (name) { if (response.headers.has(name)) { headers[name] = response.headers.get(name); } });
    html = html.replace(" data-live", " data-kept");
    return caches.open(CACHE).then(function (cache) {
      return Promise.all([cache.put(bare(url), new Response(html, {headers: headers})),
                          latest ? cache.put(self.registration.scope, new Response(html, {headers: headers})) : null]);
    });
  });
}

function forget() {
  return caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return ours(r.url); }).map(function (r) { return cache.delete(r); }));
    });
  }).then(function () { return self.registration.unregister(); });
}

self.addEventListener("fetch", function (e) {
  var request = e.request;
  if (request.method !== "GET" || request.mode !== "navigate" || !ours(bare(request.url))) { return; }
  e.respondWith(fetch(request).then(function (response) {
    if (response.status === 200 && response.type === "basic") {
      later(e, keep(request.url, response.clone(), true));
    } else if (response.status === 410) {
      later(e, forget());
    }
    return response;
  }, function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(bare(request.url)).then(function (page) { return page || cache.match(self.registration.scope); });
    }).then(function (page) { return page || Response.error(); });
  }));
});

// A form page asks for the link's forms to be kept, so the next one opens with no connection.
self.addEventListener("message", function (e) {
  var urls = e.data && e.data.keep;
  if (!urls) { return; }
  e.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.filter(function (url) { return ours(bare(url)); }).map(function (url) {
      return cache.match(bare(url)).then(function (kept) {
        if (kept) { return null; }
        return fetch(url, {credentials: "same-origin"}).then(function (response) {
          return response.status === 200 ? keep(url, response, url === e.data.latest) : null;
        });
      });
    }));
  }).then(function () { e.source.postMessage({kept: true}); }, function () { e.source.postMessage({kept: false}); }));
});
