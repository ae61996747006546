// mailparser.js - the differential oracle for the email reader: reads each
// message file named on the command line with the npm package mailparser
// and prints one JSON array, one object per file, in the order given:
// {file, error} or {file, subject, from, to, date, attachments, text}.
// from is the first From address, to every To address (groups flattened),
// date ISO 8601 UTC without milliseconds, or null when the message has no
// readable Date (mailparser then gives the time of parsing, which no test
// can compare), attachments [{filename, size}].
// One process reads every file, so a test run starts node once.
'use strict';

const fs = require('fs');
const { simpleParser } = require('mailparser');

function addresses(field) {
	const out = [];
	const lists = field ? (Array.isArray(field) ? field : [field]) : [];
	const walk = (values) => {
		for (const v of values || []) {
			if (v.group) walk(v.group);
			else if (v.address) out.push(v.address);
		}
	};
	for (const l of lists) walk(l.value);
	return out;
}

async function one(file) {
	try {
		const buf = fs.readFileSync(file);
		const t0 = Date.now();
		const m = await simpleParser(buf);
		const t1 = Date.now();
		const from = addresses(m.from);
		let date = m.date instanceof Date && !isNaN(m.date) ? m.date : null;
		if (date && date.getTime() >= t0 && date.getTime() <= t1) date = null;
		return {
			file,
			subject: m.subject === undefined ? null : m.subject,
			from: from.length ? from[0] : null,
			to: addresses(m.to),
			date: date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : null,
			attachments: (m.attachments || []).map((a) => ({
				filename: a.filename === undefined ? null : a.filename,
				size: a.size,
			})),
			text: typeof m.text === 'string' ? m.text : '',
		};
	} catch (e) {
		return { file, error: String(e && e.message ? e.message : e) };
	}
}

(async () => {
	const out = [];
	for (const f of process.argv.slice(2)) out.push(await one(f));
	process.stdout.write(JSON.stringify(out));
})();
