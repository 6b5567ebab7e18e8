// QKV book: a figure shown smaller than its own size opens at full size when clicked.
// Served from _static/qkv.js on every page; needs nothing from another host.
(function () {
  "use strict";

  function shrunk(img) {
    return img.naturalWidth > 0 && img.getBoundingClientRect().width < img.naturalWidth - 2;
  }

  function open(src, alt) {
    var overlay = document.createElement("div");
    overlay.className = "qkv-zoom-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Figure at full size (click or press Escape to close)");
    var big = document.createElement("img");
    big.src = src;
    big.alt = alt || "";
    overlay.appendChild(big);
    function close() {
      overlay.remove();
      document.removeEventListener("keydown", onKey);
    }
    function onKey(event) {
      if (event.key === "Escape") close();
    }
    overlay.addEventListener("click", close);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
  }

  // Wrap a shrunk output image in a link to itself: a click opens the overlay,
  // and the link still works to open the picture in a new tab.
  function offerZoom(img) {
    if (!shrunk(img) || img.closest("a")) return;
    var link = document.createElement("a");
    link.className = "qkv-zoom";
    link.href = img.currentSrc || img.src;
    link.title = "Click to see the figure at full size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      open(link.href, img.alt);
    });
  }

  function scan() {
    var images = document.querySelectorAll("main .cell_output img:not(.widget-image)");
    Array.prototype.forEach.call(images, function (img) {
      if (img.complete) offerZoom(img);
      else img.addEventListener("load", function () { offerZoom(img); }, { once: true });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(scan, 200);
  });
})();
