import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import javax.servlet.http.HttpServletRequest;
import org.apache.commons.io.FilenameUtils;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;

public class PathExamples {

    private static final String ROOT = "/srv/reports";

    public FileInputStream download(HttpServletRequest request) throws IOException {
        String name = request.getParameter("file");
        // ruleid: java-path-traversal
        return new FileInputStream(new File(ROOT, name));
    }

    @GetMapping("/reports")
    public byte[] report(@RequestParam("name") String name) throws IOException {
        // ruleid: java-path-traversal
        return Files.readAllBytes(Paths.get(ROOT, name));
    }

    @GetMapping("/files/{id}")
    public boolean remove(@PathVariable String id) {
        // ruleid: java-path-traversal
        return new File("/srv/uploads/" + id).delete();
    }

    public FileInputStream downloadSafely(HttpServletRequest request) throws IOException {
        String name = FilenameUtils.getName(request.getParameter("file"));
        // ok: java-path-traversal
        return new FileInputStream(new File(ROOT, name));
    }

    public byte[] index() throws IOException {
        // ok: java-path-traversal
        return Files.readAllBytes(Paths.get(ROOT, "index.txt"));
    }
}
