// The playground page: controls and panels. The guest runs in a worker
// (worker.ts); this thread only draws what the worker reports.
import type { ToWorker, FromWorker, StateMessage } from './protocol.js';
import type { ShareView } from './session.js';

const GUESTS: [string, string, string][] = [
  ['hello.elf', '', 'hello: serial output'],
  ['pagestress.elf', '', 'pagestress: shadow page table at work'],
  ['compute.elf', '', 'compute: CPU-bound'],
  ['vmexit.elf', 'iterations=2000', 'vmexit: one exit of each kind'],
  ['paging.elf', '', 'paging: enables paging'],
  ['exceptions.elf', '', 'exceptions'],
  ['tasks.elf', '', 'tasks: hardware task switch'],
  ['pcboot.img', '', 'pcboot.img: a PC from its boot sector (CGA)'],
];

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const hex = (v: number, w = 8) => (v >>> 0).toString(16).padStart(w, '0');
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

const guest = $<HTMLSelectElement>('guest');
for (const [file, cmd, label] of GUESTS) guest.add(new Option(label, `${file}|${cmd}`));
const status = $('status');
const serialEl = $('serial');
const logBody = ($('log') as HTMLTableElement).tBodies[0];
let current = 'hello.elf';
let lastMmuSeq = 0;

function load(): void {
  const [file, cmd] = guest.value.split('|');
  current = file;
  const cmdline = $<HTMLInputElement>('cmdline').value || cmd;
  send({ t: 'load', spec: { file, cmdline } });
}
guest.onchange = () => { $<HTMLInputElement>('cmdline').value = ''; load(); };
$('run').onclick = () => send({ t: 'run' });
$('pause').onclick = () => send({ t: 'pause' });
$('step').onclick = () => send({ t: 'step', count: 1 });
$('reset').onclick = () => { if ($<HTMLInputElement>('cmdline').value) load(); else send({ t: 'reset' }); };
$<HTMLSelectElement>('speed').onchange = (e) => send({ t: 'speed', ips: Number((e.target as HTMLSelectElement).value) });
$<HTMLInputElement>('cmdline').onchange = load;
$('shares').onclick = () => send({ t: 'shares', vms: [1, 2, 4].map((s, i) => ({ name: `vm${i} ×${s}`, file: 'spin.elf', cmdline: 'report=5000000', shares: s })) });
$<HTMLInputElement>('file').onchange = async (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  const bytes = new Uint8Array(await f.arrayBuffer());
  send({ t: 'file', name: f.name, bytes }, [bytes.buffer]);
  const o = new Option(`${f.name} (your file)`, `${f.name}|`);
  guest.add(o);
  guest.value = o.value;
  load();
};
serialEl.onkeydown = (e) => {
  const k = e.key === 'Enter' ? '\r' : e.key.length === 1 ? e.key : '';
  if (k) { send({ t: 'type', text: k }); e.preventDefault(); }
};

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.t) {
    case 'ready': status.textContent = 'core ready'; load(); break;
    case 'state': draw(m); break;
    case 'shares': drawShares(m.view, m.jain); break;
    case 'disasm':
      $('disasm').innerHTML = `<b>exit #${m.seq}</b> at eip ${hex(m.eip)} (linear ${hex(m.lin)})<br><code>${esc(m.text)}</code><br><span class="bytes">${m.bytes.map((b) => hex(b, 2)).join(' ')}</span>`;
      break;
    case 'error': status.textContent = `error: ${m.message}`; status.className = 'status bad'; break;
  }
};
send({ t: 'init' });

const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);

function draw(s: StateMessage): void {
  if (s.full) {
    serialEl.textContent = '';
    logBody.textContent = '';
    $('disasm').textContent = 'click an exit to see the instruction that caused it';
    $('mmu').textContent = '';
    lastMmuSeq = 0;
    $('screen').classList.remove('on');
    $('screen').textContent = 'disk images boot on the PC and draw here; multiboot kernels run on the plain machine, which has no screen';
  }
  if (s.serial) serialEl.textContent += s.serial;
  serialEl.scrollTop = serialEl.scrollHeight;
  status.className = s.stop ? 'status done' : s.running ? 'status run' : 'status';
  const mips = s.ips ? ` · ${(s.ips / 1e6).toFixed(1)} MIPS` : '';
  status.textContent = s.stop ? `${current}: ${s.stop}` : `${current}: ${s.running ? 'running' : 'paused'} · ${s.cpu.instructions.toLocaleString('en-US')} instructions${mips}`;
  status.dataset.instructions = String(s.cpu.instructions);
  if (s.screen) { $('screen').textContent = s.screen.join('\n'); $('screen').classList.add('on'); }
  drawCpu(s);
  drawExits(s);
  drawShadow(s);
}

// ---- vCPU ----
const EFLAGS: [number, string][] = [[0, 'CF'], [2, 'PF'], [4, 'AF'], [6, 'ZF'], [7, 'SF'], [8, 'TF'], [9, 'IF'], [10, 'DF'], [11, 'OF'], [14, 'NT'], [16, 'RF'], [17, 'VM'], [18, 'AC']];
const CR0: [number, string][] = [[0, 'PE'], [1, 'MP'], [2, 'EM'], [3, 'TS'], [4, 'ET'], [5, 'NE'], [16, 'WP'], [18, 'AM'], [29, 'NW'], [30, 'CD'], [31, 'PG']];
const CR4: [number, string][] = [[0, 'VME'], [1, 'PVI'], [2, 'TSD'], [3, 'DE'], [4, 'PSE'], [5, 'PAE'], [6, 'MCE'], [7, 'PGE'], [9, 'OSFXSR']];
const bits = (v: number, names: [number, string][]) => names.map(([b, n]) => `<span class="bit ${(v >>> b) & 1 ? 'on' : ''}">${n}</span>`).join('');

function segAttr(a: number): string {
  if (!(a & 0x80)) return 'not present';
  const dpl = (a >> 5) & 3;
  const code = a & 8, s = a & 0x10;
  const kind = !s ? 'system' : code ? `code ${a & 2 ? 'r' : ''}x` : `data r${a & 2 ? 'w' : ''}`;
  return `${kind} dpl${dpl} ${a & 0x4000 ? '32' : '16'}-bit${a & 0x8000 ? ' 4K' : ''}`;
}

function drawCpu(s: StateMessage): void {
  const c = s.cpu;
  const regs = Object.entries(c.gprs).map(([n, v]) => `<div class="reg" data-reg="${n}"><b>${n}</b> ${hex(v)}</div>`).join('');
  const segs = Object.entries(c.segments).map(([n, g]) => `<tr data-seg="${n}"><td>${n}</td><td>${hex(g.selector, 4)}</td><td>${hex(g.base)}</td><td>${hex(g.limit)}</td><td>${segAttr(g.attr)}</td></tr>`).join('');
  $('cpu').innerHTML = `<div class="regs">${regs}<div class="reg" data-reg="eip"><b>eip</b> ${hex(c.eip)}</div><div class="reg"><b>state</b> ${s.stop ? 'stopped' : c.halted ? 'halted' : s.running ? 'running' : 'paused'}</div></div>
    <div class="flags"><b>eflags</b> ${hex(c.eflags)} ${bits(c.eflags, EFLAGS)} <span class="bit on">IOPL ${(c.eflags >> 12) & 3}</span></div>
    <div class="flags"><b>cr0</b> ${hex(c.cr0)} ${bits(c.cr0, CR0)}</div>
    <div class="flags"><b>cr4</b> ${hex(c.cr4)} ${bits(c.cr4, CR4)}</div>
    <div class="flags"><b>cr3</b> ${hex(c.cr3)} <b>cr2</b> ${hex(c.cr2)}</div>
    <table class="segs"><thead><tr><th>seg</th><th>sel</th><th>base</th><th>limit</th><th>cache</th></tr></thead><tbody>${segs}</tbody></table>`;
}

// ---- exits ----
function drawExits(s: StateMessage): void {
  for (const e of s.log) {
    const tr = logBody.insertRow(0);
    tr.className = `r-${e.reason}`;
    tr.dataset.seq = String(e.seq);
    tr.innerHTML = `<td>${e.seq}</td><td>${e.reason}${e.dir ? ` ${e.dir}` : ''}</td><td>${e.where < 0 ? '' : hex(e.where, e.reason === 'io' ? 4 : 8)}</td><td>${e.value < 0 ? '' : hex(e.value, 2)}</td><td>${hex(e.eip)}</td><td>${Math.round(e.hostNs).toLocaleString('en-US')}</td>`;
    tr.onclick = () => { send({ t: 'disasm', seq: e.seq, eip: e.eip }); for (const r of logBody.querySelectorAll('.sel')) r.classList.remove('sel'); tr.classList.add('sel'); };
  }
  while (logBody.rows.length > 200) logBody.deleteRow(-1);
  const rows = Object.entries(s.exits).sort((a, b) => b[1].count - a[1].count);
  const max = Math.max(1, ...rows.map(([, v]) => v.count));
  $('hist').innerHTML = `<table class="hist">${rows.map(([n, v]) => `<tr data-reason="${n}"><td>${n}</td><td class="bar"><span class="r-${n}" style="width:${Math.max(1, (100 * v.count) / max)}%"></span></td><td class="count">${v.count.toLocaleString('en-US')}</td><td class="ns">${v.count ? Math.round(v.hostNs / v.count).toLocaleString('en-US') : 0} ns</td></tr>`).join('')}</table>`;
}

// ---- shadow page table ----
const COUNTER_LABELS: [string, string][] = [
  ['shadowFills', 'fills'], ['guestWalks', 'guest walks'], ['guestPageFaults', 'guest #PF'], ['ptWriteTraps', 'PT-write traps'],
  ['ptWriteDrops', 'entries dropped by PT writes'], ['flushCr3', 'CR3 flushes'], ['flushInvlpg', 'INVLPG'], ['flushCr0Cr4', 'CR0/CR4 flushes'],
  ['flushFull', 'full flushes'], ['globalsKept', 'global entries kept'],
];

function pteBits(e: number): string {
  if (!(e & 1)) return '<span class="np">not present</span>';
  return `${hex(e & ~0xfff)} ${e & 2 ? 'W' : 'R'}${e & 4 ? 'U' : 'S'}${e & 0x20 ? 'A' : ''}${e & 0x40 ? 'D' : ''}${e & 0x100 ? 'G' : ''}`;
}

function drawShadow(s: StateMessage): void {
  $('counters').innerHTML = COUNTER_LABELS.map(([k, l]) => `<span class="counter" data-counter="${k}"><b>${(s.counters[k] ?? 0).toLocaleString('en-US')}</b> ${l}</span>`).join('');
  $('pd').innerHTML = s.pd.length ? s.pd.slice(0, 64).map(([i, e]) => `<div><b>${hex(i, 3)}</b> ${pteBits(e)}${e & 0x80 ? ' 4M' : ''}</div>`).join('') : '<i>paging is off: linear = physical</i>';
  const fresh = s.mmuSeq - 40;
  const paging = (s.cpu.cr0 & 0x80000000) !== 0;
  const guestCell = (e: number) => (paging ? pteBits(e) : '<span class="np">paging off: identity</span>');
  const body = ($('shadow') as HTMLTableElement).tBodies[0];
  body.innerHTML = s.shadow.map((r) => `<tr class="${r.seq > fresh ? 'fill' : ''}${r.guestNow !== r.guest ? ' stale' : ''}"><td>${hex(r.lin)}</td><td>${guestCell(r.guestNow)}</td><td>${guestCell(r.guest)}</td><td>${hex(r.shadow.phys)}</td><td>${r.shadow.user ? 'S+U' : r.shadow.supervisor ? 'S' : '-'}</td><td>${r.shadow.write}</td></tr>`).join('')
    + (s.shadowSize > s.shadow.length ? `<tr><td colspan="6">… ${s.shadowSize - s.shadow.length} more</td></tr>` : '');
  const ol = $('mmu');
  for (const ev of s.mmu) {
    if (ev.seq <= lastMmuSeq) continue;
    lastMmuSeq = ev.seq;
    const li = document.createElement('li');
    li.className = `ev-${ev.kind}`;
    li.textContent = ev.kind === 'fill' ? `fill ${hex(ev.lin)} → ${hex(ev.shadow.phys)} (${ev.shadow.write})`
      : ev.kind === 'drop' ? `drop ${hex(ev.lin)} (${ev.cause})`
      : ev.kind === 'flush' ? `flush ${ev.cause}: ${ev.dropped} dropped`
      : ev.kind === 'fault' ? `guest #PF ${hex(ev.lin)} error ${ev.error.toString(16)}`
      : `code write ${hex(ev.phys)}`;
    ol.prepend(li);
  }
  while (ol.children.length > 40) ol.lastElementChild!.remove();
}

// ---- shares ----
function drawShares(v: ShareView, jain: number[]): void {
  const svg = $('chart');
  const total = v.vms.reduce((n, x) => n + x.received, 0) || 1;
  const W = 720, barW = 420, rowH = 150 / Math.max(1, v.vms.length);
  let out = '';
  v.vms.forEach((x, i) => {
    const y = 10 + i * rowH;
    const rec = (barW * x.received) / total, ent = (barW * x.entitled) / (v.elapsed || 1);
    out += `<text x="0" y="${y + rowH / 2}" class="lbl">${esc(x.name)}</text>`;
    out += `<rect x="90" y="${y + 4}" width="${rec}" height="${rowH / 2 - 4}" class="received"/>`;
    out += `<rect x="90" y="${y + rowH / 2}" width="${ent}" height="${rowH / 2 - 6}" class="entitled"/>`;
    out += `<text x="${96 + Math.max(rec, ent)}" y="${y + rowH / 2 + 2}" class="val">${((100 * x.received) / total).toFixed(1)}% got · ${((100 * x.entitled) / (v.elapsed || 1)).toFixed(1)}% due</text>`;
  });
  const jx = 560, jw = W - jx - 10;
  const pts = jain.map((j, i) => `${jx + (jw * i) / Math.max(1, jain.length - 1)},${160 - 140 * Math.max(0, Math.min(1, (j - 0.9) / 0.1))}`).join(' ');
  out += `<polyline points="${pts}" class="jain"/><text x="${jx}" y="176" class="lbl" id="jain">Jain ${(jain[jain.length - 1] ?? 1).toFixed(4)}</text>`;
  out += `<text x="${jx}" y="14" class="val">1.0</text><text x="${jx}" y="160" class="val">0.9</text>`;
  out += `<g class="legend"><rect x="90" y="164" width="10" height="8" class="received"/><text x="104" y="172" class="val">received</text><rect x="170" y="164" width="10" height="8" class="entitled"/><text x="184" y="172" class="val">entitled by shares</text></g>`;
  svg.innerHTML = out;
  svg.dataset.jain = String(jain[jain.length - 1] ?? 1);
  status.textContent = `shares: ${v.vms.map((x) => `${x.name} ${(x.instructions / 1e6).toFixed(0)}M`).join(' · ')}`;
}

/** For `npm run bench:web`: run a guest from boot to its end in the worker, as the page runs it. */
(window as unknown as { trapezeBench: unknown }).trapezeBench = (file: string, cmdline = '') => new Promise((resolve) => {
  const prev = worker.onmessage;
  worker.onmessage = (e: MessageEvent<FromWorker>) => { if (e.data.t === 'bench') { worker.onmessage = prev; resolve(e.data); } else prev?.call(worker, e); };
  send({ t: 'bench', spec: { file, cmdline } });
});

// the guest from a link: ?guest=pagestress.elf
const wanted = new URLSearchParams(location.search).get('guest');
if (wanted) for (const o of guest.options) if (o.value.startsWith(`${wanted}|`)) guest.value = o.value;
