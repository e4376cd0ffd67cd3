import groovy.lang.GroovyShell;
import javax.script.ScriptEngine;
import javax.script.ScriptEngineManager;
import javax.script.ScriptException;
import javax.servlet.http.HttpServletRequest;
import org.springframework.expression.ExpressionParser;
import org.springframework.expression.spel.standard.SpelExpressionParser;

public class EvalExamples {

    private final ScriptEngine engine = new ScriptEngineManager().getEngineByName("js");

    public Object calculate(HttpServletRequest request) throws ScriptException {
        String expression = request.getParameter("expr");
        // ruleid: java-eval-injection
        return engine.eval(expression);
    }

    public Object spel(String rule) {
        ExpressionParser parser = new SpelExpressionParser();
        // ruleid: java-eval-injection
        return parser.parseExpression(rule).getValue();
    }

    public Object groovy(String script) {
        // ruleid: java-eval-injection
        return new GroovyShell().evaluate("return " + script);
    }

    public Object constant() throws ScriptException {
        // ok: java-eval-injection
        return engine.eval("1 + 2");
    }
}
