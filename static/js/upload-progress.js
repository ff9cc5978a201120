// The upload page: while the scan is sent and analysed the button is disabled and a bar shows how far the
// sending has come, then that the program is checking it. A static file: the CSP forbids inline scripts.
// Without JavaScript the form is sent as usual.
(function () {
  "use strict";
  var form = document.querySelector("form[enctype='multipart/form-data']");
  var box = document.getElementById("upload-progress");
  if (!form || !box || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var bar = box.querySelector("progress");
  var status = box.querySelector("[role=status]");
  var button = form.querySelector("button[type=submit]");
  var label = button.textContent;

  function say(text, percent) {
    status.textContent = text;
    if (percent === null) {
      bar.removeAttribute("value"); // an indeterminate bar: the server is working
    } else {
      bar.value = percent;
    }
  }

  function giveBack(text) {
    button.disabled = false;
    button.textContent = label;
    form.removeAttribute("aria-busy");
    say(text, 0);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) {
      return;
    }
    button.disabled = true;
    button.textContent = "Sending…";
    form.setAttribute("aria-busy", "true");
    box.hidden = false;
    say("Sending your scan…", 0);
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("action") || window.location.href);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", function (sent) {
      if (sent.lengthComputable) {
        var percent = Math.round((100 * sent.loaded) / sent.total);
        say("Sending your scan: " + percent + "%", percent);
      }
    });
    request.upload.addEventListener("load", function () {
      button.textContent = "Checking…";
      say("Your scan is sent. The program is checking it: this takes a few seconds.", null);
    });
    request.addEventListener("load", function () {
      var type = request.getResponseHeader("Content-Type") || "";
      if (request.status === 200 && type.indexOf("application/json") === 0) {
        window.location.assign(JSON.parse(request.responseText).location);
        return;
      }
      if (type.indexOf("text/html") === 0) {
        // The page with what went wrong (a refused file, a login that expired): shown as the server wrote it.
        document.open();
        document.write(request.responseText);
        document.close();
        return;
      }
      giveBack("Something went wrong (error " + request.status + "). Please try again.");
    });
    request.addEventListener("error", function () {
      giveBack("The connection was lost before the scan was sent. Please check your connection and try again.");
    });
    request.send(new FormData(form));
  });
})();
