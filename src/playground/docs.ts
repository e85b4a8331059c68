// The docs the panels link to (docs/tour.md, docs/mmu.md), rendered on the
// page: headings get GitHub's anchors, so a panel's link lands on its section.
// Enough Markdown for these files: headings, paragraphs, lists, fenced code,
// inline code, bold, italics, links.

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
}

function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, '$1<i>$2</i>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label: string, href: string) => {
      // other docs open here; the docs' links to a running `trapeze serve` stay on this server
      const local = /^[\w-]+\.md(#.*)?$/.test(href) ? `docs.html?f=${href}` : href.replace(/^http:\/\/127\.0\.0\.1:8080\//, 'index.html');
      return `<a href="${local}">${label}</a>`;
    });
}

export function render(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  let para: string[] = [];
  let list: string[] | undefined;
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
    if (list) out.push(`<ul>${list.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`);
    list = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !lines[i].startsWith('```')) code.push(lines[i]);
      out.push(`<pre>${esc(code.join('\n'))}</pre>`);
      continue;
    }
    const h = /^(#{1,4}) (.*)$/.exec(line);
    if (h) { flush(); out.push(`<h${h[1].length} id="${slug(h[2].replace(/`/g, ''))}">${inline(h[2])}</h${h[1].length}>`); continue; }
    const li = /^\s*[-*] (.*)$/.exec(line) ?? /^\s*\d+\. (.*)$/.exec(line);
    if (li) { if (para.length) { out.push(`<p>${inline(para.join(' '))}</p>`); para = []; } (list ??= []).push(li[1]); continue; }
    if (!line.trim()) { flush(); continue; }
    if (list && /^\s+\S/.test(line)) { list[list.length - 1] += ` ${line.trim()}`; continue; }
    para.push(line.trim());
  }
  flush();
  return out.join('\n');
}

if (typeof document !== 'undefined') {
  const file = new URLSearchParams(location.search).get('f') ?? 'tour.md';
  const body = document.getElementById('doc')!;
  if (!/^[\w-]+\.md$/.test(file)) body.textContent = `${file}: not one of the docs`;
  else {
    fetch(`docs/${file}`).then(async (r) => {
      if (!r.ok) throw new Error(`${r.status}`);
      body.innerHTML = render(await r.text());
      document.title = `${file} — Trapeze`;
      if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
    }).catch((e: Error) => { body.textContent = `docs/${file}: ${e.message}`; });
  }
}
