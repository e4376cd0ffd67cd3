interface Db {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export async function byStatus(db: Db, status: string): Promise<unknown> {
  // ruleid: js-sql-injection
  return db.query(`SELECT * FROM orders WHERE status = '${status}'`);
}

export async function byStatusSafely(db: Db, status: string): Promise<unknown> {
  // ok: js-sql-injection
  return db.query('SELECT * FROM orders WHERE status = $1', [status]);
}
