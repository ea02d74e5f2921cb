// The widget registry: one browser module per control type, beside the Python control of the
// same name (labelhouse/controls/<type>.py). A widget module exports `create(ctx)`:
//
//   ctx    = { config, item, value, onChange, files, field(name) }
//            value: the saved answer for this control, or undefined
//            onChange(): call after every edit (drafts are saved from it)
//            files[field]: { url, img } for an item file already fetched and decoded
//   widget = { el, value(), keys: [[key, what], ...], key(ev) -> handled?, focus?(), owns: [fields] }
//            value() is undefined while the control has no answer; `owns` names the item fields
//            the widget shows itself (the rest of the item is shown by the label view).
const modules = {
  choices: () => import("./choices.js"),
  spans: () => import("./spans.js"),
  boxes: () => import("./boxes.js"),
  text: () => import("./text.js"),
  rating: () => import("./rating.js"),
  ranking: () => import("./ranking.js"),
  preference: () => import("./preference.js"),
};

const loaded = {};

/** The control types this UI has a widget for. */
export const widgetTypes = Object.keys(modules);

export async function widgetFor(type) {
  if (!loaded[type]) {
    const load = modules[type];
    if (!load) throw new Error(`this UI has no widget for control type '${type}'`);
    loaded[type] = await load();
  }
  return loaded[type];
}

export const digitKey = (ev) => (/^Digit[0-9]$/.test(ev.code) ? (Number(ev.code.slice(5)) + 9) % 10 : -1);
