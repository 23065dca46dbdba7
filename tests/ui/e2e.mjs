// The web UI end to end in Debian's headless Chromium, driven by playwright-core (no
// browser download), with axe-core on every page. Run by crates/server/tests/api/ui.rs,
// which starts the services and passes:
//   QA_UI_URL       the conversation manager (http://127.0.0.1:PORT)
//   QA_UI_KEY       an API key
//   QA_UI_CHROMIUM  the browser (default /usr/bin/chromium)
// Prints one JSON line of what it saw; exits 1 with the reason on the first failure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const url = process.env.QA_UI_URL;
const key = process.env.QA_UI_KEY;
const TIMEOUT = 30_000;
const seen = { pages: {} };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// axe-core on the page as it is: 0 serious or critical violations.
async function audit(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  seen.pages[name] = { violations: result.violations.length, serious_or_critical: bad.length, passes: result.passes.length };
  check(bad.length === 0, `${name}: ${bad.length} serious/critical accessibility violations: ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target) })))}`);
}

const browser = await chromium.launch({
  executablePath: process.env.QA_UI_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const problems = [];
try {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  // Any script error or refused resource (the Content-Security-Policy included) fails the test.
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

  // Log in.
  await page.goto(url);
  await page.getByLabel('API key').waitFor();
  await audit(page, 'login');
  await page.getByLabel('API key').fill('qak_wrong_key_000000000000000000');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Log in failed').waitFor();
  // The refused key's 401 shows as a console error in Chromium: expected, not a problem.
  problems.length = 0;
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'New conversation' }).waitFor();
  await page.waitForFunction(() => document.querySelector('#chat-analysis').options.length > 1);

  // Ask; record when the first step and the answer appear.
  await page.evaluate(() => {
    window.__seen = {};
    new MutationObserver(() => {
      const now = performance.now();
      if (!window.__seen.step && document.querySelector('#messages .steps li')) window.__seen.step = now;
      if (!window.__seen.answer && document.querySelector('#messages .answer > .markdown')) window.__seen.answer = now;
    }).observe(document.querySelector('#messages'), { childList: true, subtree: true });
  });
  const question = 'What should I test first?';
  await page.getByLabel('Question').fill(question);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#messages .answer > .markdown').waitFor();
  const order = await page.evaluate(() => window.__seen);
  check(order.step && order.step < order.answer, `steps must stream before the answer: ${JSON.stringify(order)}`);
  const steps = await page.locator('#messages .steps li').count();
  check(steps >= 2, `expected reasoning steps, saw ${steps}: ${await page.locator('#messages').innerText()}`);
  check(!(await page.locator('#messages details.steps').getAttribute('open')), 'steps collapse when the answer comes');
  const answer = await page.locator('#messages .answer > .markdown').innerText();
  check(/\.py:\d+/.test(answer) || (await page.locator('.evidence li').count()) > 0, `the answer cites file:line: ${answer}`);
  seen.steps = steps;
  seen.answer_chars = answer.length;
  seen.evidence = await page.locator('.evidence li').count();
  const hash = new URL(page.url()).hash;
  check(/^#\/chat\/\d+$/.test(hash), `the conversation is in the address: ${hash}`);
  seen.conversation = Number(hash.split('/')[2]);

  // Expand the steps with the keyboard, then thumbs up.
  await page.locator('#messages details.steps summary').focus();
  await page.keyboard.press('Enter');
  check(await page.locator('#messages details.steps').getAttribute('open') !== null, 'the steps open from the keyboard');
  await page.getByRole('button', { name: 'Helpful', exact: true }).click();
  await page.locator('#announce', { hasText: 'feedback was saved' }).waitFor();
  check(await page.getByRole('button', { name: 'Helpful', exact: true }).getAttribute('aria-pressed') === 'true', 'the thumb shows as pressed');

  // An answer with an artifact (a k6 script): copy, download, accept.
  await page.getByRole('textbox', { name: 'Question' }).fill('Write a k6 load test for the slowest endpoint');
  await page.getByRole('button', { name: 'Send' }).click();
  const artifact = page.locator('#messages section.artifact').first();
  await artifact.waitFor();
  const script = await artifact.locator('pre code').innerText();
  check(script.includes('k6/http'), `a k6 script: ${script.slice(0, 200)}`);
  check(await artifact.locator('pre code .token').count() > 0, 'the script is highlighted');
  await artifact.getByRole('button', { name: 'Copy' }).click();
  await page.locator('#announce', { hasText: 'Copied' }).waitFor();
  check(await page.evaluate(() => navigator.clipboard.readText()) === script, 'the copy is the script');
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    artifact.getByRole('button', { name: /^Download / }).click(),
  ]);
  check(file.suggestedFilename().endsWith('.js'), `downloaded as ${file.suggestedFilename()}`);
  await artifact.getByRole('button', { name: 'Accept', exact: true }).click();
  await page.locator('#announce', { hasText: 'feedback was saved' }).waitFor();
  seen.artifact = { file: file.suggestedFilename(), chars: script.length };
  await audit(page, 'chat');

  // What an answer says is rendered safely: markup in it never runs.
  const sanitised = await page.evaluate(() => markdown('<img src=x onerror="window.__xss=1"> [x](javascript:alert(1)) <script>window.__xss=2</script> <input id="question" value="evil"> <a id="send">x</a>').innerHTML);
  check(!/onerror|javascript:|<script|<input|id="send"/i.test(sanitised), `unsafe markup survived: ${sanitised}`);
  check(await page.evaluate(() => window.__xss === undefined), 'markup in an answer ran');
  // Sanitising that markup makes Chromium report the refused handler and image: the
  // policy doing its job, not a problem of the UI.
  await page.waitForTimeout(200);
  problems.length = 0;

  // Reload: the history is back, once.
  await page.reload();
  await page.locator('#messages .answer > .markdown').first().waitFor();
  await page.locator('#messages section.artifact').waitFor();
  const questions = await page.locator('#messages .msg.user').count();
  const answers = await page.locator('#messages .answer > .markdown').count();
  check(questions === 2 && answers === 2, `after a reload: ${questions} questions, ${answers} answers (want 2 and 2)`);
  check((await page.locator('#messages .msg.user').first().innerText()).includes(question), 'the question is shown after a reload');
  await page.getByRole('button', { name: question }).waitFor();

  // A new conversation, then deleted: gone from the list, the page back to a new one.
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.getByRole('textbox', { name: 'Question' }).fill('Which functions are the most complex?');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#messages .answer > .markdown').waitFor();
  await page.locator('#conversation-list li').nth(1).waitFor();
  const listed = await page.locator('#conversation-list li').count();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete conversation' }).click();
  await page.locator('#announce', { hasText: 'deleted' }).waitFor();
  check(await page.locator('#conversation-list li').count() === listed - 1, 'the deleted conversation left the list');
  check(await page.locator('#messages .msg').count() === 0, 'the page is a new conversation');

  // The analysis page: summary, hotspots, chart, findings filtered by severity.
  await page.getByRole('link', { name: 'Analysis' }).click();
  await page.locator('#summary dd').first().waitFor();
  check(!(await page.locator('#view-chat').isVisible()), 'only the page chosen is shown');
  await page.locator('#hotspots tr').first().waitFor();
  await page.locator('#complexity-chart svg').waitFor();
  await page.locator('#findings tr').first().waitFor();
  let allFindings = await page.locator('#findings tr').count();
  // Dismiss the first finding: struck through at once, and left out of the list the
  // server sends once the learning engine has taken it (within a second or so).
  await page.locator('#findings tr').first().getByRole('button', { name: /^Dismiss / }).click();
  await page.locator('#findings tr.dismissed').waitFor({ timeout: 5_000 })
    .catch(async () => { throw new Error(`no dismissal: ${await page.locator('#analysis-state').innerText()}`); });
  let afterDismissal = allFindings;
  for (let i = 0; i < 40 && afterDismissal === allFindings; i += 1) {
    await page.waitForTimeout(250);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForTimeout(250);
    afterDismissal = await page.locator('#findings tr').count();
  }
  check(afterDismissal === allFindings - 1, `the dismissed finding left the list (${allFindings} -> ${afterDismissal})`);
  seen.dismissed = { before: allFindings, after: afterDismissal };
  allFindings = afterDismissal;
  // Filter by the severity of the last finding shown: only its rows remain.
  const severity = await page.locator('#findings tr td:first-child').last().innerText();
  await page.getByLabel('Severity').selectOption(severity);
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction((sev) => {
    const cells = [...document.querySelectorAll('#findings td:first-child')];
    return cells.length > 0 && cells.every((td) => td.textContent === sev);
  }, severity);
  seen.findings = { all: allFindings, [severity]: await page.locator('#findings tr').count() };
  // A rule with no finding says so.
  await page.getByLabel('Rule').fill('NOPE999');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('No finding matches.').waitFor();
  await audit(page, 'analysis');

  // The operations dashboard: the four services, with live numbers after two reads.
  await page.getByRole('link', { name: 'Operations' }).click();
  await page.locator('#services tr').nth(3).waitFor();
  await page.waitForFunction(() => /\d/.test(document.querySelector('#services tr td:nth-child(3)').textContent), null, { timeout: 15_000 });
  const health = await page.locator('#services tr td:nth-child(2)').allInnerTexts();
  check(health.length === 4 && health.every((h) => !h.startsWith('down')), `services: ${health}`);
  seen.services = health;
  await audit(page, 'operations');

  check(problems.length === 0, `the browser reported: ${problems.join(' | ')}`);
  console.log(JSON.stringify(seen));
} catch (e) {
  console.error(`UI test failed: ${e.message}`);
  if (problems.length) console.error(`browser problems: ${problems.join(' | ')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
