// abcgen songbook page: draws each tune's notation with abcjs (when it is loaded), gives each
// the practice player (player.js), and filters the tunes by title, rhythm and key. Works from
// file:// (no fetch, no network).
(function () {
  "use strict";

  var BATCH = 6; // tunes drawn per step, so the page stays responsive while it fills in
  var tunes = JSON.parse(document.getElementById("songbook-tunes").textContent);
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.tune"));
  var contents = Array.prototype.slice.call(document.querySelectorAll("#contents li"));

  function draw(section) {
    var target = section.querySelector(".notation");
    var abc = tunes[Number(section.getAttribute("data-index"))];
    if (!window.ABCJS) { // abcjs not bundled: show the ABC itself
      var pre = document.createElement("pre");
      pre.textContent = abc;
      target.appendChild(pre);
      return;
    }
    var visual = window.ABCJS.renderAbc(target, abc, {
      responsive: "resize", add_classes: true, paddingtop: 0, paddingbottom: 4,
      paddingleft: 0, paddingright: 0
    })[0];
    target.setAttribute("data-drawn", "1");
    practise(section, visual);
  }

  // The web app's practice player (player.js) under the tune's audio: speed, loop, cursor,
  // count-in; it needs abcjs's timings, so a tune without notation keeps the plain player.
  function practise(section, visual) {
    var audio = section.querySelector("audio");
    if (!audio || !visual || !window.Practice) {
      return;
    }
    var practice = new window.Practice(section, visual, audio);
    audio.parentNode.insertBefore(practice.controls(), audio.nextSibling);
  }

  function drawFrom(start) {
    var end = Math.min(start + BATCH, sections.length);
    for (var i = start; i < end; i++) {
      draw(sections[i]);
    }
    if (end < sections.length) {
      window.setTimeout(drawFrom, 0, end);
    } else {
      document.body.setAttribute("data-notation", "ready");
    }
  }

  function matches(section, text, rhythm, key) {
    return section.getAttribute("data-title").indexOf(text) !== -1 &&
      (!rhythm || section.getAttribute("data-rhythm") === rhythm) &&
      (!key || section.getAttribute("data-key") === key);
  }

  function applyFilter() {
    var text = document.getElementById("filter-title").value.trim().toLocaleLowerCase();
    var rhythm = document.getElementById("filter-rhythm").value;
    var key = document.getElementById("filter-key").value;
    var shown = 0;
    sections.forEach(function (section, i) {
      var keep = matches(section, text, rhythm, key);
      section.hidden = !keep;
      contents[i].hidden = !keep;
      shown += keep ? 1 : 0;
    });
    document.getElementById("filter-count").textContent =
      shown === sections.length ? "" : shown + " of " + sections.length + " tunes";
  }

  ["filter-title", "filter-rhythm", "filter-key"].forEach(function (id) {
    document.getElementById(id).addEventListener("input", applyFilter);
  });
  drawFrom(0);
})();
