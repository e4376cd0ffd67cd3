import sqlite3


def find_user(conn: sqlite3.Connection, name):
    cur = conn.cursor()
    # ruleid: python-sql-injection
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return cur.fetchall()


def delete_item(conn, item_id):
    # ruleid: python-sql-injection
    conn.execute(f"DELETE FROM items WHERE id = {item_id}")


def search(conn, term):
    query = "SELECT id FROM items WHERE name LIKE '" + term + "%'"
    # ruleid: python-sql-injection
    return conn.execute(query).fetchall()


def order_by(conn, column):
    # ruleid: python-sql-injection
    return conn.execute("SELECT * FROM items ORDER BY {}".format(column)).fetchall()


def find_user_safely(conn, name):
    # ok: python-sql-injection
    return conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchall()


def constant(conn):
    # ok: python-sql-injection
    return conn.execute("SELECT count(*) FROM items").fetchone()


def log_line(logger, name):
    # ok: python-sql-injection
    logger.execute("processing " + name)
