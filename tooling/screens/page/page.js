// Runs in the page: renders one APL document at a time with Amazon's web renderer
// (apl-viewhost-web, APL core compiled to WebAssembly) and reports what a person would see:
// every Text component's full text, the part actually shown, and where each rendered line
// sits against whatever clips it (a parent, the screen's edge, a round screen's circle).
// It measures and reports; render.py decides what counts as a problem.
/* global AplRenderer */
'use strict';

const TEXT = AplRenderer.ComponentType.kComponentTypeText;
const SCROLL_VIEW = AplRenderer.ComponentType.kComponentTypeScrollView;
const TOUCH_WRAPPER = AplRenderer.ComponentType.kComponentTypeTouchWrapper;
const TEXT_PROPERTY = AplRenderer.PropertyKey.kPropertyText;
const ELLIPSIS = '\u2026';
// Sub-pixel rounding in the layout: a line this close to an edge still shows whole.
const TOLERANCE = 1;

let current = null; // the renderer on screen, destroyed before the next render
const sentEvents = []; // SendEvent commands the renderer raised (from touches)
const runtimeErrors = [];

// The renderer's @font-face rules name Amazon Ember faces; load each weight and style the
// documents can use before anything is measured, or the first layout measures a fallback font.
window.ready = (async () => {
  await AplRenderer.initEngine();
  const faces = ['400', '700', 'italic 400', 'italic 700', '300', '500'];
  await Promise.all(faces.map((face) => document.fonts.load(`${face} 20px amazon-ember-display`)));
  return [...document.fonts].map((f) => ({family: f.family, weight: f.weight, style: f.style,
    status: f.status}));
})();

function plain(text) {
  return String(text || '').replace(/\s+/g, ' ').trim();
}

function rectOf(r) {
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
}

function inside(r, box) {
  return r.left >= box.left - TOLERANCE && r.right <= box.right + TOLERANCE &&
    r.top >= box.top - TOLERANCE && r.bottom <= box.bottom + TOLERANCE;
}

function insideCircle(r, circle) {
  const corners = [[r.left, r.top], [r.right, r.top], [r.left, r.bottom], [r.right, r.bottom]];
  return corners.every(([x, y]) =>
    Math.hypot(x - circle.x, y - circle.y) <= circle.radius + TOLERANCE);
}

function componentOf(element) {
  return element && element.id ? current.componentMap[element.id] : undefined;
}

// What clips an element on screen: every ancestor up to the view whose overflow is not
// visible. A ScrollView clips too, but what it holds can be scrolled into sight, so the clips
// between the text and its ScrollView (`inner`, which scroll with it) are kept apart from those
// outside it (`outer`, which stay where they are).
function clipsOf(element, view) {
  const inner = [];
  const outer = [];
  let scrollView = null;
  for (let node = element.parentElement; node && node !== view.parentElement;
    node = node.parentElement) {
    const component = componentOf(node);
    if (!scrollView && component && component.component.getType() === SCROLL_VIEW) {
      scrollView = node;
      continue;
    }
    if (getComputedStyle(node).overflow !== 'visible') {
      (scrollView ? outer : inner).push(node.getBoundingClientRect());
    }
  }
  return {inner, outer, scrollView};
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// Where a person can bring a line by scrolling its ScrollView, best placed for them: whole
// inside the ScrollView's box and, on a round screen, as near the middle as scrolling allows.
// Null when no scroll position shows the whole line.
function placeByScrolling(line, scrollView, circle) {
  const box = scrollView.getBoundingClientRect();
  const height = line.bottom - line.top;
  const canScrollDown = scrollView.scrollHeight - scrollView.clientHeight - scrollView.scrollTop;
  const low = Math.max(line.top - canScrollDown, box.top);
  const high = Math.min(line.top + scrollView.scrollTop, box.bottom - height);
  if (low > high + TOLERANCE) return null;
  const wanted = circle ? circle.y - height / 2 : line.top;
  const top = clamp(wanted, low, Math.max(low, high));
  return {left: line.left, right: line.right, top, bottom: top + height};
}

function lineRects(paragraph) {
  const lines = new Map(); // rounded top -> box
  const walker = document.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    for (let i = 0; i < text.length; i++) {
      if (/\s/.test(text[i])) continue;
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      for (const r of range.getClientRects()) {
        if (r.width === 0 || r.height === 0) continue;
        const key = Math.round(r.top);
        const line = lines.get(key);
        lines.set(key, line ? {left: Math.min(line.left, r.left), top: Math.min(line.top, r.top),
          right: Math.max(line.right, r.right), bottom: Math.max(line.bottom, r.bottom)}
          : rectOf(r));
      }
    }
  }
  return [...lines.values()];
}

function measureText(component, view, circle) {
  const paragraph = component.textContainer;
  const styled = component.props[TEXT_PROPERTY];
  const full = plain(styled && typeof styled === 'object' ? styled.text : styled);
  let shown = plain(paragraph.textContent);
  const ellipsis = shown.endsWith(ELLIPSIS);
  if (ellipsis) shown = plain(shown.slice(0, -1));
  const {inner, outer, scrollView} = clipsOf(component.container, view);
  const lines = lineRects(paragraph);
  const hidden = [];
  const outsideCircle = [];
  let scrolled = false;
  for (const line of lines) {
    const placed = scrollView ? placeByScrolling(line, scrollView, circle) : line;
    if (!placed || !inner.every((clip) => inside(line, clip)) ||
      !outer.every((clip) => inside(placed, clip))) {
      hidden.push(line);
      continue;
    }
    // Only a line that cannot be seen where it first shows counts as needing a scroll.
    if (scrollView && !inside(line, scrollView.getBoundingClientRect())) scrolled = true;
    if (circle && !insideCircle(placed, circle)) outsideCircle.push(line);
  }
  const box = component.container.getBoundingClientRect();
  return {
    id: component.assignedId || component.id,
    full,
    shown,
    ellipsis,
    lines: lines.length,
    box: rectOf(box),
    // The renderer sizes the paragraph to the box core laid out: more content than box means
    // lines drawn past it, over whatever follows.
    overflow: Math.max(0, paragraph.scrollHeight - paragraph.clientHeight,
      paragraph.scrollWidth - paragraph.clientWidth),
    hidden,
    outsideCircle,
    scrolled,
    fontsLoaded: document.fonts.check(
      `${getComputedStyle(paragraph).fontWeight} 20px amazon-ember-display`),
  };
}

function touchTargets(view, circle) {
  const viewBox = view.getBoundingClientRect();
  return Object.values(current.componentMap)
    .filter((c) => c.component && c.component.getType() === TOUCH_WRAPPER)
    .map((c) => {
      const r = rectOf(c.container.getBoundingClientRect());
      return {id: c.assignedId || c.id, box: r, text: plain(c.container.textContent),
        width: r.right - r.left, height: r.bottom - r.top,
        inView: inside(r, viewBox) && (!circle || insideCircle(r, circle))};
    });
}

// Render one job: {document, datasources, viewport: {width, height, dpi, shape, mode, theme}}.
window.renderView = async (job) => {
  if (current) {
    current.destroy();
    current = null;
  }
  runtimeErrors.length = 0;
  sentEvents.length = 0;
  const host = document.getElementById('host');
  host.replaceChildren();
  const view = document.createElement('div');
  host.appendChild(view);
  const started = performance.now();
  const content = AplRenderer.Content.create(JSON.stringify(job.document));
  if (content.isError()) return {error: 'the renderer refused the document', ms: 0};
  for (const [name, value] of Object.entries(job.datasources)) {
    content.addData(name, JSON.stringify(value));
  }
  const {width, height, dpi, shape, mode, theme} = job.viewport;
  current = AplRenderer.default.create({
    content,
    view,
    environment: {agentName: 'cramp-coach-screens', agentVersion: '1.0', allowOpenUrl: false,
      disallowVideo: true},
    viewport: {width, height, dpi, shape},
    theme,
    mode,
    utcTime: Date.now(),
    localTimeAdjustment: 0,
    notLoadFonts: true, // loaded once by window.ready, from local files
    logLevel: 'warn',
    developerToolOptions: {mappingKey: 'id', writeKeys: ['id']},
    onRunTimeError: (errors) => runtimeErrors.push(...[].concat(errors).map(String)),
    onSendEvent: (event) => sentEvents.push(JSON.parse(JSON.stringify(event))),
  });
  await current.init();
  if (!current.context) return {error: 'the renderer made no context (invalid document)', ms: 0};
  await document.fonts.ready;
  // One frame, so the renderer's first update (pending errors, dirty properties) has run: its
  // frame callback was registered first, so it runs before this one.
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const ms = performance.now() - started;
  const viewBox = view.getBoundingClientRect();
  const circle = shape === 'ROUND' ? {x: viewBox.left + viewBox.width / 2,
    y: viewBox.top + viewBox.height / 2, radius: Math.min(viewBox.width, viewBox.height) / 2}
    : null;
  const texts = Object.values(current.componentMap)
    .filter((c) => c.component && c.component.getType() === TEXT)
    .map((c) => measureText(c, view, circle));
  return {
    ms,
    aplVersion: content.getAPLVersion(),
    texts,
    touch: touchTargets(view, circle),
    runtimeErrors: [...runtimeErrors],
    viewSize: {width: viewBox.width, height: viewBox.height},
  };
};

// After a render: the SendEvent commands raised so far (touches), then forget them.
window.takeSentEvents = () => sentEvents.splice(0);
window.takeRuntimeErrors = () => runtimeErrors.splice(0);
