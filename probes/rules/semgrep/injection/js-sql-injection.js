const sqlite3 = require('sqlite3');

const db = new sqlite3.Database(':memory:');

function findUser(pool, name) {
  // ruleid: js-sql-injection
  return pool.query("SELECT * FROM users WHERE name = '" + name + "'");
}

function deleteItem(id, done) {
  // ruleid: js-sql-injection
  db.run(`DELETE FROM items WHERE id = ${id}`, done);
}

function search(conn, term) {
  const sql = "SELECT id FROM items WHERE name LIKE '%" + term + "%'";
  // ruleid: js-sql-injection
  return conn.execute(sql);
}

function findUserSafely(pool, name) {
  // ok: js-sql-injection
  return pool.query('SELECT * FROM users WHERE name = $1', [name]);
}

function count(done) {
  // ok: js-sql-injection
  db.get('SELECT count(*) AS n FROM items', done);
}

function cacheKey(cache, id) {
  // ok: js-sql-injection
  return cache.get('item:' + id);
}

module.exports = { findUser, deleteItem, search, findUserSafely, count, cacheKey };
