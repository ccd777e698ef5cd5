// The bundled views: every view family registered, and the registry's API.
//
// Importing this module registers the core types and the widget set
// (docs/protocol.md "Model types"), custom anywidget-style widgets, the
// virtual-scrolling Table and Bokeh figures; `registerView` adds more.

import { createView, registerView, render, viewTypes } from "./registry.js";
import { LAYOUT_VIEWS } from "./layout.js";
import { CONTROL_VIEWS } from "./controls.js";
import { DISPLAY_VIEWS } from "./display.js";
import { ANYWIDGET_VIEWS } from "./anywidget.js";
import { ANYHOST_VIEWS } from "./anyhost.js";
import { TABLE_VIEWS } from "./table.js";
import { PLOT_VIEWS } from "./plot.js";
import { OUTPUT_VIEWS } from "./output.js";
import { PICKER_VIEWS } from "./pickers.js";
import { FILE_VIEWS } from "./files.js";
import { MEDIA_VIEWS } from "./media.js";
import { PLOTLY_VIEWS } from "./plotly.js";

export { createView, registerView, render, viewTypes };

/** Every bundled family, by model type. */
export const BUNDLED_VIEWS = Object.freeze({
  ...LAYOUT_VIEWS,
  ...CONTROL_VIEWS,
  ...DISPLAY_VIEWS,
  ...ANYWIDGET_VIEWS,
  ...ANYHOST_VIEWS,
  ...TABLE_VIEWS,
  ...PLOT_VIEWS,
  ...OUTPUT_VIEWS,
  ...PICKER_VIEWS,
  ...FILE_VIEWS,
  ...MEDIA_VIEWS,
  ...PLOTLY_VIEWS,
});

for (const [type, view] of Object.entries(BUNDLED_VIEWS)) registerView(type, view);
