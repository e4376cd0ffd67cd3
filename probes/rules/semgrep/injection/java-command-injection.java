import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import javax.servlet.http.HttpServletRequest;

public class CommandExamples {

    public Process ping(HttpServletRequest request) throws IOException {
        String host = request.getParameter("host");
        // ruleid: java-command-injection
        return Runtime.getRuntime().exec("ping -c 1 " + host);
    }

    public Process archive(String name) throws IOException {
        // ruleid: java-command-injection
        return new ProcessBuilder("sh", "-c", "tar czf /tmp/" + name + ".tgz data").start();
    }

    public Process listing(String folder) throws IOException {
        Runtime runtime = Runtime.getRuntime();
        // ruleid: java-command-injection
        return runtime.exec(folder);
    }

    public Process viaList(String script) throws IOException {
        // ruleid: java-command-injection
        return new ProcessBuilder(Arrays.asList("/bin/bash", "-c", script)).start();
    }

    public Process safePing(String host) throws IOException {
        // ok: java-command-injection
        return new ProcessBuilder("ping", "-c", "1", host).start();
    }

    public Process uptime() throws IOException {
        // ok: java-command-injection
        return Runtime.getRuntime().exec("uptime");
    }

    public Process fixedShell() throws IOException {
        // ok: java-command-injection
        return new ProcessBuilder(List.of("sh", "-c", "uptime")).start();
    }
}
