// A ResClient driven over stdin/stdout, for the interop tests.
//
//   node driver.js ws://127.0.0.1:PORT
//
// Reads one JSON command a line: {"id": 1, "op": "get", "rid": "..."}; ops are get, call, auth, state,
// release and disconnect (call and auth take "method" and "params").
// Prints one JSON object a line:
//   {"id": 1, "ok": ...} or {"id": 1, "error": {"code", "message", "data"}}     the answer to a command
//   {"event": "change", "rid": ..., "changed": [...], "value": {...}}           an event on a resource got
//   {"event": "add" | "remove", "rid": ..., "idx": n, "item": ...}              a collection event
//   {"event": "unsubscribe", "rid": ...}                                        the gateway dropped it
//   {"client": "connect" | "disconnect" | "error"}                              connection state
'use strict';

const readline = require('readline');
const WebSocket = require('ws');
const resclient = require('resclient');

const ResClient = resclient.default;
const { ResModel, ResCollection } = resclient;

const client = new ResClient(() => new WebSocket(process.argv[2]));
const items = new Map(); // rid -> [resource, handler] for every resource got, kept listened to

function print(msg) {
	process.stdout.write(JSON.stringify(msg) + '\n');
}

function isResource(v) {
	return v instanceof ResModel || v instanceof ResCollection;
}

// A resource as plain JSON: {rid, type, value}; other values are returned as they are.
function describe(v) {
	if (!isResource(v)) {
		return v;
	}
	return {
		rid: v.getResourceId(),
		type: v instanceof ResCollection ? 'collection' : 'model',
		value: v.toJSON(),
	};
}

function listen(item) {
	const rid = item.getResourceId();
	if (items.has(rid)) {
		return;
	}
	const handler = (data, target, event) => {
		const name = event.split('.').pop();
		if (name === 'change') {
			print({ event: name, rid, changed: Object.keys(data), value: item.toJSON() });
		} else if (name === 'add' || name === 'remove') {
			print({ event: name, rid, idx: data.idx, item: describe(data.item) });
		} else {
			print({ event: name, rid });
		}
	};
	item.on(null, handler);
	items.set(rid, [item, handler]);
}

const ops = {
	get: cmd => client.get(cmd.rid).then(item => {
		listen(item);
		return describe(item);
	}),
	call: cmd => client.call(cmd.rid, cmd.method, cmd.params).then(describe),
	auth: cmd => client.authenticate(cmd.rid, cmd.method, cmd.params).then(describe),
	state: cmd => (items.has(cmd.rid) ? describe(items.get(cmd.rid)[0]) : null),
	release: cmd => {
		const entry = items.get(cmd.rid);
		if (entry) {
			entry[0].off(null, entry[1]);
			items.delete(cmd.rid);
		}
		return null;
	},
	disconnect: () => client.disconnect(),
};

function run(cmd) {
	const op = ops[cmd.op];
	Promise.resolve()
		.then(() => {
			if (!op) {
				throw { code: 'driver.unknownOp', message: 'Unknown op: ' + cmd.op };
			}
			return op(cmd);
		})
		.then(
			ok => print({ id: cmd.id, ok: ok === undefined ? null : ok }),
			err => print({ id: cmd.id, error: { code: err.code || 'driver.exception', message: err.message || String(err), data: err.data } }),
		);
}

for (const name of ['connect', 'disconnect', 'error']) {
	client.on(name, () => print({ client: name }));
}

const input = readline.createInterface({ input: process.stdin });
input.on('line', line => line.trim() && run(JSON.parse(line)));
input.on('close', () => {
	client.disconnect();
	process.exit(0);
});
