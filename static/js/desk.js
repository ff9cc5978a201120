// The doctor's review page: click an image to see it large, and keys for the review's choices.
(function () {
  "use strict";
  var dialog = document.getElementById("enlarged");
  document.querySelectorAll("a.enlarge").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!dialog || !dialog.showModal) { return; }  // no <dialog>: the link opens the image itself
      event.preventDefault();
      var image = dialog.querySelector("img");
      var shown = link.querySelector("img");
      image.src = link.href;
      image.alt = shown ? shown.alt : "";
      dialog.showModal();
    });
  });
  if (dialog) {
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
  }

  var shortcuts = document.getElementById("shortcuts");
  if (!shortcuts) { return; }
  var grades = shortcuts.dataset.grades.split("|");
  var programGrade = shortcuts.dataset.programGrade;
  function choose(name, value) {
    var radio = document.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (radio) { radio.checked = true; radio.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var next = document.querySelector('input[name="_next"]');
      if (next) { event.preventDefault(); next.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target.closest("textarea, select, input[type=text], input[type=date], input[type=search]")) { return; }
    var key = event.key.toLowerCase();
    if (key === "a") { choose("verdict", "agree"); }
    else if (key === "c") { choose("verdict", "cannot_tell"); }
    else if (/^[1-4]$/.test(key) && grades[key - 1]) {
      if (grades[key - 1] === programGrade) { choose("verdict", "agree"); }
      else { choose("verdict", "other_grade"); choose("grade", grades[key - 1]); }
    } else { return; }
    event.preventDefault();
  });
}());
