// Our own accessibility checks, run in the page by tests/browser/support.py (custom_problems);
// what they check and why is described there.
(() => {
  const problems = [];
  const describe = (el) => {
    const id = el.id ? '#' + el.id : '';
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30);
    return `<${el.tagName.toLowerCase()}${id}${el.type ? ' type=' + el.type : ''}> "${text}"`;
  };
  const hidden = (el) => {
    if (el.closest('[aria-hidden="true"], [hidden], .visually-hidden')) return true;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') return true;
    const r = el.getBoundingClientRect();
    return r.width <= 1 || r.height <= 1;
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    if (el.hasAttribute('placeholder')) problems.push(`placeholder: ${describe(el)} has placeholder="${el.getAttribute('placeholder')}"`);
    if (hidden(el)) continue;
    const labels = Array.from(el.labels || []).filter((l) => l.textContent.trim());
    if (!labels.length && !el.getAttribute('aria-labelledby')) problems.push(`label: ${describe(el)} has no visible <label>`);
  }
  const blockOf = (el) => {
    let p = el.parentElement;
    while (p && getComputedStyle(p).display.startsWith('inline')) p = p.parentElement;
    return p;
  };
  const union = (rects) => {
    const left = Math.min(...rects.map((r) => r.left)), top = Math.min(...rects.map((r) => r.top));
    const right = Math.max(...rects.map((r) => r.right)), bottom = Math.max(...rects.map((r) => r.bottom));
    return {width: right - left, height: bottom - top};
  };
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea')) {
    if (el.type === 'hidden' || hidden(el)) continue;
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') {
      const block = blockOf(el);
      const own = el.textContent.trim().length;
      if (block && block.textContent.trim().length > own) continue;  // inline in a sentence
    }
    let size = el.getBoundingClientRect();
    if (el.type === 'radio' || el.type === 'checkbox') {
      size = union([el.getBoundingClientRect(), ...Array.from(el.labels || []).map((l) => l.getBoundingClientRect())]);
    }
    if (size.width < 44 - 0.5 || size.height < 44 - 0.5) {
      problems.push(`target-size: ${describe(el)} is ${Math.round(size.width)}×${Math.round(size.height)} px`);
    }
  }
  let previous = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (hidden(h)) continue;
    const level = Number(h.tagName[1]);
    if (previous && level > previous + 1) problems.push(`heading-order: <${h.tagName.toLowerCase()}> "${h.textContent.trim().slice(0, 30)}" follows h${previous}`);
    previous = level;
  }
  if (document.querySelectorAll('h1').length !== 1) problems.push(`page-has-one-h1: ${document.querySelectorAll('h1').length} <h1> on the page`);
  const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  if (overflow > 0) problems.push(`reflow: the page scrolls sideways by ${overflow} px at ${window.innerWidth} px wide`);
  return problems;
})
