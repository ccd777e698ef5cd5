// The navigation bar of a dashboard page (rendered by the server:
// wsbridge/server/pages.py `render_nav`): the hub's title, then its
// dashboards and apps, the current one `aria-current="page"`.
//
// A page shown inside another page (a notebook's output, an iframe on a
// site) hides it: there one dashboard is shown, and its links would
// navigate inside the frame.

/**
 * Is this window inside a frame? (A cross-origin parent makes `top`
 * unreadable: that is a frame too.)
 * @param {{self: any, top: any}} win
 */
export function isFramed(win) {
  try {
    return win.self !== win.top;
  } catch {
    return true;
  }
}

/**
 * Hide `nav` (the navigation bar, if the page has one) when framed.
 * @param {HTMLElement | null} nav
 * @param {{self: any, top: any}} [win]
 */
export function hideWhenFramed(nav, win = globalThis.window) {
  if (nav && win && isFramed(win)) nav.hidden = true;
}
