// Fills the reference contact form (contact-form.html) in Debian's headless
// chromium, driven by playwright-core, and submits it to dossier serve.
//
//   node tests/oracle/contact-form.js BASE_URL FILE
//
// BASE_URL is the server's (http://127.0.0.1:PORT); FILE is uploaded with
// the form. Prints one JSON line: {"status": N, "body": {...}} with the
// server's answer to the browser's POST. Exit 1 when the browser fails.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const [base, file] = process.argv.slice(2);
  if (!base || !file) {
    console.error('usage: node contact-form.js BASE_URL FILE');
    process.exit(2);
  }
  const html = fs.readFileSync(path.join(__dirname, 'contact-form.html'), 'utf8')
    .replace('ACTION', base + '/v1/ingest/web-contact');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // Root in a container has no user namespace for the sandbox.
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    await page.setContent(html);
    await page.fill('input[name=nom]', 'Hélène Lefèvre-Dupré');
    await page.fill('input[name=email]', 'helene.lefevre@example.fr');
    await page.fill('input[name=telephone]', '06 12 34 56 78');
    await page.fill('input[name=societe]', 'Boulangerie « Les Pains d’Élise »');
    await page.fill('input[name=code_postal]', '69005');
    await page.fill('input[name=objet]', 'Devis chaudière');
    await page.fill('textarea[name=message]',
      'Bonjour,\nnotre chaudière a 20 ans ; pouvez-vous passer à l’atelier ?\nMerci — Hélène');
    await page.check('input[name=interets][value="Chaudière"]');
    await page.check('input[name=interets][value="Pompe à chaleur"]');
    await page.check('input[name=consentement]');
    await page.setInputFiles('input[name=piece_jointe]', file);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/v1/ingest/web-contact')),
      page.click('button[type=submit]'),
    ]);
    const text = await response.text();
    console.log(JSON.stringify({ status: response.status(), body: JSON.parse(text) }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
