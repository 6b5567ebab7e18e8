// Glue between the ipywidgets HTML manager and this offline site.
// Loaded after require.js and before embed-amd.js, on pages that hold widgets.
(function () {
  // 1. Serve the manager's own files (its icon fonts) from this site. Without
  //    this it resolves them relative to the page, e.g. notebooks/@jupyter-widgets/...,
  //    which gives 404s.
  var here = document.currentScript.src;
  var manager = new URL("html-manager/", here).href;
  window.__jupyter_widgets_assets_path__ = manager;
  if (window.requirejs && window.requirejs.config) {
    window.requirejs.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": manager.replace(/\/$/, "")
      }
    });
  }

  // 2. The controls typeset their labels with MathJax 2's MathJax.Hub.Queue
  //    whenever window.MathJax exists. This book serves MathJax 3, which has no
  //    Hub, so the manager threw "Cannot read properties of undefined (reading
  //    'Queue')". Give it a small Hub that forwards to MathJax 3, and holds the
  //    elements until MathJax 3 has started.
  var pending = [];
  function queue(command) {
    var element = command && command[2];
    if (!element) return;
    var mj = window.MathJax;
    if (mj && typeof mj.typesetPromise === "function" && mj.startup && mj.startup.document) {
      mj.typesetPromise([element]);
    } else {
      pending.push(element);
    }
  }
  var config = window.MathJax || {};
  var startup = config.startup || {};
  var userReady = startup.ready;
  startup.ready = function () {
    if (userReady) { userReady(); } else { window.MathJax.startup.defaultReady(); }
    window.MathJax.Hub = { Queue: queue };
    window.MathJax.startup.promise.then(function () {
      if (pending.length) { window.MathJax.typesetPromise(pending.splice(0)); }
    });
  };
  config.startup = startup;
  config.Hub = { Queue: queue };
  window.MathJax = config;
})();
