const fs = require('fs');
const path = require('path');

const ROOT = '/srv/reports';

function download(req, res) {
  const name = req.query.file;
  // ruleid: js-path-traversal
  fs.createReadStream(path.join(ROOT, name)).pipe(res);
}

function serveStatic(req, res) {
  // ruleid: js-path-traversal
  fs.readFile(ROOT + req.url, (err, data) => res.end(data));
}

function fromSearch(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const file = url.searchParams.get('name');
  // ruleid: js-path-traversal
  res.sendFile(path.resolve(ROOT, file));
}

function remove(req) {
  // ruleid: js-path-traversal
  fs.unlinkSync(path.join('/srv/uploads', req.params.id));
}

function downloadSafely(req, res) {
  const name = path.basename(req.query.file);
  // ok: js-path-traversal
  fs.createReadStream(path.join(ROOT, name)).pipe(res);
}

function fixed(res) {
  // ok: js-path-traversal
  fs.readFile(path.join(ROOT, 'index.html'), (err, data) => res.end(data));
}

function byNumber(req, res) {
  const id = Number(req.params.id);
  // ok: js-path-traversal
  fs.readFile(path.join(ROOT, `${id}.json`), (err, data) => res.end(data));
}


function fromConfig(config, res) {
  // ok: js-path-traversal
  fs.readFile(path.join(config.path, 'settings.json'), (err, data) => res.end(data));
}

module.exports = { download, serveStatic, fromSearch, remove, downloadSafely, fixed, byNumber, fromConfig };
