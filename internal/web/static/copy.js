// Copy buttons for install instructions: the pages work without it.
"use strict";
document.querySelectorAll("button[data-copy]").forEach(function (b) {
  var pre = document.getElementById(b.getAttribute("data-copy"));
  if (!pre || !navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.textContent).then(function () {
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = "Copy"; }, 2000);
    }, function () {
      b.textContent = "Copy failed";
    });
  });
});
