// The 3-D viewer of a volume's result page. NiiVue (served from our own static files, see package.json)
// draws the scan with the heatmap volume over it in the axial, coronal and sagittal planes and in 3-D,
// painted with the page's colour map. Kept in a static file, with its settings in data attributes, so a
// strict Content-Security-Policy can forbid inline scripts. Without JavaScript (or WebGL 2) the section
// stays hidden and the page's slice table is the whole story.
(function () {
  "use strict";
  var box = document.getElementById("volume-viewer");
  if (!box || !window.niivue || !window.WebGL2RenderingContext) {
    return;
  }
  var status = box.querySelector(".viewer-status");
  var settings = box.dataset;
  // Radiological view (the patient's right on the screen's left), as the page's slices are shown.
  var nv = new window.niivue.Niivue({
    backColor: [0, 0, 0, 1], show3Dcrosshair: true, isColorbar: false, isRadiologicalConvention: true,
  });
  box.hidden = false;
  status.textContent = "Loading the volume…";
  nv.attachToCanvas(document.getElementById("volume-canvas"))
    .then(function () {
      nv.addColormap("alzaware", JSON.parse(settings.lut));
      return nv.loadVolumes([
        { url: settings.scanUrl, name: "scan.nii.gz", colormap: "gray" },
        { url: settings.heatmapUrl, name: "heatmap.nii.gz", colormap: "alzaware", opacity: 0.5 },
      ]);
    })
    .then(function () {
      var heat = nv.volumes[1];
      // The map's own range, its zero transparent: outside the band and where the network never looked.
      heat.cal_min = heat.global_max * 0.01;
      heat.cal_max = heat.global_max;
      nv.updateGLVolume();
      nv.setSliceType(nv.sliceTypeMultiplanar);
      nv.opts.multiplanarShowRender = window.niivue.SHOW_RENDER.ALWAYS;
      nv.drawScene();
      box.dataset.state = "drawn";
      status.textContent = "";
    })
    .catch(function (error) {
      box.dataset.state = "failed";
      status.textContent = "The 3-D view could not be shown; the slices below are complete.";
      console.warn("Volume viewer:", error);
    });
})();
