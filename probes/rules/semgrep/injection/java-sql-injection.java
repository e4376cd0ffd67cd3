import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.persistence.EntityManager;

public class SqlExamples {

    public ResultSet findUser(Connection conn, String name) throws SQLException {
        Statement stmt = conn.createStatement();
        // ruleid: java-sql-injection
        return stmt.executeQuery("SELECT * FROM users WHERE name = '" + name + "'");
    }

    public int deleteItem(Connection conn, String id) throws SQLException {
        String sql = "DELETE FROM items WHERE id = " + id;
        // ruleid: java-sql-injection
        return conn.createStatement().executeUpdate(sql);
    }

    public Object byStatus(EntityManager em, String status) {
        // ruleid: java-sql-injection
        return em.createQuery(String.format("SELECT o FROM Order o WHERE o.status = '%s'", status)).getResultList();
    }

    public ResultSet findUserSafely(Connection conn, String name) throws SQLException {
        // ok: java-sql-injection
        PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE name = ?");
        ps.setString(1, name);
        return ps.executeQuery();
    }

    public ResultSet count(Connection conn) throws SQLException {
        // ok: java-sql-injection
        return conn.createStatement().executeQuery("SELECT count(*) FROM items");
    }

    public String label(java.util.Map<String, String> labels, String key) {
        // ok: java-sql-injection
        return labels.get("label." + key);
    }
}
