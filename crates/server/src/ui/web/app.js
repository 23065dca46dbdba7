// qa-agent web UI: plain JavaScript over the conversation manager's REST routes and its
// WebSocket protocol v1 (docs/conversation.md). Everything that comes from the server is
// put in the page as text, except answers, which are Markdown rendered by `marked` and
// sanitised by DOMPurify before they touch the DOM.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY = 'qa-agent.key';
const ANALYSIS = 'qa-agent.analysis';

const app = {
  key: sessionStorage.getItem(KEY),
  // The open conversation and the id of the last event shown: a reconnect resumes
  // after it, so nothing is shown twice or missed.
  conversationId: null,
  lastEventId: 0,
  socket: null,
  generation: 0,
  retryDelay: 500,
  turn: null,
  busy: false,
  pending: null,
  // The question last sent, restored if the server refuses it.
  lastQuestion: '',
  // The newest stored event when the session opened: events up to it are history.
  replayUntil: 0,
  replaying: false,
  opsTimer: null,
  opsPrevious: null,
  analysisPoll: null,
};

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function announce(text) {
  $('announce').textContent = text;
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${app.key}` };
  if (options.body) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { ...options, headers });
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : await response.text();
  if (response.status === 401 && path !== '/api/v1/me') {
    logout('The server no longer accepts this key: log in again.');
  }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
    throw new Error(detail);
  }
  return body;
}

function markdown(text) {
  const html = window.marked.parse(text || '', { gfm: true, breaks: false });
  // Named properties are prefixed (an answer's `id="question"` must not shadow the
  // page's own elements) and form controls are dropped (an answer has none).
  const clean = window.DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    SANITIZE_NAMED_PROPS: true,
    FORBID_TAGS: ['form', 'input', 'button', 'textarea', 'select', 'option', 'style'],
    FORBID_ATTR: ['style'],
  });
  const div = el('div', { class: 'markdown' });
  div.innerHTML = clean;
  for (const a of div.querySelectorAll('a')) a.setAttribute('rel', 'noopener noreferrer');
  highlight(div);
  return div;
}

function highlight(root) {
  if (window.Prism) window.Prism.highlightAllUnder(root);
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const label = button.textContent;
  button.textContent = 'Copied';
  announce('Copied to the clipboard');
  setTimeout(() => { button.textContent = label; }, 1500);
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function time(ms) {
  return new Date(ms).toLocaleString();
}

// ---------------------------------------------------------------- login and views

async function login(event) {
  event.preventDefault();
  const key = $('api-key').value.trim();
  $('login-error').textContent = '';
  app.key = key;
  try {
    const me = await api('/api/v1/me');
    sessionStorage.setItem(KEY, key);
    $('api-key').value = '';
    showIdentity(me);
    location.hash = '#/chat';
    route();
  } catch (e) {
    app.key = null;
    $('login-error').textContent = `Log in failed: ${e.message}`;
    $('api-key').focus();
  }
}

function showIdentity(me) {
  $('who').textContent = `${me.email} (${me.tenant}, ${me.role})`;
  // The operations numbers are the installation's: admins only.
  document.querySelector('#nav a[data-view="operations"]').hidden = me.role !== 'admin';
}

function logout(why) {
  sessionStorage.removeItem(KEY);
  app.key = null;
  closeSocket();
  stopOperations();
  $('who').textContent = '';
  location.hash = '#/login';
  route();
  if (why) $('login-error').textContent = why;
}

const VIEWS = ['login', 'chat', 'analysis', 'operations'];

function route(event) {
  const [, view = 'chat', arg] = location.hash.split('/');
  const name = !app.key ? 'login' : VIEWS.includes(view) ? view : 'chat';
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== name;
  $('nav').hidden = name === 'login';
  $('logout').hidden = name === 'login';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (name !== 'operations') stopOperations();
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · qa-agent`;
  // Moving between pages: say where the user is now.
  if (event && name !== 'login') document.querySelector(`#view-${name} h1`).focus();
  if (name === 'login') {
    $('api-key').focus();
  } else if (name === 'chat') {
    openChat(arg ? Number(arg) : null);
  } else if (name === 'analysis') {
    openAnalysis(arg ? Number(arg) : null);
  } else if (name === 'operations') {
    startOperations();
  }
}

// ---------------------------------------------------------------- chat

async function openChat(conversationId) {
  loadConversations();
  loadAnalysisChoices();
  if (!conversationId && app.conversationId) {
    // Back to the chat from another page: the conversation that was open.
    conversationId = app.conversationId;
    history.replaceState(null, '', `#/chat/${conversationId}`);
  }
  if (conversationId && conversationId === app.conversationId && app.socket) return;
  if (!conversationId) {
    if (!app.socket) resetThread(null);
    return;
  }
  resetThread(conversationId);
  connect();
}

function resetThread(conversationId) {
  closeSocket();
  app.conversationId = conversationId;
  app.lastEventId = 0;
  app.turn = null;
  app.pending = null;
  setBusy(false);
  $('messages').replaceChildren();
  $('chat-title').textContent = conversationId ? `Conversation ${conversationId}` : 'New conversation';
  $('chat-state').textContent = conversationId ? 'Loading the conversation…' : 'Ask a question to start.';
  $('chat-export').hidden = true;
  $('chat-delete').hidden = true;
  markCurrent();
}

async function loadConversations() {
  try {
    const { conversations } = await api('/api/v1/conversations');
    const list = $('conversation-list');
    list.replaceChildren(...conversations.map((c) => el('li', {},
      el('button', {
        type: 'button',
        'data-id': c.id,
        title: time(c.updated_at),
        onclick: () => { location.hash = `#/chat/${c.id}`; },
      }, c.title || `Conversation ${c.id}`))));
    markCurrent();
    const current = conversations.find((c) => c.id === app.conversationId);
    if (current && current.title) $('chat-title').textContent = current.title;
  } catch (e) {
    $('chat-state').textContent = `Cannot list conversations: ${e.message}`;
  }
}

function markCurrent() {
  for (const b of document.querySelectorAll('#conversation-list button')) {
    b.setAttribute('aria-current', Number(b.dataset.id) === app.conversationId ? 'true' : 'false');
  }
}

async function loadAnalyses() {
  const page = await api('/api/v1/analyses?limit=100');
  return page.items;
}

async function loadAnalysisChoices() {
  const select = $('chat-analysis');
  try {
    const items = (await loadAnalyses()).filter((a) => a.status === 'done');
    const keep = sessionStorage.getItem(ANALYSIS) || '';
    select.replaceChildren(
      el('option', { value: '' }, 'No analysis (ask about qa-agent)'),
      ...items.map((a) => el('option', { value: a.id },
        `${a.repository || 'repository'} · analysis ${a.id} · ${time(a.created_at_ms)}`)));
    if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep;
    else if (items.length) select.value = String(items[0].id);
  } catch (e) {
    $('chat-state').textContent = `Cannot list analyses: ${e.message}`;
  }
}

function closeSocket() {
  app.generation += 1;
  if (app.socket) {
    app.socket.onclose = null;
    app.socket.close(1000);
    app.socket = null;
  }
}

async function connect() {
  closeSocket();
  const generation = app.generation;
  let token;
  try {
    ({ token } = await api('/api/v1/session-token', { method: 'POST' }));
  } catch (e) {
    $('chat-state').textContent = `Cannot open a session: ${e.message}`;
    return;
  }
  if (generation !== app.generation) return;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  app.socket = socket;
  socket.onopen = () => {
    const hello = { type: 'hello', v: 1, token, last_event_id: app.lastEventId };
    if (app.conversationId) hello.conversation_id = app.conversationId;
    socket.send(JSON.stringify(hello));
  };
  socket.onmessage = (e) => {
    if (generation !== app.generation) return;
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    onFrame(frame);
  };
  socket.onclose = (e) => {
    if (generation !== app.generation) return;
    app.socket = null;
    if ([4401, 4403, 1008].includes(e.code)) {
      $('chat-state').textContent = `The server closed the session: ${e.reason || e.code}.`;
      return;
    }
    // Reconnect and resume after the last event shown (another replica may answer).
    $('chat-state').textContent = 'Connection lost; reconnecting…';
    const delay = app.retryDelay;
    app.retryDelay = Math.min(app.retryDelay * 2, 10000);
    setTimeout(() => { if (generation === app.generation && app.key) connect(); }, delay);
  };
}

function onFrame(f) {
  if (typeof f.id === 'number') {
    if (f.id <= app.lastEventId) return;
    app.lastEventId = f.id;
  }
  app.replaying = typeof f.id === 'number' && f.id <= app.replayUntil;
  try {
    dispatch(f);
  } finally {
    if (app.lastEventId >= app.replayUntil) $('messages').removeAttribute('aria-busy');
  }
}

function dispatch(f) {
  switch (f.type) {
    case 'session': return onSession(f);
    case 'message': return onQuestion(f);
    case 'step': return onStep(f);
    case 'answer': return onAnswer(f);
    case 'error': return f.id === null ? onConnectionError(f) : onTurnError(f);
    case 'feedback': announce('Thank you: your feedback was saved.'); return undefined;
    default: return undefined;
  }
}

function onSession(f) {
  app.retryDelay = 500;
  app.replayUntil = f.last_event_id || 0;
  // History is not read out as it is drawn.
  if (app.lastEventId < app.replayUntil) $('messages').setAttribute('aria-busy', 'true');
  const created = app.conversationId === null;
  app.conversationId = f.conversation_id;
  if (created) {
    history.replaceState(null, '', `#/chat/${f.conversation_id}`);
    $('chat-title').textContent = `Conversation ${f.conversation_id}`;
  }
  const exportLink = $('chat-export');
  exportLink.hidden = false;
  exportLink.removeAttribute('href');
  exportLink.onclick = (e) => { e.preventDefault(); exportConversation(); };
  exportLink.setAttribute('href', '#');
  $('chat-delete').hidden = false;
  $('chat-state').textContent = app.busy ? 'Answering…' : '';
  if (app.pending) {
    app.socket.send(JSON.stringify(app.pending));
    app.pending = null;
  }
  if (created || f.resumed) loadConversations();
}

async function deleteConversation() {
  const id = app.conversationId;
  if (!id || !window.confirm(`Delete conversation ${id} with all its messages? This cannot be undone.`)) return;
  try {
    await api(`/api/v1/conversations/${id}`, { method: 'DELETE' });
  } catch (e) {
    $('chat-state').textContent = `Delete failed: ${e.message}`;
    return;
  }
  resetThread(null);
  history.replaceState(null, '', '#/chat');
  await loadConversations();
  announce(`Conversation ${id} deleted.`);
  $('question').focus();
}

async function exportConversation() {
  try {
    const text = await api(`/api/v1/conversations/${app.conversationId}/export?format=markdown`);
    download(`conversation-${app.conversationId}.md`, text);
  } catch (e) {
    $('chat-state').textContent = `Export failed: ${e.message}`;
  }
}

function onQuestion(f) {
  app.lastQuestion = '';
  $('messages').append(el('article', { class: 'msg user', 'aria-label': 'Your question' },
    el('p', { class: 'who-said' }, 'You'), f.text));
  startTurn();
  setBusy(true);
}

function startTurn() {
  const steps = el('ol', {});
  const summary = el('summary', {}, 'Reasoning…');
  const details = el('details', { class: 'steps', open: true }, summary, steps);
  const body = el('div', { class: 'answer' });
  const article = el('article', { class: 'msg assistant', 'aria-label': 'qa-agent answer' },
    el('p', { class: 'who-said' }, 'qa-agent'), details, body);
  $('messages').append(article);
  app.turn = { article, details, summary, steps, body, count: 0 };
  return app.turn;
}

function onStep(f) {
  const turn = app.turn || startTurn();
  turn.count += 1;
  turn.summary.textContent = `Reasoning: ${turn.count} step${turn.count === 1 ? '' : 's'}…`;
  const action = f.action ? `${f.action}(${f.arguments ? JSON.stringify(f.arguments) : ''})` : null;
  turn.steps.append(el('li', { class: `step outcome-${f.outcome || 'ok'}` },
    f.specialist ? el('strong', {}, `${f.specialist}: `) : null,
    f.thought || '',
    action ? el('div', {}, el('code', {}, action)) : null,
    f.observation ? el('div', { class: 'obs' }, `→ ${f.observation}`) : null));
}

function onAnswer(f) {
  const turn = app.turn || startTurn();
  turn.details.open = false;
  turn.summary.textContent = turn.count
    ? `Reasoning: ${turn.count} step${turn.count === 1 ? '' : 's'} (show)`
    : 'Reasoning: no steps';
  turn.body.replaceChildren(markdown(f.text));
  if (Array.isArray(f.evidence) && f.evidence.length) {
    turn.body.append(el('h3', { class: 'evidence-title' }, 'Evidence (each location checked against the code)'),
      el('ul', { class: 'evidence', 'aria-label': 'Evidence' }, f.evidence.map(evidenceItem)));
  }
  const quality = f.quality && typeof f.quality.score === 'number' ? `quality ${f.quality.score.toFixed(2)}` : null;
  const meta = [
    (f.specialists || []).join(', '),
    f.mode,
    typeof f.confidence === 'number' ? `confidence ${f.confidence.toFixed(2)}` : null,
    quality,
    f.cached ? 'from the reasoning cache' : null,
  ].filter(Boolean).join(' · ');
  if (meta) turn.body.append(el('p', { class: 'meta' }, meta));
  (f.artifacts || []).forEach((a, i) => turn.body.append(artifact(a, f.task_id, i)));
  turn.body.append(el('div', { class: 'actions' },
    el('span', { class: 'meta' }, 'Was this answer useful?'),
    ...thumbs({ target: 'answer', target_id: String(f.task_id) }, 'rating')));
  app.turn = null;
  setBusy(false);
  $('chat-state').textContent = '';
  if (!app.replaying) {
    announce('Answer received.');
    // The first question named the conversation.
    if ($('chat-title').textContent === `Conversation ${app.conversationId}`) loadConversations();
  }
}

function evidenceItem(e) {
  const where = e.line ? `${e.file}:${e.line}` : e.file;
  const extra = [e.rule_id, e.metric, e.symbol].filter(Boolean).join(', ');
  return el('li', {}, el('code', {}, where), ' ', e.detail || '', extra ? el('span', { class: 'meta' }, ` (${extra})`) : null);
}

const EXTENSIONS = { k6: ['js', 'javascript'], locust: ['py', 'python'], pytest: ['py', 'python'], vitest: ['js', 'javascript'], jest: ['js', 'javascript'], test: ['py', 'python'], yaml: ['yml', 'yaml'], table: ['md', null] };

function artifact(a, taskId, index) {
  const [ext, lang] = EXTENSIONS[a.kind] || ['txt', null];
  const name = `${(a.title || a.kind).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'artifact'}.${ext}`;
  const content = a.kind === 'table'
    ? markdown(a.content)
    : el('pre', {}, el('code', { class: lang ? `language-${lang}` : null }, a.content));
  if (lang) highlight(content);
  const validated = a.validated === true ? 'validated: it ran before it was shown'
    : a.validated === false ? 'not validated: it failed when run' : null;
  const copyButton = el('button', { type: 'button', class: 'quiet' }, 'Copy');
  copyButton.addEventListener('click', () => copy(a.content, copyButton));
  const isTest = /test/.test(a.kind);
  return el('section', { class: 'artifact', 'aria-label': a.title || a.kind },
    el('h3', {}, a.title || a.kind),
    validated ? el('p', { class: 'meta' }, validated) : null,
    content,
    el('div', { class: 'actions' },
      copyButton,
      el('button', { type: 'button', class: 'quiet', onclick: () => download(name, a.content) }, `Download ${name}`),
      ...thumbs({ target: isTest ? 'test' : 'answer', target_id: `${taskId}:artifact:${index}` }, 'accept')));
}

// A thumb drawn in SVG (emoji need a font many Linux desktops lack).
function thumb(down) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  if (down) svg.setAttribute('transform', 'rotate(180)');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

// Thumbs up/down: a rating (5 or 1) for an answer, accept/reject for an artifact.
function thumbs(about, style) {
  const buttons = [];
  const send = (up, button) => {
    const frame = { type: 'feedback', ...about };
    if (style === 'rating') Object.assign(frame, { kind: 'rating', rating: up ? 5 : 1 });
    else frame.kind = up ? 'accept' : 'reject';
    if (!app.socket || app.socket.readyState !== WebSocket.OPEN) {
      $('chat-state').textContent = 'Not connected: feedback not sent. Try again in a moment.';
      return;
    }
    app.socket.send(JSON.stringify(frame));
    for (const b of buttons) b.setAttribute('aria-pressed', b === button ? 'true' : 'false');
  };
  const up = el('button', { type: 'button', class: 'quiet thumb', 'aria-pressed': 'false', 'aria-label': style === 'rating' ? 'Helpful' : 'Accept' }, thumb(false));
  const down = el('button', { type: 'button', class: 'quiet thumb', 'aria-pressed': 'false', 'aria-label': style === 'rating' ? 'Not helpful' : 'Reject' }, thumb(true));
  up.addEventListener('click', () => send(true, up));
  down.addEventListener('click', () => send(false, down));
  buttons.push(up, down);
  return buttons;
}

function onTurnError(f) {
  const turn = app.turn || startTurn();
  turn.details.open = false;
  const text = {
    cancelled: 'Stopped.',
    interrupted: 'The server answering this question stopped before it finished. Ask again.',
  }[f.code] || `The question could not be answered: ${f.detail || f.code}`;
  turn.body.replaceChildren(el('p', { class: 'error' }, text));
  app.turn = null;
  setBusy(false);
  $('chat-state').textContent = '';
}

function onConnectionError(f) {
  $('chat-state').textContent = f.detail || f.code;
  // A refused question is given back to be sent again.
  if (app.lastQuestion && !$('question').value) {
    $('question').value = app.lastQuestion;
    app.lastQuestion = '';
  }
}

function setBusy(busy) {
  app.busy = busy;
  // A control that disappears under the keyboard focus would drop it on the page.
  const focused = document.activeElement;
  $('send').disabled = busy;
  $('stop').hidden = !busy;
  if ((busy && focused === $('send')) || (!busy && focused === $('stop'))) $('question').focus();
}

function ask(event) {
  event.preventDefault();
  const text = $('question').value.trim();
  if (!text || app.busy) return;
  if (app.pending) {
    $('chat-state').textContent = 'Opening the conversation; send again in a moment.';
    return;
  }
  const frame = { type: 'message', text };
  const analysis = $('chat-analysis').value;
  if (analysis) frame.analysis_id = Number(analysis);
  $('question').value = '';
  app.lastQuestion = text;
  if (app.socket && app.socket.readyState === WebSocket.OPEN && app.conversationId) {
    app.socket.send(JSON.stringify(frame));
  } else {
    // A new conversation starts with its first question, not before.
    app.pending = frame;
    if (!app.socket) connect();
  }
  $('chat-state').textContent = 'Sent.';
}

// ---------------------------------------------------------------- analysis

async function openAnalysis(id) {
  const select = $('analysis-pick');
  let items = [];
  try {
    items = await loadAnalyses();
  } catch (e) {
    $('analysis-state').textContent = `Cannot list analyses: ${e.message}`;
    return;
  }
  select.replaceChildren(...items.map((a) => el('option', { value: a.id },
    `${a.repository || 'repository'} · analysis ${a.id} · ${a.status}`)));
  if (!items.length) {
    $('analysis-state').textContent = 'No analysis yet: analyse a path, or run `qa-agent analyze` against this server.';
    $('analysis-body').hidden = true;
    return;
  }
  const chosen = id && items.some((a) => a.id === id) ? id : items[0].id;
  select.value = String(chosen);
  showAnalysis(chosen);
}

async function showAnalysis(id) {
  clearTimeout(app.analysisPoll);
  let a;
  try {
    a = await api(`/api/v1/analyses/${id}`);
  } catch (e) {
    $('analysis-state').textContent = `Cannot read analysis ${id}: ${e.message}`;
    return;
  }
  if (a.status !== 'done') {
    $('analysis-body').hidden = true;
    $('analysis-state').textContent = a.status === 'failed'
      ? `Analysis ${id} failed: ${a.error || 'no reason given'}`
      : `Analysis ${id} is ${a.status} (${Math.round((a.progress || 0) * 100)}%)…`;
    if (a.status !== 'failed') app.analysisPoll = setTimeout(() => showAnalysis(id), 1000);
    return;
  }
  $('analysis-state').textContent = `${a.repository || 'Repository'}, analysed ${time(a.finished_at_ms || a.created_at_ms)}.`;
  $('analysis-body').hidden = false;
  renderSummary(a.summary || {});
  renderHotspots(a.summary && a.summary.hotspots ? a.summary.hotspots : []);
  app.findings = { id, cursor: null };
  loadFindings(false);
  renderChart(id);
}

function renderSummary(s) {
  const bySeverity = s.findings_by_severity || {};
  const findings = Object.values(bySeverity).reduce((x, y) => x + y, 0);
  const cards = [
    ['Files', s.files], ['Test files', s.test_files], ['Lines of code', s.nloc], ['Functions', s.functions],
    ['Classes', s.classes],
    ['Mean cyclomatic', typeof s.average_cyclomatic === 'number' ? s.average_cyclomatic.toFixed(1) : null],
    ['Max cyclomatic', s.max_cyclomatic], ['Findings', findings], ['Suppressed', s.suppressed_findings],
  ].filter(([, v]) => v !== undefined && v !== null);
  $('summary').replaceChildren(...cards.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, String(v)))));
}

function renderHotspots(hotspots) {
  $('hotspots').replaceChildren(...(hotspots.length ? hotspots.map((h) => el('tr', {},
    el('td', {}, el('code', {}, h.qualified_name)),
    el('td', {}, `${h.path}:${h.start_line}`),
    el('td', { class: 'num' }, h.cyclomatic), el('td', { class: 'num' }, h.cognitive), el('td', { class: 'num' }, h.nloc)))
    : [el('tr', {}, el('td', { colspan: 5 }, 'No function stands out.'))]));
}

// Dismiss (not worth reporting: hidden from now on in this repository, until undone)
// or confirm (real) a finding: feedback stored through this origin, learned by the
// learning engine.
function verdict(f) {
  const send = async (kind, button) => {
    const body = { target: 'finding', target_id: f.id, kind };
    if (kind === 'dismiss') body.reason = 'false_positive';
    try {
      await api('/api/v1/feedback', { method: 'POST', body: JSON.stringify(body) });
    } catch (e) {
      $('analysis-state').textContent = `Verdict not saved: ${e.message}`;
      return;
    }
    button.setAttribute('aria-pressed', 'true');
    if (kind === 'dismiss') {
      button.closest('tr').classList.add('dismissed');
      announce(`${f.rule_id} at ${f.file}:${f.line} dismissed: it is not reported again in this repository.`);
    } else {
      announce(`${f.rule_id} at ${f.file}:${f.line} confirmed.`);
    }
  };
  const where = `${f.rule_id} at ${f.file}:${f.line}`;
  const dismiss = el('button', { type: 'button', class: 'quiet', 'aria-pressed': 'false', 'aria-label': `Dismiss ${where}` }, 'Dismiss');
  const confirm = el('button', { type: 'button', class: 'quiet', 'aria-pressed': 'false', 'aria-label': `Confirm ${where}` }, 'Confirm');
  dismiss.addEventListener('click', () => send('dismiss', dismiss));
  confirm.addEventListener('click', () => send('confirm', confirm));
  return [dismiss, confirm];
}

async function loadFindings(more) {
  const { id } = app.findings;
  const params = new URLSearchParams({ limit: '100' });
  const severity = $('filter-severity').value;
  const rule = $('filter-rule').value.trim();
  if (severity) params.set('severity', severity);
  if (rule) params.set('rule', rule);
  if (more && app.findings.cursor) params.set('cursor', app.findings.cursor);
  try {
    const page = await api(`/api/v1/analyses/${id}/findings?${params}`);
    const rows = page.items.map((f) => el('tr', {},
      el('td', { class: `sev-${f.severity}` }, f.severity),
      el('td', {}, el('code', {}, f.rule_id)),
      el('td', {}, `${f.file}:${f.line}`),
      el('td', {}, f.message, f.suppressed ? el('span', { class: 'meta' }, ' (suppressed)') : null,
        f.learned && f.learned.demoted_from ? el('span', { class: 'meta' }, ` (reported ${f.learned.demoted_from}; users here judged ${f.rule_id} noisy)`) : null),
      el('td', {}, ...verdict(f))));
    if (more) $('findings').append(...rows);
    else $('findings').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 5 }, 'No finding matches.'))]));
    app.findings.cursor = page.next_cursor;
    $('findings-more').hidden = !page.next_cursor;
    const rules = new Set([...document.querySelectorAll('#rule-ids option')].map((o) => o.value));
    for (const f of page.items) rules.add(f.rule_id);
    $('rule-ids').replaceChildren(...[...rules].sort().map((r) => el('option', { value: r })));
    announce(`${$('findings').rows.length} findings shown.`);
  } catch (e) {
    $('analysis-state').textContent = `Cannot read findings: ${e.message}`;
  }
}

// Functions by cyclomatic complexity, in radon's ranks (A 1–5 … F 41+).
const RANKS = [['A 1–5', 5], ['B 6–10', 10], ['C 11–20', 20], ['D 21–30', 30], ['E 31–40', 40], ['F 41+', Infinity]];

async function renderChart(id) {
  const figure = $('complexity-chart');
  figure.replaceChildren(el('p', { class: 'hint' }, 'Counting functions…'));
  const counts = RANKS.map(() => 0);
  let cursor = null;
  try {
    for (let page = 0; page < 50; page += 1) {
      const params = new URLSearchParams({ kind: 'function', limit: '1000' });
      if (cursor) params.set('cursor', cursor);
      const p = await api(`/api/v1/analyses/${id}/components?${params}`);
      for (const c of p.items) {
        const cc = c.metrics && c.metrics.cyclomatic;
        if (typeof cc !== 'number') continue;
        counts[RANKS.findIndex(([, max]) => cc <= max)] += 1;
      }
      cursor = p.next_cursor;
      if (!cursor) break;
    }
  } catch (e) {
    figure.replaceChildren(el('p', { class: 'error' }, `Cannot read functions: ${e.message}`));
    return;
  }
  const max = Math.max(1, ...counts);
  const width = 360; const barHeight = 24; const gap = 8; const label = 70; const height = RANKS.length * (barHeight + gap);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', RANKS.map(([name], i) => `${name}: ${counts[i]}`).join('; '));
  RANKS.forEach(([name], i) => {
    const y = i * (barHeight + gap);
    const w = Math.round(((width - label - 50) * counts[i]) / max);
    const text = document.createElementNS(ns, 'text');
    text.setAttribute('x', 0); text.setAttribute('y', y + 16); text.textContent = name;
    const bar = document.createElementNS(ns, 'rect');
    bar.setAttribute('x', label); bar.setAttribute('y', y); bar.setAttribute('width', Math.max(w, 1));
    bar.setAttribute('height', barHeight); bar.setAttribute('class', 'bar');
    const value = document.createElementNS(ns, 'text');
    value.setAttribute('x', label + w + 6); value.setAttribute('y', y + 16); value.textContent = counts[i];
    svg.append(text, bar, value);
  });
  figure.replaceChildren(svg, el('figcaption', { class: 'hint' },
    `${counts.reduce((a, b) => a + b, 0)} functions by cyclomatic complexity rank (radon's A–F).`));
}

async function analyse(event) {
  event.preventDefault();
  const path = $('analyse-path').value.trim();
  if (!path) return;
  try {
    const a = await api('/api/v1/analyses', { method: 'POST', body: JSON.stringify({ path }) });
    location.hash = `#/analysis/${a.id}`;
  } catch (e) {
    $('analysis-state').textContent = `Cannot analyse ${path}: ${e.message}`;
  }
}

// ---------------------------------------------------------------- operations

function startOperations() {
  stopOperations();
  app.opsPrevious = null;
  const tick = async () => {
    await refreshOperations();
    app.opsTimer = setTimeout(tick, 5000);
  };
  tick();
}

function stopOperations() {
  clearTimeout(app.opsTimer);
  app.opsTimer = null;
}

const EXTRAS = [
  ['websocket_connections', 'WebSocket connections', (v) => v],
  ['conversation_turns_total', 'turns', (v) => v],
  ['reasoning_queue_length', 'reasoning queue', (v) => v],
  ['reasoning_quality_mean', 'mean reasoning quality', (v) => v.toFixed(2)],
  ['tool_executions_total', 'tool calls', (v) => v],
  ['tool_success_rate_mean', 'tool success', (v) => `${Math.round(v * 100)}%`],
  ['learning_events_total', 'learning events', (v) => v],
];

async function refreshOperations() {
  let data;
  try {
    data = await api('/api/v1/operations');
  } catch (e) {
    $('operations-state').textContent = `Cannot read the services: ${e.message}`;
    return;
  }
  const previous = app.opsPrevious;
  app.opsPrevious = data;
  const rate = (service, key) => {
    const before = previous && previous.services.find((s) => s.service === service.service);
    if (!before || !before.metrics || !service.metrics) return null;
    const dt = data.at - previous.at;
    const dv = (service.metrics[key] || 0) - (before.metrics[key] || 0);
    return dt > 0 && dv >= 0 ? dv / dt : null;
  };
  $('services').replaceChildren(...data.services.map((s) => {
    const m = s.metrics || {};
    const rps = rate(s, 'requests_total');
    const errors = m.requests_total ? m.server_errors_total / m.requests_total : null;
    const cpu = rate(s, 'cpu_seconds_total');
    const extras = EXTRAS.filter(([k]) => typeof m[k] === 'number').map(([k, name, f]) => `${name} ${f(m[k])}`);
    return el('tr', {},
      el('th', { scope: 'row' }, s.service),
      el('td', { class: s.up ? 'up' : 'down' }, s.up ? (s.status || 'up') : `down (${s.detail || 'unreachable'})`),
      el('td', { class: 'num' }, rps === null ? '…' : rps.toFixed(2)),
      el('td', { class: 'num' }, errors === null ? '–' : `${(errors * 100).toFixed(1)}%`),
      el('td', { class: 'num' }, typeof m.latency_p95_seconds === 'number' ? `≤ ${(m.latency_p95_seconds * 1000).toFixed(0)} ms` : '–'),
      el('td', { class: 'num' }, cpu === null ? '…' : `${(cpu * 100).toFixed(0)}%`),
      el('td', { class: 'num' }, typeof m.resident_memory_bytes === 'number' ? `${(m.resident_memory_bytes / 1048576).toFixed(0)} MiB` : '–'),
      el('td', {}, extras.join(' · ') || '–'));
  }));
  $('operations-state').textContent = `Read at ${new Date(data.at * 1000).toLocaleTimeString()}.`;
}

// ---------------------------------------------------------------- start

function start() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout());
  $('ask-form').addEventListener('submit', ask);
  $('question').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('ask-form').requestSubmit(); }
  });
  $('stop').addEventListener('click', () => {
    if (app.socket) app.socket.send(JSON.stringify({ type: 'cancel' }));
  });
  $('new-conversation').addEventListener('click', () => {
    resetThread(null);
    location.hash = '#/chat';
    $('question').focus();
  });
  $('chat-delete').addEventListener('click', deleteConversation);
  $('chat-analysis').addEventListener('change', (e) => sessionStorage.setItem(ANALYSIS, e.target.value));
  $('analyse-form').addEventListener('submit', analyse);
  $('analysis-pick').addEventListener('change', (e) => { location.hash = `#/analysis/${e.target.value}`; });
  $('findings-filter').addEventListener('submit', (e) => { e.preventDefault(); loadFindings(false); });
  $('findings-more').addEventListener('click', () => loadFindings(true));
  window.addEventListener('hashchange', route);
  if (app.key) {
    api('/api/v1/me').then(showIdentity).catch(() => {});
  }
  route();
}

start();
