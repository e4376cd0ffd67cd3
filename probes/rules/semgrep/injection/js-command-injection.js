const cp = require('child_process');
const { exec, execFile } = require('node:child_process');

function ping(req, res) {
  const host = req.query.host;
  // ruleid: js-command-injection
  cp.exec('ping -c 1 ' + host, (err, out) => res.end(out));
}

function archive(name) {
  // ruleid: js-command-injection
  return cp.execSync(`tar czf /tmp/${name}.tgz data`);
}

function listing(folder, done) {
  // ruleid: js-command-injection
  exec('ls -l ' + folder, done);
}

function viaShell(script) {
  // ruleid: js-command-injection
  return cp.spawn(script, [], { shell: true });
}

function inline(cmd) {
  // ruleid: js-command-injection
  return require('child_process').execSync(cmd);
}

function safePing(host, done) {
  // ok: js-command-injection
  execFile('ping', ['-c', '1', host], done);
}

function uptime(done) {
  // ok: js-command-injection
  cp.exec('uptime', done);
}

function noShell(host) {
  // ok: js-command-injection
  return cp.spawn('ping', ['-c', '1', host]);
}

module.exports = { ping, archive, listing, viaShell, inline, safePing, uptime, noShell };
