// Sends signed webhooks to dossier serve with the standardwebhooks package
// (the reference sender, used unchanged).
//
//   node tests/oracle/webhooks-send.js URL SECRET OFFER_JSON_FILE
//
// URL is a signed source's /v1/ingest/SOURCE, SECRET its whsec_ secret.
// Prints one JSON line with the status of each case: a signed offer, the
// same message again (same webhook-id), a tampered body, a wrong secret, a
// stale timestamp (ten minutes old) and a missing signature.
'use strict';
const fs = require('fs');
const { Webhook } = require('standardwebhooks');

async function post(url, headers, body) {
  const r = await fetch(url, {
    method: 'POST',
    headers: Object.assign({ 'content-type': 'application/json' }, headers),
    body,
    signal: AbortSignal.timeout(20000),
  });
  await r.text();
  return r.status;
}

function signed(secret, id, when, payload) {
  const wh = new Webhook(secret);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(when.getTime() / 1000)),
    'webhook-signature': wh.sign(id, when, payload),
  };
}

async function main() {
  const [url, secret, file] = process.argv.slice(2);
  if (!url || !secret || !file) {
    console.error('usage: node webhooks-send.js URL SECRET OFFER_JSON_FILE');
    process.exit(2);
  }
  const offer = fs.readFileSync(file, 'utf8');
  const now = new Date();
  const out = {};
  const h = signed(secret, 'msg_node_1', now, offer);
  out.signed = await post(url, h, offer);
  out.repeat = await post(url, h, offer);
  out.tampered = await post(url, h, offer.replace('"currency"', ' "currency"'));
  const other = 'whsec_' + Buffer.from('not-the-partner-secret-at-all!!').toString('base64');
  out.wrong_secret = await post(url, signed(other, 'msg_node_2', now, offer), offer);
  const stale = new Date(now.getTime() - 10 * 60 * 1000);
  out.stale = await post(url, signed(secret, 'msg_node_3', stale, offer), offer);
  out.unsigned = await post(url, {}, offer);
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
