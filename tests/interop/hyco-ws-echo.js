// Azure's own Hybrid Connections package for Node (hyco-ws) against the lab's relay: a
// listener (RelayedServer) answers a WebSocket sender (relayedConnect) through the relay.
// Usage: node hyco-ws-echo.js LAB_JSON   (NODE_PATH must reach hyco-ws)
'use strict';

const fs = require('fs');
const WebSocket = require('hyco-ws');

const lab = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const base = `${lab.relay_url}/$hc/${lab.relay_path}`;
// As hyco-ws's own examples do: a token for the namespace, signed with a policy's key.
const token = () =>
  WebSocket.createRelayToken('http://' + lab.relay_namespace, lab.relay_key_name, lab.relay_key);

function fail(why) {
  console.error('hyco-ws: ' + why);
  process.exit(1);
}
setTimeout(() => fail('no echo within 20 s'), 20000).unref();

const server = WebSocket.createRelayedServer(
  { server: `${base}?sb-hc-action=listen`, token: token },
  (ws) => {
    ws.on('message', (message) => ws.send('echo: ' + message));
  },
);
// hyco-ws reconnects at once after an error: report the first, give up after a few.
let errors = 0;
server.on('error', (e) => {
  errors += 1;
  if (errors === 1) console.error('listener error: ' + (e && e.message ? e.message : e));
  if (errors >= 5) fail('the listener could not connect');
});

server.on('listening', () => {
  const sender = WebSocket.relayedConnect(`${base}?sb-hc-action=connect`, token(), (ws) => {
    ws.send('hello from hyco-ws');
  });
  sender.on('message', (message) => {
    if (message !== 'echo: hello from hyco-ws') fail('unexpected answer: ' + message);
    console.log('hyco-ws: the listener answered through the relay: ' + message);
    sender.close();
    server.close();
    process.exit(0);
  });
  sender.on('error', (e) => fail('sender: ' + (e && e.message ? e.message : e)));
});
