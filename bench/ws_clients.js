// A load worker for bench/fanout.py: many raw RES WebSocket clients in one Node process.
//
//   node ws_clients.js ws://127.0.0.1:PORT/
//
// Commands, one JSON object a line on stdin; each is answered by one JSON line on stdout:
//   {"op": "open", "rids": [[rid, ...], ...], "wait": s, "pipeline": false}   open one connection per list,
//       subscribe each to its rids one after another (all at once with "pipeline": true); answers
//       {"opened", "subscribed", "errors", "seconds"}
//   {"op": "arm", "event": "bench.model.change"}            count that event from now on; answers {"armed"}
//   {"op": "collect", "count": n, "wait": s}                 wait until every armed connection saw n events
//       (or s seconds passed); answers {"received", "lost", "duplicated", "reordered", "hist", "last"}
//   {"op": "close"}                                          close every connection and exit
// Events must carry {"values": {"seq": 1..n, "t": publish time in epoch ms}}. Latencies go into "hist":
// a sparse histogram of 0.1 ms buckets.
'use strict';

const readline = require('readline');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

const url = process.argv[2];
const conns = [];
let armed = null; // {event, conns: [{seen, last, received, duplicated, reordered}], hist, last}

function now() {
	return performance.timeOrigin + performance.now();
}

function print(msg) {
	process.stdout.write(JSON.stringify(msg) + '\n');
}

function onEvent(state, data) {
	const values = data && data.values;
	if (!values || typeof values.seq !== 'number') {
		return;
	}
	const t = now();
	const bucket = Math.max(0, Math.round((t - values.t) * 10));
	armed.hist[bucket] = (armed.hist[bucket] || 0) + 1;
	armed.last = t;
	const seq = values.seq;
	if (state.seen.has(seq)) {
		state.duplicated++;
		return;
	}
	if (seq < state.last) {
		state.reordered++;
	}
	state.seen.add(seq);
	state.last = Math.max(state.last, seq);
	state.received++;
}

function connect(rids, pipeline) {
	return new Promise(resolve => {
		const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
		const conn = { ws, nextId: 1, pending: new Map(), state: null };
		const result = { subscribed: 0, errors: 0 };
		ws.on('message', raw => {
			const msg = JSON.parse(raw);
			if (msg.id !== undefined) {
				const done = conn.pending.get(msg.id);
				conn.pending.delete(msg.id);
				done && done(msg);
			} else if (armed && conn.state && msg.event === armed.event) {
				onEvent(conn.state, msg.data);
			}
		});
		const request = (method, params) => new Promise(done => {
			const id = conn.nextId++;
			conn.pending.set(id, done);
			ws.send(JSON.stringify({ id, method, params }));
		});
		ws.on('open', async () => {
			conns.push(conn);
			await request('version', { protocol: '1.2.3' });
			const count = msg => (msg.error ? result.errors++ : result.subscribed++);
			if (pipeline) {
				(await Promise.all(rids.map(rid => request('subscribe.' + rid)))).forEach(count);
			} else {
				for (const rid of rids) {
					count(await request('subscribe.' + rid));
				}
			}
			resolve(result);
		});
		ws.on('error', () => resolve({ subscribed: 0, errors: rids.length || 1 }));
	});
}

async function open(cmd) {
	const start = now();
	const results = await withTimeout(Promise.all(cmd.rids.map(rids => connect(rids, cmd.pipeline))), cmd.wait);
	const seconds = (now() - start) / 1000;
	const sum = key => (results || []).reduce((n, r) => n + r[key], 0);
	return { opened: conns.length, subscribed: sum('subscribed'), errors: sum('errors'), seconds, timedOut: !results };
}

function arm(cmd) {
	armed = { event: cmd.event, hist: {}, last: 0 };
	for (const conn of conns) {
		conn.state = { seen: new Set(), last: 0, received: 0, duplicated: 0, reordered: 0 };
	}
	return { armed: conns.length };
}

async function collect(cmd) {
	const deadline = now() + cmd.wait * 1000;
	const complete = () => conns.every(c => c.state.received >= cmd.count);
	while (!complete() && now() < deadline) {
		await new Promise(r => setTimeout(r, 20));
	}
	const sum = key => conns.reduce((n, c) => n + c.state[key], 0);
	const received = sum('received');
	const report = {
		received,
		lost: conns.length * cmd.count - received,
		duplicated: sum('duplicated'),
		reordered: sum('reordered'),
		hist: armed.hist,
		last: armed.last,
	};
	armed = null;
	return report;
}

function withTimeout(promise, seconds) {
	return Promise.race([promise, new Promise(r => setTimeout(() => r(null), seconds * 1000))]);
}

const ops = { open, arm, collect };

const input = readline.createInterface({ input: process.stdin });
input.on('line', async line => {
	const cmd = JSON.parse(line);
	if (cmd.op === 'close') {
		conns.forEach(c => c.ws.terminate());
		process.exit(0);
	}
	print(await ops[cmd.op](cmd));
});
input.on('close', () => process.exit(0));
