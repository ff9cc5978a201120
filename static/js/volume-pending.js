// A volume's result page while the task worker draws its slice images and 3-D heatmap: ask every few seconds
// whether they are ready, then reload the page, which then shows them. A static file: the CSP forbids inline
// scripts.
(function () {
  "use strict";
  var notice = document.getElementById("volume-pending");
  if (!notice || !window.fetch) {
    return;
  }
  var url = notice.dataset.stateUrl;
  // The slice images come first: the page is reloaded for them, then again for the viewer.
  var slicesPending = Boolean(document.getElementById("slice-images-pending"));
  var tries = 0;
  function ask() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { pending: false }; })
      .then(function (state) {
        if (state.ready || (slicesPending && state.slice_images_pending === false)) {
          window.location.reload();
        } else if (state.pending && tries < 120) {
          window.setTimeout(ask, 3000);
        } else if (!state.pending) {
          notice.textContent = "The 3-D view could not be made. Your result above is complete.";
        }
      })
      .catch(function () { window.setTimeout(ask, 10000); });
  }
  window.setTimeout(ask, 2000);
})();
